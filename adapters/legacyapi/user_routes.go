package legacyapi

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/domain"
)

type usersPage struct {
	Page  int          `json:"page"`
	Pages int          `json:"pages"`
	Total int          `json:"total"`
	Users []userObject `json:"users"`
}

// queryInt reads page and per_page as Flask-SQLAlchemy did: anything but
// a positive integer is the default.
func queryInt(c echo.Context, name string, def int) int {
	n, err := strconv.Atoi(c.QueryParam(name))
	if err != nil || n < 1 {
		return def
	}
	return n
}

func (a *API) listUsers(c echo.Context) error {
	page, perPage := queryInt(c, "page", 1), queryInt(c, "per_page", 20)
	ctx := c.Request().Context()
	users, total, err := a.svc.Directory.Numbered(ctx, principal(c), page, perPage)
	if err != nil {
		return err
	}
	out := usersPage{Page: page, Total: total, Users: make([]userObject, 0, len(users))}
	if perPage > 0 {
		out.Pages = (total + perPage - 1) / perPage
	}
	for i := range users {
		obj, err := a.userJSON(ctx, &users[i])
		if err != nil {
			return err
		}
		out.Users = append(out.Users, obj)
	}
	return c.JSON(http.StatusOK, out)
}

// targetUser translates the path's user id for a self-or-admin route: a
// non-admin asking about anyone else gets the old 403 first, whether or
// not that user exists.
func (a *API) targetUser(c echo.Context, forbidden string) (uuid.UUID, error) {
	old, ok := parseOldID(c.Param("id"))
	if !ok {
		return uuid.Nil, echo.ErrNotFound
	}
	id, err := a.ids.new(c.Request().Context(), legacyUser, old)
	if err != nil && !errors.Is(err, domain.ErrUserNotFound) {
		return uuid.Nil, err
	}
	if id != principal(c).UserID {
		caller, err := a.caller(c)
		if err != nil {
			return uuid.Nil, err
		}
		if !caller.SystemAdmin {
			return uuid.Nil, failure(http.StatusForbidden, forbidden)
		}
	}
	if id == uuid.Nil {
		return uuid.Nil, domain.ErrUserNotFound
	}
	return id, nil
}

// loadUser reads a user as its owner (their own account) or as a system
// admin.
func (a *API) loadUser(c echo.Context, id uuid.UUID) (*domain.User, error) {
	if id == principal(c).UserID {
		return a.svc.Profiles.Me(c.Request().Context(), id)
	}
	return a.svc.Directory.Get(c.Request().Context(), principal(c), id)
}

func (a *API) getUser(c echo.Context) error {
	id, err := a.targetUser(c, "Unauthorized")
	if err != nil {
		return err
	}
	u, err := a.loadUser(c, id)
	if err != nil {
		return err
	}
	obj, err := a.userJSON(c.Request().Context(), u)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, userEnvelope{User: obj})
}

// updateUser is PUT and PATCH alike, partial as before. A user changes
// their own names; a system admin also the active flag. A new address goes
// through change-email, which proves it, and nobody deactivates
// themselves.
func (a *API) updateUser(c echo.Context) error {
	id, err := a.targetUser(c, "Unauthorized")
	if err != nil {
		return err
	}
	f, err := a.bindSchema(c, "email", "first_name", "last_name", "is_active")
	if err != nil {
		return err
	}
	email, hasEmail := f.str("email", false, 0, 0)
	first, hasFirst := f.str("first_name", false, 0, 50)
	last, hasLast := f.str("last_name", false, 0, 50)
	active, _ := f.boolean("is_active")
	if err := f.err(); err != nil {
		return err
	}
	ctx := c.Request().Context()
	u, err := a.loadUser(c, id)
	if err != nil {
		return err
	}
	if hasEmail && !strings.EqualFold(strings.TrimSpace(email), u.Email().String()) {
		return fieldErrors(map[string][]string{"email": {"A new address must be verified first: use change-email."}})
	}
	var in application.UserPatch
	if hasFirst {
		in.FirstName = &first
	}
	if hasLast {
		in.LastName = &last
	}
	self := id == principal(c).UserID
	if active != nil && *active != u.IsActive() {
		if self {
			return failure(http.StatusForbidden, "Unauthorized")
		}
		in.IsActive = active
	}
	if self {
		u, err = a.svc.Profiles.Update(ctx, id, application.ProfileInput{FirstName: in.FirstName, LastName: in.LastName})
	} else {
		u, err = a.svc.Directory.Update(ctx, principal(c), id, in)
	}
	if err != nil {
		return err
	}
	obj, err := a.userJSON(ctx, u)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, userEnvelope{Message: "User updated successfully", User: obj})
}

// adminUser translates the path's user id for a system admin's route.
func (a *API) adminUser(c echo.Context) (uuid.UUID, error) {
	caller, err := a.caller(c)
	if err != nil {
		return uuid.Nil, err
	}
	if !caller.SystemAdmin {
		return uuid.Nil, domain.ErrAdminRequired
	}
	old, ok := parseOldID(c.Param("id"))
	if !ok {
		return uuid.Nil, echo.ErrNotFound
	}
	return a.ids.new(c.Request().Context(), legacyUser, old)
}

func (a *API) deleteUser(c echo.Context) error {
	id, err := a.adminUser(c)
	if err != nil {
		return err
	}
	if err := a.svc.Directory.Erase(c.Request().Context(), principal(c), id); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, message{Message: "User deleted successfully"})
}

type membershipsAnswer struct {
	Memberships []membershipObject `json:"memberships"`
}

func (a *API) userLabs(c echo.Context) error {
	id, err := a.targetUser(c, "Unauthorized")
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	orgs, err := a.svc.Directory.Memberships(ctx, principal(c), id)
	if err != nil {
		return err
	}
	u, err := a.loadUser(c, id)
	if err != nil {
		return err
	}
	user, err := a.userJSON(ctx, u)
	if err != nil {
		return err
	}
	out := membershipsAnswer{Memberships: []membershipObject{}}
	for _, uo := range orgs {
		m, err := a.membershipJSON(c, domain.Membership{OrgID: uo.Org.ID, UserID: id, Role: uo.Role, CreatedAt: uo.Since},
			uo.Org, &user)
		if err != nil {
			return err
		}
		out.Memberships = append(out.Memberships, m)
	}
	return c.JSON(http.StatusOK, out)
}

func (a *API) forcePasswordChange(c echo.Context) error {
	id, err := a.adminUser(c)
	if err != nil {
		return err
	}
	if err := a.svc.Directory.RequirePasswordChange(c.Request().Context(), principal(c), id); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, message{Message: "User will be required to change password on next login"})
}

func (a *API) unlockUser(c echo.Context) error {
	id, err := a.adminUser(c)
	if err != nil {
		return err
	}
	locked, err := a.svc.Directory.Unlock(c.Request().Context(), principal(c), id)
	if err != nil {
		return err
	}
	if !locked {
		return c.JSON(http.StatusOK, message{Message: "Account is not locked"})
	}
	return c.JSON(http.StatusOK, message{Message: "Account unlocked successfully"})
}

package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// userRow is one user in the users table.
type userRow struct {
	ID        string
	Email     string
	Username  string
	Name      string
	Active    bool
	MFA       bool
	Locked    bool
	LastLogin *time.Time
}

func newUserRow(u *domain.User, now time.Time) userRow {
	_, locked := u.Locked(now)
	return userRow{ID: u.ID().String(), Email: u.Email().String(), Username: u.Username().String(),
		Name: strings.TrimSpace(u.FirstName() + " " + u.LastName()), Active: u.IsActive(), MFA: u.MFAEnabled(),
		Locked: locked, LastLogin: u.LastLoginAt()}
}

// usersData is the users page: the search and one page of results.
type usersData struct {
	Q      string
	Active string
	Rows   []userRow
	// Next is the link to the following page ("" on the last); First
	// goes back to the first page when this is not it.
	Next  string
	First string
}

// adminUsers searches users (system admins: Directory.List refuses anyone
// else). An htmx request gets the results only.
func (p *Pages) adminUsers(c echo.Context) error {
	q, active := strings.TrimSpace(c.QueryParam("q")), c.QueryParam("active")
	f := ports.UserFilter{Q: q, Sort: ports.SortEmailAsc}
	switch active {
	case "true", "false":
		b, _ := strconv.ParseBool(active)
		f.IsActive = &b
	default:
		active = ""
	}
	cursor := c.QueryParam("cursor")
	if len(cursor) > 512 {
		return domain.Invalid(domain.FieldError{Field: "cursor", Code: "invalid_cursor", Message: "is not a cursor this console made"})
	}
	users, next, err := p.d.Directory.List(c.Request().Context(), principal(c), f, ports.Page{Cursor: cursor})
	if err != nil {
		return err
	}
	now := time.Now()
	d := usersData{Q: q, Active: active, Rows: make([]userRow, len(users))}
	for i := range users {
		d.Rows[i] = newUserRow(&users[i], now)
	}
	query := url.Values{"q": {q}, "active": {active}}
	if next != "" {
		d.Next = pageLink("/ui/admin/users", query, next)
	}
	if cursor != "" {
		d.First = pageLink("/ui/admin/users", query, "")
	}
	v := view{Title: "Users", Data: d}
	if partial(c) {
		return p.renderPart(c, http.StatusOK, "admin_users", "results", v)
	}
	return p.render(c, http.StatusOK, "admin_users", v)
}

// userDetail is the user page.
type userDetail struct {
	userRow
	SystemAdmin        bool
	EmailVerified      bool
	LockedUntil        *time.Time
	MustChangePassword bool
	LastLoginIP        string
	CreatedAt          time.Time
	Orgs               []application.UserOrg
	// Self is the signed-in admin's own account.
	Self bool
}

func (p *Pages) adminUser(c echo.Context) error {
	id, err := adminID(c, "id", domain.ErrUserNotFound)
	if err != nil {
		return err
	}
	return p.userPage(c, id, http.StatusOK, view{Message: doneMessage(c)})
}

// userPage renders a user's details and actions with v's messages.
func (p *Pages) userPage(c echo.Context, id uuid.UUID, status int, v view) error {
	ctx, pr := c.Request().Context(), principal(c)
	u, err := p.d.Directory.Get(ctx, pr, id)
	if err != nil {
		return err
	}
	orgs, err := p.d.Directory.Organizations(ctx, pr, id)
	if err != nil {
		return err
	}
	now := time.Now()
	d := userDetail{userRow: newUserRow(u, now), SystemAdmin: u.IsSystemAdmin(), EmailVerified: u.EmailVerified(),
		MustChangePassword: u.MustChangePassword(), LastLoginIP: u.LastLoginIP(), CreatedAt: u.CreatedAt(),
		Orgs: orgs, Self: id == pr.UserID}
	if d.Locked {
		d.LockedUntil = u.LockedUntil()
	}
	v.Title, v.Data = "User "+d.Email, d
	return p.render(c, status, "admin_user", v)
}

func userPath(id uuid.UUID) string { return "/ui/admin/users/" + id.String() }

// userAction runs one action on the user of the path and goes back to the
// user's page; sensitive ones first make sure the admin signed in
// recently. A refused rule (the last system admin) shows on the page.
func (p *Pages) userAction(c echo.Context, sensitive bool, code string, act func(id uuid.UUID) error) error {
	id, err := adminID(c, "id", domain.ErrUserNotFound)
	if err != nil {
		return err
	}
	if sensitive {
		if ok, err := p.recentSignIn(c, userPath(id)); !ok {
			return err
		}
	}
	if err := act(id); err != nil {
		f, err := refusal(err, nil)
		if err != nil {
			return err
		}
		return p.userPage(c, id, f.status, view{Error: f.msg})
	}
	return done(c, userPath(id), code)
}

// adminUserSetActive deactivates (ending every session) or reactivates
// an account with Directory.Update, as PATCH is_active does.
func (p *Pages) adminUserSetActive(active bool) echo.HandlerFunc {
	code := "deactivated"
	if active {
		code = "activated"
	}
	return func(c echo.Context) error {
		return p.userAction(c, true, code, func(id uuid.UUID) error {
			_, err := p.d.Directory.Update(c.Request().Context(), principal(c), id, application.UserPatch{IsActive: &active})
			return err
		})
	}
}

func (p *Pages) adminUserUnlock(c echo.Context) error {
	return p.userAction(c, false, "unlocked", func(id uuid.UUID) error {
		_, err := p.d.Directory.Unlock(c.Request().Context(), principal(c), id)
		return err
	})
}

func (p *Pages) adminUserRequirePasswordChange(c echo.Context) error {
	return p.userAction(c, true, "password_required", func(id uuid.UUID) error {
		return p.d.Directory.RequirePasswordChange(c.Request().Context(), principal(c), id)
	})
}

func (p *Pages) adminUserRevokeSessions(c echo.Context) error {
	return p.userAction(c, true, "sessions_revoked", func(id uuid.UUID) error {
		return p.d.Directory.RevokeSessions(c.Request().Context(), principal(c), id)
	})
}

func (p *Pages) adminUserMFAReset(c echo.Context) error {
	return p.userAction(c, true, "mfa_reset", func(id uuid.UUID) error {
		return p.d.MFA.Reset(c.Request().Context(), principal(c), id)
	})
}

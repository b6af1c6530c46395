package legacyapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

const (
	labForbidden      = "Access to this lab is forbidden"
	labAdminForbidden = "Lab admin privileges required"
)

// labJSON is an organization as the old API shows a lab.
func (a *API) labJSON(c echo.Context, o domain.Organization) (labObject, error) {
	id, err := a.ids.old(c.Request().Context(), legacyLab, o.ID)
	if err != nil {
		return labObject{}, err
	}
	return newLabObject(o, id), nil
}

// membershipJSON is a membership as the old API meant to show it; the
// nested user is there for system admins (and for the user's own list).
func (a *API) membershipJSON(c echo.Context, m domain.Membership, o domain.Organization, user *userObject) (membershipObject, error) {
	lab, err := a.labJSON(c, o)
	if err != nil {
		return membershipObject{}, err
	}
	userID, err := a.ids.old(c.Request().Context(), legacyUser, m.UserID)
	if err != nil {
		return membershipObject{}, err
	}
	return membershipObject{IsActive: true, JoinedAt: oldTime(m.CreatedAt), Lab: &lab, LabID: lab.ID, Role: string(m.Role),
		User: user, UserID: userID}, nil
}

// targetLab translates the path's lab id. A lab the caller cannot see is
// answered as the old access decorators did: forbidden to anyone but a
// system admin, who learns it does not exist.
func (a *API) targetLab(c echo.Context, forbidden string) (uuid.UUID, application.Caller, error) {
	caller, err := a.caller(c)
	if err != nil {
		return uuid.Nil, caller, err
	}
	old, ok := parseOldID(c.Param("id"))
	if !ok {
		return uuid.Nil, caller, echo.ErrNotFound
	}
	id, err := a.ids.new(c.Request().Context(), legacyLab, old)
	if errors.Is(err, domain.ErrOrgNotFound) && !caller.SystemAdmin {
		return uuid.Nil, caller, failure(http.StatusForbidden, forbidden)
	}
	return id, caller, err
}

// hidden words UMS's "no such organization" (which a non-member also gets
// for one that exists) as the old service did.
func hidden(err error, caller application.Caller, forbidden string) error {
	if !caller.SystemAdmin && (errors.Is(err, domain.ErrOrgNotFound) || errors.Is(err, domain.ErrForbidden)) {
		return failure(http.StatusForbidden, forbidden)
	}
	return err
}

type labsAnswer struct {
	Labs []labObject `json:"labs"`
}

// listLabs lists the active labs the caller may see: all for a system
// admin, their own otherwise.
func (a *API) listLabs(c echo.Context) error {
	ctx := c.Request().Context()
	out := labsAnswer{Labs: []labObject{}}
	page := ports.Page{Limit: 200}
	for {
		orgs, next, err := a.svc.Orgs.List(ctx, principal(c), "", page)
		if err != nil {
			return err
		}
		for _, o := range orgs {
			if !o.IsActive {
				continue
			}
			lab, err := a.labJSON(c, o)
			if err != nil {
				return err
			}
			out.Labs = append(out.Labs, lab)
		}
		if next == "" {
			return c.JSON(http.StatusOK, out)
		}
		page.Cursor = next
	}
}

type labEnvelope struct {
	Lab     labObject `json:"lab"`
	Message string    `json:"message,omitempty"`
}

func (a *API) createLab(c echo.Context) error {
	f, err := a.bindSchema(c, "name", "code", "description")
	if err != nil {
		return err
	}
	name, _ := f.str("name", true, 3, 100)
	code, _ := f.str("code", true, 2, 20)
	desc, hasDesc := f.str("description", false, 0, 0)
	if err := f.err(); err != nil {
		return err
	}
	in := application.OrgInput{Name: &name, Slug: &code}
	if hasDesc {
		in.Description = &desc
	}
	o, err := a.svc.Orgs.Create(c.Request().Context(), principal(c), in)
	switch {
	case errors.Is(err, domain.ErrSlugTaken):
		return fieldErrors(map[string][]string{"code": {"Lab code already exists."}})
	case fieldCode(err, "slug") != "":
		return fieldErrors(map[string][]string{"code": {"Must be letters, digits and inner dashes (it becomes the lab's slug)."}})
	case err != nil:
		return err
	}
	lab, err := a.labJSON(c, o)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, labEnvelope{Lab: lab, Message: "Lab created successfully"})
}

func (a *API) getLab(c echo.Context) error {
	id, caller, err := a.targetLab(c, labForbidden)
	if err != nil {
		return err
	}
	o, err := a.svc.Orgs.Get(c.Request().Context(), principal(c), id)
	if err != nil {
		return hidden(err, caller, labForbidden)
	}
	lab, err := a.labJSON(c, o)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, labEnvelope{Lab: lab})
}

// updateLab applies name, description and is_active, as before (code
// cannot change, and other keys are ignored), under UMS's rules.
func (a *API) updateLab(c echo.Context) error {
	// The old service let only system admins change or delete a lab;
	// the Policy says so, before the lab is looked up.
	if _, err := a.svc.Policy.RequireSystemAdmin(c.Request().Context(), principal(c)); err != nil {
		return err
	}
	id, _, err := a.targetLab(c, labForbidden)
	if err != nil {
		return err
	}
	f, err := a.bindLoose(c)
	if err != nil {
		return err
	}
	var in application.OrgInput
	if f.has("name") {
		name, _ := f.str("name", false, 0, 0)
		in.Name = &name
	}
	if f.has("description") {
		desc, _ := f.str("description", false, 0, 0)
		in.Description = &desc
	}
	active, _ := f.boolean("is_active")
	in.IsActive = active
	if err := f.err(); err != nil {
		return err
	}
	o, err := a.svc.Orgs.Update(c.Request().Context(), principal(c), id, in)
	if err != nil {
		return err
	}
	lab, err := a.labJSON(c, o)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, labEnvelope{Lab: lab, Message: "Lab updated successfully"})
}

func (a *API) deleteLab(c echo.Context) error {
	// The old service let only system admins change or delete a lab;
	// the Policy says so, before the lab is looked up.
	if _, err := a.svc.Policy.RequireSystemAdmin(c.Request().Context(), principal(c)); err != nil {
		return err
	}
	id, _, err := a.targetLab(c, labForbidden)
	if err != nil {
		return err
	}
	if err := a.svc.Orgs.Deactivate(c.Request().Context(), principal(c), id); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, message{Message: "Lab deleted successfully"})
}

type membersAnswer struct {
	Members []membershipObject `json:"members"`
}

func (a *API) labMembers(c echo.Context) error {
	id, caller, err := a.targetLab(c, labForbidden)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	o, err := a.svc.Orgs.Get(ctx, principal(c), id)
	if err != nil {
		return hidden(err, caller, labForbidden)
	}
	out := membersAnswer{Members: []membershipObject{}}
	page := ports.Page{Limit: 200}
	for {
		list, next, err := a.svc.Orgs.Members(ctx, principal(c), id, page)
		if err != nil {
			return hidden(err, caller, labForbidden)
		}
		for _, m := range list {
			user, err := a.memberUser(c, caller, m.UserID)
			if err != nil {
				return err
			}
			obj, err := a.membershipJSON(c, m.Membership, o, user)
			if err != nil {
				return err
			}
			out.Members = append(out.Members, obj)
		}
		if next == "" {
			return c.JSON(http.StatusOK, out)
		}
		page.Cursor = next
	}
}

// memberUser is the nested user of a membership: the whole account for a
// system admin (or the caller's own), none for anyone else.
func (a *API) memberUser(c echo.Context, caller application.Caller, id uuid.UUID) (*userObject, error) {
	if !caller.SystemAdmin && id != caller.ID() {
		return nil, nil
	}
	u, err := a.loadUser(c, id)
	if err != nil {
		return nil, err
	}
	obj, err := a.userJSON(c.Request().Context(), u)
	return &obj, err
}

type membershipEnvelope struct {
	Membership membershipObject `json:"membership"`
	Message    string           `json:"message"`
}

func (a *API) addMember(c echo.Context) error {
	id, caller, err := a.targetLab(c, labAdminForbidden)
	if err != nil {
		return err
	}
	f, err := a.bindSchema(c, "user_id", "role")
	if err != nil {
		return err
	}
	oldUser, _ := f.integer("user_id", true)
	role := "member"
	if f.has("role") {
		if r, ok := f.str("role", false, 0, 0); ok {
			role = r
			if _, fe := domain.ParseRole("role", r); fe != nil {
				f.fail("role", "Must be one of: admin, member, viewer.")
			}
		}
	}
	if err := f.err(); err != nil {
		return err
	}
	ctx := c.Request().Context()
	userID, err := a.ids.new(ctx, legacyUser, oldUser)
	if err != nil {
		return err
	}
	m, err := a.svc.Orgs.AddMember(ctx, principal(c), id, userID, role)
	switch {
	case errors.Is(err, domain.ErrAlreadyMember):
		return failure(http.StatusBadRequest, "User is already a member of this lab")
	case fieldCode(err, "user_id") == "unknown_user":
		return domain.ErrUserNotFound
	case err != nil:
		return hidden(err, caller, labAdminForbidden)
	}
	return a.membershipAnswer(c, caller, m, http.StatusCreated, "Member added successfully")
}

func (a *API) membershipAnswer(c echo.Context, caller application.Caller, m domain.Membership, status int, msg string) error {
	o, err := a.svc.Orgs.Get(c.Request().Context(), principal(c), m.OrgID)
	if err != nil {
		return err
	}
	user, err := a.memberUser(c, caller, m.UserID)
	if err != nil {
		return err
	}
	obj, err := a.membershipJSON(c, m, o, user)
	if err != nil {
		return err
	}
	return c.JSON(status, membershipEnvelope{Membership: obj, Message: msg})
}

// memberTarget translates the lab and user of a membership route.
func (a *API) memberTarget(c echo.Context) (uuid.UUID, uuid.UUID, application.Caller, error) {
	lab, caller, err := a.targetLab(c, labAdminForbidden)
	if err != nil {
		return uuid.Nil, uuid.Nil, caller, err
	}
	old, ok := parseOldID(c.Param("user_id"))
	if !ok {
		return uuid.Nil, uuid.Nil, caller, echo.ErrNotFound
	}
	user, err := a.ids.new(c.Request().Context(), legacyUser, old)
	if errors.Is(err, domain.ErrUserNotFound) {
		return uuid.Nil, uuid.Nil, caller, domain.ErrMembershipNotFound
	}
	return lab, user, caller, err
}

func (a *API) removeMember(c echo.Context) error {
	lab, user, caller, err := a.memberTarget(c)
	if err != nil {
		return err
	}
	if err := a.svc.Orgs.RemoveMember(c.Request().Context(), principal(c), lab, user); err != nil {
		return hidden(err, caller, labAdminForbidden)
	}
	return c.JSON(http.StatusOK, message{Message: "Member removed successfully"})
}

func (a *API) setMemberRole(c echo.Context) error {
	lab, user, caller, err := a.memberTarget(c)
	if err != nil {
		return err
	}
	f, err := a.bindLoose(c)
	if err != nil {
		return err
	}
	role := strings.TrimSpace(f.text("role"))
	if _, fe := domain.ParseRole("role", role); fe != nil {
		return failure(http.StatusBadRequest, "Invalid role")
	}
	m, err := a.svc.Orgs.SetMemberRole(c.Request().Context(), principal(c), lab, user, role)
	if err != nil {
		return hidden(err, caller, labAdminForbidden)
	}
	return a.membershipAnswer(c, caller, m, http.StatusOK, "Role updated successfully")
}

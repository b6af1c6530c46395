package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// orgsData is the organizations page.
type orgsData struct {
	Q     string
	Orgs  []domain.Organization
	Next  string
	First string
	// CanCreate shows the creation form (system admins).
	CanCreate bool
}

// adminOrgs lists organizations with Orgs.List, as the API does: every
// one to a system admin, the caller's own to anyone else.
func (p *Pages) adminOrgs(c echo.Context) error {
	return p.orgsPage(c, http.StatusOK, view{Message: doneMessage(c)})
}

func (p *Pages) orgsPage(c echo.Context, status int, v view) error {
	q, cursor := strings.TrimSpace(c.QueryParam("q")), c.QueryParam("cursor")
	if len(cursor) > 512 {
		return domain.Invalid(domain.FieldError{Field: "cursor", Code: "invalid_cursor", Message: "is not a cursor this console made"})
	}
	orgs, next, err := p.d.Orgs.List(c.Request().Context(), principal(c), q, ports.Page{Cursor: cursor})
	if err != nil {
		return err
	}
	d := orgsData{Q: q, Orgs: orgs, CanCreate: isSystemAdmin(c)}
	query := url.Values{"q": {q}}
	if next != "" {
		d.Next = pageLink("/ui/admin/orgs", query, next)
	}
	if cursor != "" {
		d.First = pageLink("/ui/admin/orgs", query, "")
	}
	v.Title, v.Data = "Organizations", d
	return p.render(c, status, "admin_orgs", v)
}

// adminOrgCreate makes an organization (Orgs.Create: system admins only).
func (p *Pages) adminOrgCreate(c echo.Context) error {
	name, slug, desc := c.FormValue("name"), c.FormValue("slug"), c.FormValue("description")
	o, err := p.d.Orgs.Create(c.Request().Context(), principal(c), application.OrgInput{Name: &name, Slug: &slug, Description: &desc})
	if err != nil {
		f, err := refusal(err, map[string]string{"name": "org.name", "slug": "org.slug", "description": "org.description"})
		if err != nil {
			return err
		}
		if f.fields == nil {
			// A taken slug is the slug's problem.
			f.fields = map[string]string{"org.slug": f.msg}
			f.msg = "Check the fields marked below."
		}
		return p.orgsPage(c, f.status, view{Error: f.msg, Fields: f.fields,
			Form: map[string]string{"name": name, "slug": slug, "description": desc}})
	}
	return done(c, orgPath(o.ID), "org_created")
}

func orgPath(id uuid.UUID) string { return "/ui/admin/orgs/" + id.String() }

// permCheck is one catalog entry as a checkbox.
type permCheck struct {
	Name        string
	Description string
	Checked     bool
}

// roleData is one role's permissions in an organization.
type roleData struct {
	Role string
	// Global are the role's defaults, which hold everywhere.
	Global []string
	Perms  []permCheck
}

// grantRow is one direct grant.
type grantRow struct {
	ID         string
	UserID     string
	User       string
	Permission string
	ExpiresAt  *time.Time
	Expired    bool
	Active     bool
	CreatedAt  time.Time
}

// orgData is an organization's page.
type orgData struct {
	Org         domain.Organization
	Members     []ports.MembershipWithUser
	NextMembers string
	Roles       []roleData
	RoleNames   []string
	// Manage shows the forms of an org admin or a system admin: the
	// grants are readable at that level only, so being able to read
	// them is what decides it.
	Manage  bool
	Grants  []grantRow
	Catalog []domain.Permission
	// MinExpiry is the earliest expiry the grant form suggests.
	MinExpiry string
	// Invitations are the open invitations, shown with the invitation
	// form when Invite (invitations are on and the caller manages).
	Invitations []invitationRow
	Invite      bool
	InviteLives []int
	// ServiceAccounts are listed apart from the members (which leave
	// them out); Machines is whether the section is shown.
	ServiceAccounts []serviceAccountRow
	Machines        bool
}

func (p *Pages) adminOrg(c echo.Context) error {
	id, err := adminID(c, "id", domain.ErrOrgNotFound)
	if err != nil {
		return err
	}
	return p.orgPage(c, id, http.StatusOK, view{Message: doneMessage(c)})
}

// orgPage renders an organization with v's messages. Everything comes from
// Orgs and Permissions under the policy: an organization the caller is not
// in is 404, its grants need an org admin.
func (p *Pages) orgPage(c echo.Context, id uuid.UUID, status int, v view) error {
	ctx, pr := c.Request().Context(), principal(c)
	o, err := p.d.Orgs.Get(ctx, pr, id)
	if err != nil {
		return err
	}
	cursor := c.QueryParam("members_cursor")
	if len(cursor) > 512 {
		cursor = ""
	}
	members, next, err := p.d.Orgs.Members(ctx, pr, id, ports.Page{Cursor: cursor, Limit: 100})
	if err != nil {
		return err
	}
	accounts, machines, err := p.orgServiceAccounts(ctx, pr, id)
	if err != nil {
		return err
	}
	people := members[:0:0]
	for _, m := range members {
		if !machines[m.UserID] {
			people = append(people, m)
		}
	}
	d := orgData{Org: o, Members: people, MinExpiry: localTimeValue(ptrTime(time.Now().Add(time.Minute))),
		ServiceAccounts: accounts, Machines: p.d.ServiceAccounts != nil}
	if next != "" {
		d.NextMembers = orgPath(id) + "?members_cursor=" + url.QueryEscape(next)
	}
	grants, err := p.d.Orgs.Grants(ctx, pr, id)
	switch {
	case err == nil:
		d.Manage = true
	case domain.KindOf(err) == domain.KindForbidden:
	default:
		return err
	}
	if d.Manage && p.d.Invitations != nil {
		if d.Invitations, err = p.orgInvitations(ctx, pr, id); err != nil {
			return err
		}
		d.Invite, d.InviteLives = true, inviteLives
	}
	catalog, err := p.d.Permissions.Catalog(ctx, pr, false)
	if err != nil {
		return err
	}
	d.Catalog = catalog
	for _, r := range domain.Roles {
		d.RoleNames = append(d.RoleNames, string(r))
		set, err := p.d.Orgs.RolePermissions(ctx, pr, id, string(r))
		if err != nil {
			return err
		}
		global, err := p.d.Permissions.GlobalRolePermissions(ctx, pr, string(r))
		if err != nil {
			return err
		}
		d.Roles = append(d.Roles, roleData{Role: string(r), Global: global, Perms: checks(catalog, set)})
	}
	who := map[uuid.UUID]string{}
	for _, m := range members {
		who[m.UserID] = m.Email
	}
	now := time.Now()
	for _, g := range grants {
		row := grantRow{ID: g.ID.String(), UserID: g.UserID.String(), User: who[g.UserID], Permission: g.Permission,
			ExpiresAt: g.ExpiresAt, Expired: g.ExpiresAt != nil && !now.Before(*g.ExpiresAt), Active: g.IsActive,
			CreatedAt: g.CreatedAt}
		if row.User == "" {
			row.User = row.UserID
		}
		d.Grants = append(d.Grants, row)
	}
	v.Title, v.Data = o.Name, d
	return p.render(c, status, "admin_org", v)
}

func ptrTime(t time.Time) *time.Time { return &t }

// checks is the catalog as checkboxes, those in set checked; a name in
// set the catalog does not list is still shown, checked, so that saving
// the form never drops what the page did not show.
func checks(catalog []domain.Permission, set []string) []permCheck {
	in := map[string]bool{}
	for _, s := range set {
		in[s] = true
	}
	out := make([]permCheck, 0, len(catalog))
	for _, perm := range catalog {
		out = append(out, permCheck{Name: perm.Name, Description: perm.Description, Checked: in[perm.Name]})
		delete(in, perm.Name)
	}
	for _, s := range set {
		if in[s] {
			out = append(out, permCheck{Name: s, Description: "(deactivated)", Checked: true})
		}
	}
	return out
}

// orgAction checks the organization of the path, asks sensitive actions
// for a recent sign-in, runs act and goes back to the organization's page;
// a refused form is shown again there.
func (p *Pages) orgAction(c echo.Context, sensitive bool, code string, inputs map[string]string, form map[string]string,
	act func(orgID uuid.UUID) error,
) error {
	id, err := adminID(c, "id", domain.ErrOrgNotFound)
	if err != nil {
		return err
	}
	if sensitive {
		if ok, err := p.recentSignIn(c, orgPath(id)); !ok {
			return err
		}
	}
	if err := act(id); err != nil {
		f, err := refusal(err, inputs)
		if err != nil {
			return err
		}
		return p.orgPage(c, id, f.status, view{Error: f.msg, Fields: f.fields, Form: form})
	}
	return done(c, orgPath(id), code)
}

// adminOrgAddMember adds a member by user id, or by email or username
// where the application can look one up (system admins).
func (p *Pages) adminOrgAddMember(c echo.Context) error {
	user, role := c.FormValue("user"), c.FormValue("role")
	form := map[string]string{"member.user": user, "member.role": role}
	inputs := map[string]string{"user_id": "member.user", "role": "member.role"}
	return p.orgAction(c, true, "member_added", inputs, form, func(orgID uuid.UUID) error {
		uid, msg, err := p.findUser(c, user)
		if err != nil {
			return err
		}
		if msg != "" {
			return domain.Invalid(domain.FieldError{Field: "user_id", Message: msg})
		}
		_, err = p.d.Orgs.AddMember(c.Request().Context(), principal(c), orgID, uid, role)
		if errors.Is(err, domain.ErrAlreadyMember) {
			// The answer is about the user typed: show it there.
			return domain.Invalid(domain.FieldError{Field: "user_id", Message: "is already a member of this organization"})
		}
		return err
	})
}

// adminOrgMemberRole changes a member's role (the use case keeps an admin
// and stops anyone raising their own role).
func (p *Pages) adminOrgMemberRole(c echo.Context) error {
	uid, err := adminID(c, "user_id", domain.ErrMembershipNotFound)
	if err != nil {
		return err
	}
	role := c.FormValue("role")
	return p.orgAction(c, true, "role_changed", map[string]string{"role": "role." + uid.String()}, nil, func(orgID uuid.UUID) error {
		_, err := p.d.Orgs.SetMemberRole(c.Request().Context(), principal(c), orgID, uid, role)
		return err
	})
}

func (p *Pages) adminOrgRemoveMember(c echo.Context) error {
	uid, err := adminID(c, "user_id", domain.ErrMembershipNotFound)
	if err != nil {
		return err
	}
	return p.orgAction(c, true, "member_removed", nil, nil, func(orgID uuid.UUID) error {
		return p.d.Orgs.RemoveMember(c.Request().Context(), principal(c), orgID, uid)
	})
}

// adminOrgRolePermissions replaces a role's permissions in the
// organization with the boxes ticked.
func (p *Pages) adminOrgRolePermissions(c echo.Context) error {
	role := c.Param("role")
	if _, fe := domain.ParseRole("role", role); fe != nil {
		return echo.ErrNotFound
	}
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	names := form["permissions"]
	return p.orgAction(c, true, "role_permissions", map[string]string{"permissions": "perms." + role}, nil, func(orgID uuid.UUID) error {
		_, err := p.d.Orgs.SetRolePermissions(c.Request().Context(), principal(c), orgID, role, names)
		return err
	})
}

// adminOrgAddGrant gives a member one permission directly, with an
// optional expiry read in UTC.
func (p *Pages) adminOrgAddGrant(c echo.Context) error {
	user, perm, exp := c.FormValue("user_id"), c.FormValue("permission"), c.FormValue("expires_at")
	form := map[string]string{"grant.user_id": user, "grant.permission": perm, "grant.expires_at": exp}
	inputs := map[string]string{"user_id": "grant.user_id", "permission": "grant.permission", "expires_at": "grant.expires_at"}
	return p.orgAction(c, true, "grant_added", inputs, form, func(orgID uuid.UUID) error {
		var fields []domain.FieldError
		uid, err := uuid.Parse(strings.TrimSpace(user))
		if err != nil {
			fields = append(fields, domain.FieldError{Field: "user_id", Message: "choose a member"})
		}
		expires, ok := parseLocalTime(exp)
		if !ok {
			fields = append(fields, domain.FieldError{Field: "expires_at", Message: "must be a date and time such as 2030-01-31T17:00"})
		}
		if len(fields) > 0 {
			return domain.Invalid(fields...)
		}
		_, err = p.d.Orgs.AddGrant(c.Request().Context(), principal(c), orgID,
			application.GrantInput{UserID: uid, Permission: perm, ExpiresAt: expires})
		return err
	})
}

func (p *Pages) adminOrgDeleteGrant(c echo.Context) error {
	gid, err := adminID(c, "grant_id", domain.ErrGrantNotFound)
	if err != nil {
		return err
	}
	return p.orgAction(c, true, "grant_deleted", nil, nil, func(orgID uuid.UUID) error {
		return p.d.Orgs.DeleteGrant(c.Request().Context(), principal(c), orgID, gid)
	})
}

package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// registerAdmin adds the administration pages under /ui/admin. Every page
// and every action calls the same use cases as the JSON API, so the one
// Policy decides: system admins everything, org admins their
// organizations, an organization the caller cannot see is 404.
func (p *Pages) registerAdmin(in *echo.Group) {
	a := in.Group("/admin")
	a.GET("", p.adminHome)
	a.GET("/", p.adminHome)

	a.GET("/users", p.adminUsers)
	a.GET("/users/:id", p.adminUser)
	a.POST("/users/:id/deactivate", p.adminUserSetActive(false))
	a.POST("/users/:id/activate", p.adminUserSetActive(true))
	a.POST("/users/:id/unlock", p.adminUserUnlock)
	a.POST("/users/:id/require-password-change", p.adminUserRequirePasswordChange)
	a.POST("/users/:id/revoke-sessions", p.adminUserRevokeSessions)
	a.POST("/users/:id/mfa-reset", p.adminUserMFAReset)

	a.GET("/orgs", p.adminOrgs)
	a.POST("/orgs", p.adminOrgCreate)
	a.GET("/orgs/:id", p.adminOrg)
	a.POST("/orgs/:id/members", p.adminOrgAddMember)
	a.POST("/orgs/:id/members/:user_id/role", p.adminOrgMemberRole)
	a.POST("/orgs/:id/members/:user_id/remove", p.adminOrgRemoveMember)
	a.POST("/orgs/:id/roles/:role", p.adminOrgRolePermissions)
	a.POST("/orgs/:id/grants", p.adminOrgAddGrant)
	a.POST("/orgs/:id/grants/:grant_id/delete", p.adminOrgDeleteGrant)
	p.registerOrgInvitations(a)
	p.registerOrgServiceAccounts(a)

	a.GET("/permissions", p.adminPermissions)
	a.POST("/permissions", p.adminPermissionCreate)
	a.POST("/permissions/roles/:role", p.adminGlobalRole)
	a.POST("/permissions/:name/deactivate", p.adminPermissionDeactivate)

	a.GET("/audit", p.adminAudit)
	p.registerAdminClients(a)
}

// adminHome sends system admins to the users and everyone else to the
// organizations they belong to.
func (p *Pages) adminHome(c echo.Context) error {
	if isSystemAdmin(c) {
		return c.Redirect(http.StatusSeeOther, "/ui/admin/users")
	}
	return c.Redirect(http.StatusSeeOther, "/ui/admin/orgs")
}

// isSystemAdmin is the navigation's flag, loaded by requireSession. It
// only chooses what a page offers; the use cases decide what is allowed.
func isSystemAdmin(c echo.Context) bool {
	n, _ := c.Get(navKey).(*nav)
	return n != nil && n.Admin
}

// adminID reads a uuid path parameter; anything else names nothing, so
// it is the resource's 404, as in the API.
func adminID(c echo.Context, name string, notFound *domain.Error) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Param(name))
	if err != nil {
		return uuid.Nil, notFound
	}
	return id, nil
}

// doneMessages are the confirmations an action's redirect may ask its
// page to show (?done=code): fixed texts, never what the URL carries.
var doneMessages = map[string]string{
	"deactivated":                 "The account is deactivated and its sessions are ended.",
	"activated":                   "The account is active again.",
	"unlocked":                    "The account is unlocked.",
	"password_required":           "The user must change the password at the next sign-in; their sessions are ended.",
	"sessions_revoked":            "Every session of the user is ended.",
	"mfa_reset":                   "Two-step verification is turned off for the user; their sessions are ended.",
	"org_created":                 "The organization is created.",
	"member_added":                "The member is added.",
	"role_changed":                "The role is changed.",
	"member_removed":              "The member is removed, with their direct grants here.",
	"role_permissions":            "The role's permissions are saved.",
	"grant_added":                 "The grant is added.",
	"grant_deleted":               "The grant is deleted.",
	"invite_sent":                 "The invitation is on its way.",
	"invite_resent":               "The invitation is sent again; the earlier link no longer works.",
	"invite_revoked":              "The invitation is revoked; its link no longer works.",
	"joined":                      "Welcome: you are a member of this organization now.",
	"service_account_created":     "The service account is made. Give it a secret (or register a public key on the API) to use it.",
	"service_account_deactivated": "The service account is deactivated: its tokens stop working at once.",
	"service_account_activated":   "The service account is active again.",
	"service_account_deleted":     "The service account is deleted, with its credentials and tokens.",
	"permission_added":            "The permission is in the catalog.",
	"permission_off":              "The permission is deactivated.",
	"defaults_saved":              "The role's global defaults are saved.",
}

func doneMessage(c echo.Context) string { return doneMessages[c.QueryParam("done")] }

// done ends a successful action by sending the browser back to its page
// (post/redirect/get), which confirms it.
func done(c echo.Context, to, code string) error {
	return c.Redirect(http.StatusSeeOther, to+"?done="+url.QueryEscape(code))
}

// formFailure is a refused form shown again on its page: messages next to
// the inputs (keyed "form.input") or one message above the form.
type formFailure struct {
	status int
	msg    string
	fields map[string]string
}

// refusal turns the error of a form's use case into what the page shows
// again: a validation error goes next to its inputs (inputs maps the use
// case's field names to the page's keys), a conflict or a refused rule
// (own role, last admin) above the form. Any other error is returned for
// the error page.
func refusal(err error, inputs map[string]string) (formFailure, error) {
	var de *domain.Error
	if !errors.As(err, &de) {
		return formFailure{}, err
	}
	switch {
	case de.Kind == domain.KindInvalid:
		f := formFailure{status: http.StatusUnprocessableEntity, fields: map[string]string{}}
		var loose []string
		for _, fe := range de.Fields {
			if key, ok := inputs[fe.Field]; ok {
				if _, taken := f.fields[key]; !taken {
					f.fields[key] = sentence(fe.Message)
				}
				continue
			}
			loose = append(loose, fe.Field+" "+fe.Message)
		}
		f.msg = "Check the fields marked below."
		if len(loose) > 0 {
			f.msg = sentence(strings.Join(loose, "; "))
		}
		return f, nil
	case de.Kind == domain.KindConflict:
		return formFailure{status: http.StatusConflict, msg: sentence(de.Message)}, nil
	case errors.Is(err, domain.ErrOwnRoleUpgrade):
		return formFailure{status: http.StatusForbidden, msg: sentence(de.Message)}, nil
	}
	return formFailure{}, err
}

// sentence capitalizes a use case's message and ends it with a full stop.
func sentence(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 {
		return s
	}
	s = string(unicode.ToUpper(r)) + s[n:]
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

// partial reports whether htmx asks for a page's fragment only (not when
// it restores history, which needs the whole page).
func partial(c echo.Context) bool {
	h := c.Request().Header
	return h.Get("HX-Request") == "true" && h.Get("HX-History-Restore-Request") != "true"
}

// renderPart renders one named template of a page without the layout, for
// htmx to swap in.
func (p *Pages) renderPart(c echo.Context, status int, page, name string, v view) error {
	if tok, ok := c.Get("csrf").(string); ok {
		v.CSRF = tok
	}
	if v.Nav == nil {
		v.Nav, _ = c.Get(navKey).(*nav)
	}
	t, ok := p.pages[page]
	if !ok {
		return errors.New("no page " + page)
	}
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, name, v); err != nil {
		return err
	}
	c.Response().Header().Add(echo.HeaderVary, "HX-Request")
	return c.HTML(status, b.String())
}

// localTimeLayouts are what <input type="datetime-local"> sends.
var localTimeLayouts = []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02T15:04:05.000"}

// parseLocalTime reads a datetime-local value as UTC (the pages say so:
// the server does not know the browser's time zone); "" is nil.
func parseLocalTime(s string) (*time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, true
	}
	for _, l := range localTimeLayouts {
		if t, err := time.ParseInLocation(l, s, time.UTC); err == nil {
			return &t, true
		}
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		t = t.UTC()
		return &t, true
	}
	return nil, false
}

// localTimeValue is t as a datetime-local value in UTC.
func localTimeValue(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04")
}

// pageLink is path with the query q plus a cursor.
func pageLink(path string, q url.Values, cursor string) string {
	v := url.Values{}
	for k, vs := range q {
		for _, s := range vs {
			if s != "" {
				v.Add(k, s)
			}
		}
	}
	if cursor != "" {
		v.Set("cursor", cursor)
	}
	if len(v) == 0 {
		return path
	}
	return path + "?" + v.Encode()
}

// findUser resolves what an administrator typed to name a user: a user
// id, or an email address or username looked up in the directory. The
// application offers the lookup to system admins only (Directory.List);
// anyone else must give the id. msg is a message for the input when the
// text names nobody.
func (p *Pages) findUser(c echo.Context, s string) (id uuid.UUID, msg string, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return uuid.Nil, "Enter a user id or email address.", nil
	}
	if id, err := uuid.Parse(s); err == nil {
		return id, "", nil
	}
	if !isSystemAdmin(c) {
		return uuid.Nil, "Enter the user's id: only system administrators can look users up by email or username.", nil
	}
	users, _, err := p.d.Directory.List(c.Request().Context(), principal(c), ports.UserFilter{Q: s}, ports.Page{Limit: 200})
	if err != nil {
		if domain.KindOf(err) == domain.KindInvalid {
			return uuid.Nil, "No user has this email address or username.", nil
		}
		return uuid.Nil, "", err
	}
	for i := range users {
		u := &users[i]
		if strings.EqualFold(u.Email().String(), s) || strings.EqualFold(u.Username().String(), s) {
			return u.ID(), "", nil
		}
	}
	return uuid.Nil, "No user has this email address or username.", nil
}

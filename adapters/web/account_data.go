package web

import (
	"encoding/hex"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/ums-project/ums/domain"
)

const pathDelete = PathAccount + "/delete"

func (p *Pages) exportPage(c echo.Context) error {
	return p.render(c, http.StatusOK, "account_export", view{Title: "Your data",
		Data: p.accountPage(PathAccount + "/export")})
}

// exportDownload is the API's GET /me/export (audited as it is), in the
// same JSON shape, as a file to save.
func (p *Pages) exportDownload(c echo.Context) error {
	ex, err := p.d.Directory.Export(c.Request().Context(), principal(c))
	if err != nil {
		return err
	}
	out := exportFile{User: newExportUser(&ex.User), Sessions: []exportSession{}, Memberships: []exportMembership{},
		Grants: []exportGrant{}, AuditEvents: []exportEvent{}, Passkeys: []exportPasskey{}, PersonalTokens: []exportToken{},
		Invitations: []exportInvitation{}}
	for _, s := range ex.Sessions {
		out.Sessions = append(out.Sessions, exportSession{ID: s.ID.String(), CreatedAt: s.CreatedAt, LastUsedAt: s.LastUsedAt,
			ExpiresAt: s.ExpiresAt, IP: s.IP, UserAgent: s.UserAgent, RevokedAt: s.RevokedAt})
	}
	for _, m := range ex.Memberships {
		out.Memberships = append(out.Memberships, exportMembership{OrgID: m.OrgID.String(), UserID: m.UserID.String(),
			Role: string(m.Role), CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt})
	}
	for _, g := range ex.Grants {
		eg := exportGrant{ID: g.ID.String(), OrgID: g.OrgID.String(), UserID: g.UserID.String(), Permission: g.Permission,
			IsActive: g.IsActive, ExpiresAt: g.ExpiresAt, CreatedAt: g.CreatedAt}
		if g.GrantedBy != nil {
			s := g.GrantedBy.String()
			eg.GrantedBy = &s
		}
		out.Grants = append(out.Grants, eg)
	}
	for _, e := range ex.AuditEvents {
		out.AuditEvents = append(out.AuditEvents, newExportEvent(e))
	}
	for _, pk := range ex.Passkeys {
		transports := pk.Transports
		if transports == nil {
			transports = []string{}
		}
		out.Passkeys = append(out.Passkeys, exportPasskey{ID: pk.ID.String(), Name: pk.Name, CreatedAt: pk.CreatedAt,
			LastUsedAt: pk.LastUsedAt, BackedUp: pk.BackedUp, Transports: transports, AAGUID: hex.EncodeToString(pk.AAGUID)})
	}
	now := time.Now()
	for _, inv := range ex.Invitations {
		out.Invitations = append(out.Invitations, exportInvitation{ID: inv.ID.String(), OrgID: inv.OrgID.String(),
			Email: inv.Email.String(), Role: string(inv.Role), Status: string(inv.Status(now)), InvitedBy: inv.InvitedBy,
			CreatedAt: inv.CreatedAt, ExpiresAt: inv.ExpiresAt, LastSentAt: inv.LastSentAt, AcceptedAt: inv.AcceptedAt,
			AcceptedBy: inv.AcceptedBy, RevokedAt: inv.RevokedAt})
	}
	for _, t := range ex.PersonalTokens {
		perms := t.Permissions
		if perms == nil {
			perms = []string{}
		}
		out.PersonalTokens = append(out.PersonalTokens, exportToken{ID: t.ID.String(), Name: t.Name, Hint: t.Hint,
			OrgID: t.OrgID, Permissions: perms, CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, LastUsedAt: t.LastUsedAt,
			RevokedAt: t.RevokedAt})
	}
	c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="ums-export.json"`)
	return c.JSONPretty(http.StatusOK, out, "  ")
}

// exportFile is everything held about the user, secrets left out, in the
// shape of the API's export (adapters/http exportResponse).
type exportFile struct {
	User        exportUser         `json:"user"`
	Sessions    []exportSession    `json:"sessions"`
	Memberships []exportMembership `json:"memberships"`
	Grants      []exportGrant      `json:"grants"`
	AuditEvents []exportEvent      `json:"audit_events"`
	// Passkeys are public data only: no credential id, no public key.
	Passkeys []exportPasskey `json:"passkeys"`
	// PersonalTokens are the personal access tokens, revoked ones
	// included: never their values or hashes.
	PersonalTokens []exportToken `json:"personal_access_tokens"`
	// Invitations are those addressed to the user's email or accepted by
	// the user: never their tokens.
	Invitations []exportInvitation `json:"invitations"`
}

type exportPasskey struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	BackedUp   bool       `json:"backed_up"`
	Transports []string   `json:"transports"`
	// AAGUID names the authenticator's model, in hex.
	AAGUID string `json:"aaguid"`
}

type exportInvitation struct {
	ID         string     `json:"id"`
	OrgID      string     `json:"org_id"`
	Email      string     `json:"email"`
	Role       string     `json:"role"`
	Status     string     `json:"status"`
	InvitedBy  *uuid.UUID `json:"invited_by"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	LastSentAt time.Time  `json:"last_sent_at"`
	AcceptedAt *time.Time `json:"accepted_at,omitempty"`
	AcceptedBy *uuid.UUID `json:"accepted_by,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

type exportToken struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Hint        string     `json:"hint"`
	OrgID       *uuid.UUID `json:"org_id"`
	Permissions []string   `json:"permissions"`
	CreatedAt   time.Time  `json:"created_at"`
	ExpiresAt   time.Time  `json:"expires_at"`
	LastUsedAt  *time.Time `json:"last_used_at"`
	RevokedAt   *time.Time `json:"revoked_at"`
}

type exportUser struct {
	ID                 string     `json:"id"`
	Email              string     `json:"email"`
	Username           string     `json:"username"`
	FirstName          string     `json:"first_name"`
	LastName           string     `json:"last_name"`
	IsActive           bool       `json:"is_active"`
	IsSystemAdmin      bool       `json:"is_system_admin"`
	EmailVerified      bool       `json:"email_verified"`
	MFAEnabled         bool       `json:"mfa_enabled"`
	MustChangePassword bool       `json:"must_change_password"`
	PasswordChangedAt  time.Time  `json:"password_changed_at"`
	LastLoginAt        *time.Time `json:"last_login_at,omitempty"`
	CreatedAt          time.Time  `json:"created_at"`
	UpdatedAt          time.Time  `json:"updated_at"`
}

func newExportUser(u *domain.User) exportUser {
	return exportUser{ID: u.ID().String(), Email: u.Email().String(), Username: u.Username().String(),
		FirstName: u.FirstName(), LastName: u.LastName(), IsActive: u.IsActive(), IsSystemAdmin: u.IsSystemAdmin(),
		EmailVerified: u.EmailVerified(), MFAEnabled: u.MFAEnabled(), MustChangePassword: u.MustChangePassword(),
		PasswordChangedAt: u.PasswordChangedAt(), LastLoginAt: u.LastLoginAt(), CreatedAt: u.CreatedAt(), UpdatedAt: u.UpdatedAt()}
}

type exportSession struct {
	ID         string     `json:"id"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt time.Time  `json:"last_used_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	IP         string     `json:"ip"`
	UserAgent  string     `json:"user_agent"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

type exportMembership struct {
	OrgID     string    `json:"org_id"`
	UserID    string    `json:"user_id"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

type exportGrant struct {
	ID         string     `json:"id"`
	OrgID      string     `json:"org_id"`
	UserID     string     `json:"user_id"`
	Permission string     `json:"permission"`
	IsActive   bool       `json:"is_active"`
	ExpiresAt  *time.Time `json:"expires_at"`
	GrantedBy  *string    `json:"granted_by"`
	CreatedAt  time.Time  `json:"created_at"`
}

type exportEvent struct {
	ID         string         `json:"id"`
	OccurredAt time.Time      `json:"occurred_at"`
	ActorID    *string        `json:"actor_id"`
	Action     string         `json:"action"`
	TargetType string         `json:"target_type"`
	TargetID   string         `json:"target_id"`
	OrgID      *string        `json:"org_id"`
	Outcome    string         `json:"outcome"`
	IP         string         `json:"ip"`
	UserAgent  string         `json:"user_agent"`
	RequestID  string         `json:"request_id"`
	Details    map[string]any `json:"details"`
}

func newExportEvent(e domain.AuditEvent) exportEvent {
	r := exportEvent{ID: e.ID.String(), OccurredAt: e.OccurredAt, Action: e.Action, TargetType: e.TargetType,
		TargetID: e.TargetID, Outcome: string(e.Outcome), IP: e.IP, UserAgent: e.UserAgent, RequestID: e.RequestID, Details: e.Details}
	if e.ActorID != nil {
		s := e.ActorID.String()
		r.ActorID = &s
	}
	if e.OrgID != nil {
		s := e.OrgID.String()
		r.OrgID = &s
	}
	if r.Details == nil {
		r.Details = map[string]any{}
	}
	return r
}

// deletePage asks a recent sign-in before it even shows the form.
func (p *Pages) deletePage(c echo.Context) error {
	if ok, err := p.recentSignIn(c, pathDelete); !ok {
		return err
	}
	return p.render(c, http.StatusOK, "account_delete", view{Title: "Delete your account",
		Data: p.accountPage(pathDelete)})
}

// deleteAccount is the API's DELETE /me: with the password (and a recent
// sign-in, and the box ticked), the account and everything about it is
// erased, the audit trail pseudonymized. The browser is signed out.
func (p *Pages) deleteAccount(c echo.Context) error {
	if ok, err := p.recentSignIn(c, pathDelete); !ok {
		return err
	}
	show := func(f selfFailure) error {
		return p.render(c, f.status, "account_delete", view{Title: "Delete your account", Error: f.msg, Fields: f.fields,
			Data: p.accountPage(pathDelete)})
	}
	if c.FormValue("confirm") != "yes" {
		return show(selfFailure{status: http.StatusUnprocessableEntity, msg: "Check the fields marked below.",
			fields: map[string]string{"confirm": "Tick the box to confirm that the account goes for good."}})
	}
	if err := p.d.Directory.EraseMe(c.Request().Context(), principal(c), c.FormValue("password")); err != nil {
		f, err := selfRefusal(c, err, "password")
		if err != nil {
			return err
		}
		return show(f)
	}
	p.clearSession(c.Response())
	// The page is a public one now: no navigation for a user who is gone.
	c.Set(navKey, (*nav)(nil))
	return p.render(c, http.StatusOK, "public_notice", view{Title: "Account deleted",
		Message: "Your account and the data held about you are deleted. Goodbye.",
		Data:    publicNotice{Links: []publicLink{{Href: PathRegister, Text: "Create a new account"}}}})
}

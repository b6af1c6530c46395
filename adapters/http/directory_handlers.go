package http

import (
	"encoding/hex"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

type directoryHandlers struct {
	dir       *application.Directory
	bodyLimit int64
}

type createUserRequest struct {
	Email         string `json:"email"`
	Username      string `json:"username"`
	Password      string `json:"password"`
	FirstName     string `json:"first_name"`
	LastName      string `json:"last_name"`
	IsSystemAdmin bool   `json:"is_system_admin"`
}

type userPatchRequest struct {
	FirstName     *string `json:"first_name"`
	LastName      *string `json:"last_name"`
	IsActive      *bool   `json:"is_active"`
	IsSystemAdmin *bool   `json:"is_system_admin"`
	EmailVerified *bool   `json:"email_verified"`
}

type passwordRequest struct {
	Password string `json:"password"`
}

type userOrgResponse struct {
	orgResponse
	Role string `json:"role"`
}

type auditEventResponse struct {
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

func newAuditEventResponse(e domain.AuditEvent) auditEventResponse {
	r := auditEventResponse{ID: e.ID.String(), OccurredAt: e.OccurredAt, Action: e.Action, TargetType: e.TargetType,
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

type sessionExport struct {
	ID         string     `json:"id"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt time.Time  `json:"last_used_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	IP         string     `json:"ip"`
	UserAgent  string     `json:"user_agent"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

// passkeyExport is a passkey as the export shows it: neither the
// credential id nor the public key.
type passkeyExport struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	BackedUp   bool       `json:"backed_up"`
	Transports []string   `json:"transports"`
	// AAGUID names the authenticator's model, in hex.
	AAGUID string `json:"aaguid"`
}

// exportResponse is everything held about the caller, secrets left out:
// no hash, no TOTP secret, no token of any kind.
type exportResponse struct {
	User        userResponse         `json:"user"`
	Sessions    []sessionExport      `json:"sessions"`
	Memberships []memberResponse     `json:"memberships"`
	Grants      []grantResponse      `json:"grants"`
	AuditEvents []auditEventResponse `json:"audit_events"`
	Passkeys    []passkeyExport      `json:"passkeys"`
	// PersonalTokens are the personal access tokens, revoked ones
	// included: never their values or hashes.
	PersonalTokens []personalTokenExport `json:"personal_access_tokens"`
	// Invitations are those addressed to the caller's email or accepted
	// by the caller: never their tokens.
	Invitations []invitationResponse `json:"invitations"`
}

type personalTokenExport struct {
	personalTokenResponse
	RevokedAt *time.Time `json:"revoked_at"`
}

func (h *directoryHandlers) list(c echo.Context) error {
	q := &queryParams{c: c}
	f := ports.UserFilter{Q: c.QueryParam("q"), IsActive: q.boolean("is_active"), OrgID: q.uuid("org_id"),
		Sort: ports.UserSort(c.QueryParam("sort"))}
	page := q.page()
	if err := q.err(); err != nil {
		return err
	}
	users, next, err := h.dir.List(c.Request().Context(), principal(c), f, page)
	if err != nil {
		return err
	}
	out := make([]userResponse, len(users))
	for i := range users {
		out[i] = newUserResponse(&users[i])
	}
	return list(c, out, next)
}

func (h *directoryHandlers) create(c echo.Context) error {
	var req createUserRequest
	if err := bindJSON(c, h.bodyLimit, &req); err != nil {
		return err
	}
	u, err := h.dir.Create(c.Request().Context(), principal(c), application.CreateUserInput{
		RegisterInput: application.RegisterInput{Email: req.Email, Username: req.Username, Password: req.Password,
			FirstName: req.FirstName, LastName: req.LastName},
		IsSystemAdmin: req.IsSystemAdmin,
	})
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/users/"+u.ID().String())
	return c.JSON(http.StatusCreated, newUserResponse(u))
}

func (h *directoryHandlers) get(c echo.Context) error {
	id, err := pathID(c, "id", domain.ErrUserNotFound)
	if err != nil {
		return err
	}
	u, err := h.dir.Get(c.Request().Context(), principal(c), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newUserResponse(u))
}

func (h *directoryHandlers) update(c echo.Context) error {
	id, err := pathID(c, "id", domain.ErrUserNotFound)
	if err != nil {
		return err
	}
	var req userPatchRequest
	if err := bindJSON(c, h.bodyLimit, &req); err != nil {
		return err
	}
	u, err := h.dir.Update(c.Request().Context(), principal(c), id, application.UserPatch(req))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newUserResponse(u))
}

func (h *directoryHandlers) erase(c echo.Context) error {
	id, err := pathID(c, "id", domain.ErrUserNotFound)
	if err != nil {
		return err
	}
	if err := h.dir.Erase(c.Request().Context(), principal(c), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *directoryHandlers) unlock(c echo.Context) error {
	id, err := pathID(c, "id", domain.ErrUserNotFound)
	if err != nil {
		return err
	}
	if _, err := h.dir.Unlock(c.Request().Context(), principal(c), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *directoryHandlers) revokeSessions(c echo.Context) error {
	id, err := pathID(c, "id", domain.ErrUserNotFound)
	if err != nil {
		return err
	}
	if err := h.dir.RevokeSessions(c.Request().Context(), principal(c), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *directoryHandlers) organizations(c echo.Context) error {
	id, err := pathID(c, "id", domain.ErrUserNotFound)
	if err != nil {
		return err
	}
	orgs, err := h.dir.Organizations(c.Request().Context(), principal(c), id)
	if err != nil {
		return err
	}
	out := make([]userOrgResponse, len(orgs))
	for i, o := range orgs {
		out[i] = userOrgResponse{orgResponse: newOrgResponse(o.Org), Role: string(o.Role)}
	}
	return list(c, out, "")
}

func (h *directoryHandlers) eraseMe(c echo.Context) error {
	var req passwordRequest
	if err := bindJSON(c, h.bodyLimit, &req); err != nil {
		return err
	}
	if err := h.dir.EraseMe(c.Request().Context(), principal(c), req.Password); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *directoryHandlers) export(c echo.Context) error {
	ex, err := h.dir.Export(c.Request().Context(), principal(c))
	if err != nil {
		return err
	}
	out := exportResponse{User: newUserResponse(&ex.User), Sessions: []sessionExport{}, Memberships: []memberResponse{},
		Grants: []grantResponse{}, AuditEvents: []auditEventResponse{}, Passkeys: []passkeyExport{},
		PersonalTokens: []personalTokenExport{}, Invitations: []invitationResponse{}}
	for _, s := range ex.Sessions {
		out.Sessions = append(out.Sessions, sessionExport{ID: s.ID.String(), CreatedAt: s.CreatedAt, LastUsedAt: s.LastUsedAt,
			ExpiresAt: s.ExpiresAt, IP: s.IP, UserAgent: s.UserAgent, RevokedAt: s.RevokedAt})
	}
	for _, m := range ex.Memberships {
		out.Memberships = append(out.Memberships, newMemberResponse(m))
	}
	for _, g := range ex.Grants {
		out.Grants = append(out.Grants, newGrantResponse(g))
	}
	for _, e := range ex.AuditEvents {
		out.AuditEvents = append(out.AuditEvents, newAuditEventResponse(e))
	}
	for _, p := range ex.Passkeys {
		out.Passkeys = append(out.Passkeys, passkeyExport{ID: p.ID.String(), Name: p.Name, CreatedAt: p.CreatedAt,
			LastUsedAt: p.LastUsedAt, BackedUp: p.BackedUp, Transports: nonNil(p.Transports), AAGUID: hex.EncodeToString(p.AAGUID)})
	}
	now := time.Now()
	for _, t := range ex.PersonalTokens {
		out.PersonalTokens = append(out.PersonalTokens, personalTokenExport{
			personalTokenResponse: toPersonalTokenResponse(t, now), RevokedAt: t.RevokedAt})
	}
	for _, inv := range ex.Invitations {
		out.Invitations = append(out.Invitations, newInvitationResponse(inv, now))
	}
	c.Response().Header().Set(echo.HeaderContentDisposition, `attachment; filename="ums-export.json"`)
	return c.JSON(http.StatusOK, out)
}

func (h *directoryHandlers) auditEvents(c echo.Context) error {
	q := &queryParams{c: c}
	f := ports.AuditFilter{ActorID: q.uuid("actor_id"), Action: c.QueryParam("action"), OrgID: q.uuid("org_id"),
		TargetID: c.QueryParam("target_id"), Since: q.time("since"), Until: q.time("until")}
	page := q.page()
	if err := q.err(); err != nil {
		return err
	}
	events, next, err := h.dir.AuditEvents(c.Request().Context(), principal(c), f, page)
	if err != nil {
		return err
	}
	out := make([]auditEventResponse, len(events))
	for i, e := range events {
		out[i] = newAuditEventResponse(e)
	}
	return list(c, out, next)
}

package http

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/domain"
)

type invitationHandlers struct {
	invitations *application.Invitations
	bodyLimit   int64
}

type invitationRequest struct {
	Email string `json:"email"`
	Role  string `json:"role"`
	// ExpiresIn is in seconds.
	ExpiresIn *int64 `json:"expires_in"`
}

// acceptInvitationRequest is an acceptance: the token alone with a
// person's bearer, or the token and the new account's fields without.
type acceptInvitationRequest struct {
	Token     string  `json:"token"`
	Username  *string `json:"username"`
	Password  *string `json:"password"`
	FirstName *string `json:"first_name"`
	LastName  *string `json:"last_name"`
}

type invitationResponse struct {
	ID         string     `json:"id"`
	OrgID      string     `json:"org_id"`
	Email      string     `json:"email"`
	Role       string     `json:"role"`
	Status     string     `json:"status"`
	InvitedBy  *string    `json:"invited_by"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	LastSentAt time.Time  `json:"last_sent_at"`
	AcceptedAt *time.Time `json:"accepted_at,omitempty"`
	AcceptedBy *string    `json:"accepted_by,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// newInvitationResponse shows an invitation, never its token.
func newInvitationResponse(inv domain.Invitation, now time.Time) invitationResponse {
	r := invitationResponse{ID: inv.ID.String(), OrgID: inv.OrgID.String(), Email: inv.Email.String(),
		Role: string(inv.Role), Status: string(inv.Status(now)), CreatedAt: inv.CreatedAt, ExpiresAt: inv.ExpiresAt,
		LastSentAt: inv.LastSentAt, AcceptedAt: inv.AcceptedAt, RevokedAt: inv.RevokedAt}
	if inv.InvitedBy != nil {
		s := inv.InvitedBy.String()
		r.InvitedBy = &s
	}
	if inv.AcceptedBy != nil {
		s := inv.AcceptedBy.String()
		r.AcceptedBy = &s
	}
	return r
}

type acceptanceResponse struct {
	Registered bool           `json:"registered"`
	Membership memberResponse `json:"membership"`
	User       *userResponse  `json:"user,omitempty"`
}

// errSignInOrRegister answers an acceptance with neither a bearer nor the
// fields of a new account.
var errSignInOrRegister = &domain.Error{Kind: domain.KindUnauthorized, Code: "missing_token",
	Message: "sign in (Authorization: Bearer) to accept with your account, or send username and password to create one"}

func (h *invitationHandlers) create(c echo.Context) error {
	id, err := pathID(c, "id", domain.ErrOrgNotFound)
	if err != nil {
		return err
	}
	var req invitationRequest
	if err := bindJSON(c, h.bodyLimit, &req); err != nil {
		return err
	}
	in := application.InviteInput{Email: req.Email, Role: req.Role}
	if req.ExpiresIn != nil {
		// Seconds beyond the maximum are refused by the rule; capping
		// them first keeps the conversion from overflowing.
		secs := min(*req.ExpiresIn, int64(domain.MaxInvitationTTL/time.Second)+1)
		d := time.Duration(secs) * time.Second
		in.ExpiresIn = &d
	}
	inv, err := h.invitations.Invite(c.Request().Context(), principal(c), id, in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, newInvitationResponse(inv, time.Now()))
}

func (h *invitationHandlers) list(c echo.Context) error {
	id, err := pathID(c, "id", domain.ErrOrgNotFound)
	if err != nil {
		return err
	}
	q := &queryParams{c: c}
	page := q.page()
	if err := q.err(); err != nil {
		return err
	}
	invs, next, err := h.invitations.List(c.Request().Context(), principal(c), id, page)
	if err != nil {
		return err
	}
	now := time.Now()
	out := make([]invitationResponse, len(invs))
	for i, inv := range invs {
		out[i] = newInvitationResponse(inv, now)
	}
	return list(c, out, next)
}

func (h *invitationHandlers) resend(c echo.Context) error {
	id, err := pathID(c, "id", domain.ErrOrgNotFound)
	if err != nil {
		return err
	}
	iid, err := pathID(c, "invitation_id", domain.ErrInvitationNotFound)
	if err != nil {
		return err
	}
	inv, err := h.invitations.Resend(c.Request().Context(), principal(c), id, iid)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newInvitationResponse(inv, time.Now()))
}

func (h *invitationHandlers) revoke(c echo.Context) error {
	id, err := pathID(c, "id", domain.ErrOrgNotFound)
	if err != nil {
		return err
	}
	iid, err := pathID(c, "invitation_id", domain.ErrInvitationNotFound)
	if err != nil {
		return err
	}
	if err := h.invitations.Revoke(c.Request().Context(), principal(c), id, iid); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// accept joins with the signed-in account (bearer) or registers one
// through the invitation (no bearer, the account's fields).
func (h *invitationHandlers) accept(c echo.Context) error {
	var req acceptInvitationRequest
	if err := bindJSON(c, h.bodyLimit, &req); err != nil {
		return err
	}
	if strings.TrimSpace(req.Token) == "" {
		return domain.Invalid(domain.FieldError{Field: "token", Code: "required", Message: "is required"})
	}
	_, signedIn := c.Get(principalKey).(domain.Principal)
	var extra []domain.FieldError
	for _, f := range []struct {
		name string
		v    *string
	}{{"username", req.Username}, {"password", req.Password}, {"first_name", req.FirstName}, {"last_name", req.LastName}} {
		if f.v != nil {
			extra = append(extra, domain.FieldError{Field: f.name, Code: "not_allowed",
				Message: "must be left out when signed in: the signed-in account accepts"})
		}
	}
	ctx := c.Request().Context()
	switch {
	case signedIn && len(extra) > 0:
		return domain.Invalid(extra...)
	case signedIn:
		m, err := h.invitations.Accept(ctx, principal(c), req.Token)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, acceptanceResponse{Membership: newMemberResponse(m)})
	case len(extra) == 0:
		return errSignInOrRegister
	}
	u, m, err := h.invitations.Register(ctx, req.Token, application.RegisterInput{Username: orEmpty(req.Username),
		Password: orEmpty(req.Password), FirstName: orEmpty(req.FirstName), LastName: orEmpty(req.LastName)})
	if err != nil {
		return err
	}
	ur := newUserResponse(u)
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/users/"+u.ID().String())
	return c.JSON(http.StatusCreated, acceptanceResponse{Registered: true, Membership: newMemberResponse(m), User: &ur})
}

// optionalBearer runs auth when the request carries an Authorization
// header and lets it through anonymous otherwise; the handler tells the
// two apart by the principal.
func optionalBearer(auth echo.MiddlewareFunc) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		authed := auth(next)
		return func(c echo.Context) error {
			if c.Request().Header.Get(echo.HeaderAuthorization) == "" {
				return next(c)
			}
			return authed(c)
		}
	}
}

func orEmpty(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

package web

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// invitationRow is one open invitation on an organization's page.
type invitationRow struct {
	ID        string
	Email     string
	Role      string
	Expired   bool
	ExpiresAt time.Time
	SentAt    time.Time
}

// inviteLives are the choices of the invitation form for how long the
// link works, in days; the API takes any life from an hour to 30 days.
var inviteLives = []int{1, 7, 14, 30}

// registerOrgInvitations adds the invitation forms of an organization's
// page: invite, resend, revoke (org admins and system admins, as the use
// cases decide).
func (p *Pages) registerOrgInvitations(a *echo.Group) {
	if p.d.Invitations == nil {
		return
	}
	a.POST("/orgs/:id/invitations", p.adminOrgInvite)
	a.POST("/orgs/:id/invitations/:invitation_id/resend", p.adminOrgResendInvitation)
	a.POST("/orgs/:id/invitations/:invitation_id/revoke", p.adminOrgRevokeInvitation)
}

// orgInvitations are the open invitations the page shows to those who
// manage the organization (at most 100, the oldest first; the API pages
// through all of them).
func (p *Pages) orgInvitations(ctx context.Context, pr domain.Principal, orgID uuid.UUID) ([]invitationRow, error) {
	if p.d.Invitations == nil {
		return nil, nil
	}
	invs, _, err := p.d.Invitations.List(ctx, pr, orgID, ports.Page{Limit: 100})
	if err != nil {
		return nil, err
	}
	now := time.Now()
	rows := make([]invitationRow, len(invs))
	for i, inv := range invs {
		rows[i] = invitationRow{ID: inv.ID.String(), Email: inv.Email.String(), Role: string(inv.Role),
			Expired: inv.Status(now) == domain.InvitationExpired, ExpiresAt: inv.ExpiresAt, SentAt: inv.LastSentAt}
	}
	return rows, nil
}

// adminOrgInvite invites an address with a role; the link's life is one
// of inviteLives, in days.
func (p *Pages) adminOrgInvite(c echo.Context) error {
	email, role, days := c.FormValue("email"), c.FormValue("role"), c.FormValue("expires_in_days")
	form := map[string]string{"invite.email": email, "invite.role": role, "invite.days": days}
	inputs := map[string]string{"email": "invite.email", "role": "invite.role", "expires_in": "invite.days"}
	return p.orgAction(c, true, "invite_sent", inputs, form, func(orgID uuid.UUID) error {
		in := application.InviteInput{Email: email, Role: role}
		if days != "" {
			n, err := strconv.Atoi(days)
			if err != nil {
				return domain.Invalid(domain.FieldError{Field: "expires_in", Message: "choose how long the link works"})
			}
			d := time.Duration(min(max(n, 0), 365)) * 24 * time.Hour
			in.ExpiresIn = &d
		}
		_, err := p.d.Invitations.Invite(c.Request().Context(), principal(c), orgID, in)
		switch {
		case errors.Is(err, domain.ErrAlreadyMember):
			return domain.Invalid(domain.FieldError{Field: "email", Message: "belongs to a member of this organization already"})
		case errors.Is(err, domain.ErrInvitationPending):
			return domain.Invalid(domain.FieldError{Field: "email",
				Message: "has a pending invitation already: resend or revoke it below"})
		}
		return err
	})
}

func (p *Pages) adminOrgResendInvitation(c echo.Context) error {
	iid, err := adminID(c, "invitation_id", domain.ErrInvitationNotFound)
	if err != nil {
		return err
	}
	return p.orgAction(c, true, "invite_resent", nil, nil, func(orgID uuid.UUID) error {
		_, err := p.d.Invitations.Resend(c.Request().Context(), principal(c), orgID, iid)
		return err
	})
}

func (p *Pages) adminOrgRevokeInvitation(c echo.Context) error {
	iid, err := adminID(c, "invitation_id", domain.ErrInvitationNotFound)
	if err != nil {
		return err
	}
	return p.orgAction(c, true, "invite_revoked", nil, nil, func(orgID uuid.UUID) error {
		return p.d.Invitations.Revoke(c.Request().Context(), principal(c), orgID, iid)
	})
}

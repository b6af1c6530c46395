package application

import (
	"context"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
)

// ErrAdminRequired refuses a system administrator's action to anyone else.
var ErrAdminRequired = &domain.Error{Kind: domain.KindForbidden, Code: "system_admin_required",
	Message: "only a system administrator may do this"}

// RequirePasswordChange makes a user change the password at the next
// login. Their sessions are revoked, so the demand holds at once rather
// than from the next token refresh: an administrator asks for this when an
// account may be compromised.
func (d *Directory) RequirePasswordChange(ctx context.Context, p domain.Principal, userID uuid.UUID) error {
	c, err := d.policy.RequireSystemAdmin(ctx, p)
	if err != nil {
		return err
	}
	a := d.auth
	now := a.Clock.Now()
	var revoked []uuid.UUID
	err = a.Tx.WithinTx(ctx, func(ctx context.Context) error {
		u, err := a.Users.ByID(ctx, userID)
		if err != nil {
			return err
		}
		u.MustChangePassword, u.UpdatedAt = true, now
		if err := a.Users.Update(ctx, u); err != nil {
			return err
		}
		if revoked, err = a.revokeUserSessions(ctx, u.ID, uuid.Nil, domain.RevokeByAdmin, now); err != nil {
			return err
		}
		ev := domain.NewAuditEvent(ctx, a.IDs.NewID(), now, domain.ActionPasswordChangeRequired, domain.OutcomeSuccess)
		ev.ActorID, ev.TargetType, ev.TargetID = &c.User.ID, "user", u.ID.String()
		ev.Details = map[string]any{"sessions_revoked": len(revoked)}
		return a.Audit.Record(ctx, ev)
	})
	if err != nil {
		return err
	}
	return a.announce(ctx, revoked, now)
}

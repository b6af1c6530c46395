package application

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
)

// registerInvited signs up the invitee of invitationID under the sign-up's
// rules, with in.Email (the invitation's) counted as verified: the link
// that reached that mailbox proves it, so no verification mail is sent.
// then runs in the same transaction as the account's creation (it spends
// the invitation and adds the membership); if it fails, no account is
// left behind. The password is hashed before the transaction starts.
func (r *Registration) registerInvited(ctx context.Context, in RegisterInput, invitationID uuid.UUID,
	then func(ctx context.Context, u *domain.User) error,
) (*domain.User, error) {
	p, err := r.validate(in)
	if err != nil {
		return nil, err
	}
	hash, err := r.hasher.Hash(ctx, in.Password)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	p.ID, p.PasswordHash, p.Now, p.PasswordMaxAge = r.ids.NewID(), hash, r.clock.Now(), r.cfg.MaxAge
	p.EmailVerified = true
	u := domain.NewUser(p)
	err = r.tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := r.users.Create(ctx, u); err != nil {
			return err
		}
		ev := domain.NewAuditEvent(ctx, r.ids.NewID(), p.Now, domain.ActionUserRegistered, domain.OutcomeSuccess)
		ev.ActorID, ev.TargetType, ev.TargetID = ptr(u.ID()), "user", u.ID().String()
		ev.Details = map[string]any{"invitation_id": invitationID.String()}
		if err := r.audit.Record(ctx, ev); err != nil {
			return err
		}
		return then(ctx, u)
	})
	if err != nil {
		return nil, fmt.Errorf("register invitee: %w", err)
	}
	return u, nil
}

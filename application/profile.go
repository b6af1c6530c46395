package application

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// Profiles is the signed-in user's own account: reading it and changing
// the fields a user may change about themselves.
type Profiles struct {
	users ports.UserRepository
	tx    ports.TxManager
	audit ports.AuditLog
	clock ports.Clock
	ids   ports.IDGenerator
}

// NewProfiles wires the self-service profile use case.
func NewProfiles(users ports.UserRepository, tx ports.TxManager, audit ports.AuditLog, clock ports.Clock, ids ports.IDGenerator) *Profiles {
	return &Profiles{users: users, tx: tx, audit: audit, clock: clock, ids: ids}
}

// ProfileInput holds the profile fields to change; nil leaves one as is.
type ProfileInput struct {
	FirstName *string
	LastName  *string
}

// Me returns the caller's account. A caller whose account is gone holds a
// token for nobody: domain.ErrInvalidToken.
func (p *Profiles) Me(ctx context.Context, userID uuid.UUID) (*domain.User, error) {
	u, err := p.users.ByID(ctx, userID)
	if errors.Is(err, domain.ErrUserNotFound) {
		return nil, domain.ErrInvalidToken
	}
	return u, err
}

// Update changes the caller's profile fields, audited with the names (not
// the values) of the fields changed. Only the names are written, so a
// concurrent change of anything else about the account stays.
func (p *Profiles) Update(ctx context.Context, userID uuid.UUID, in ProfileInput) (*domain.User, error) {
	var out *domain.User
	err := p.tx.WithinTx(ctx, func(ctx context.Context) error {
		u, err := p.Me(ctx, userID)
		if err != nil {
			return err
		}
		now := p.clock.Now()
		ch, err := u.ChangeProfile(in.FirstName, in.LastName, now)
		if err != nil {
			return err
		}
		out = u
		if ch.Empty() {
			return nil
		}
		if err := p.users.SetProfile(ctx, u.ID(), ch); err != nil {
			return err
		}
		ev := domain.NewAuditEvent(ctx, p.ids.NewID(), now, domain.ActionProfileUpdated, domain.OutcomeSuccess)
		ev.ActorID, ev.TargetType, ev.TargetID = ptr(u.ID()), "user", u.ID().String()
		ev.Details = map[string]any{"fields": ch.Fields}
		return p.audit.Record(ctx, ev)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

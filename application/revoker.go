package application

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// Revoker ends sessions: in the transaction of the change that ends them,
// then announced to every instance once that change committed.
type Revoker struct {
	sessions ports.SessionRepository
	tx       ports.TxManager
	audit    ports.AuditLog
	clock    ports.Clock
	ids      ports.IDGenerator
	list     *RevocationList
	bus      ports.RevocationBus
	// tokens, when set, are personal access tokens, which end with all
	// of their owner's sessions.
	tokens ports.PersonalTokenRepository
}

// EndPersonalTokensToo makes every "end all of the user's sessions" also
// revoke the user's personal access tokens: logout-all, deactivation,
// erasure, a password reset, an administrator's revocation. It is set
// once, while wiring.
func (r *Revoker) EndPersonalTokensToo(tokens ports.PersonalTokenRepository) { r.tokens = tokens }

// endTokens revokes the user's personal access tokens, when wired.
func (r *Revoker) endTokens(ctx context.Context, userID uuid.UUID, now time.Time, reason string) error {
	if r.tokens == nil {
		return nil
	}
	_, err := r.tokens.RevokeAllForUser(ctx, userID, now, reason)
	return err
}

// NewRevoker wires session revocation.
func NewRevoker(sessions ports.SessionRepository, tx ports.TxManager, audit ports.AuditLog, clock ports.Clock,
	ids ports.IDGenerator, list *RevocationList, bus ports.RevocationBus,
) *Revoker {
	return &Revoker{sessions: sessions, tx: tx, audit: audit, clock: clock, ids: ids, list: list, bus: bus}
}

// EndUserSessions revokes every active session of the user but keep
// (uuid.Nil keeps none) in the transaction in ctx, and returns their ids
// for Announce after commit.
func (r *Revoker) EndUserSessions(ctx context.Context, userID, keep uuid.UUID, reason string, now time.Time) ([]uuid.UUID, error) {
	if keep == uuid.Nil {
		// Tokens first: that takes the owner's lock before any session
		// row is touched (see endAll).
		if err := r.endTokens(ctx, userID, now, reason); err != nil {
			return nil, err
		}
		return r.sessions.RevokeAllForUser(ctx, userID, now, reason)
	}
	active, err := r.sessions.ActiveByUser(ctx, userID, now)
	if err != nil {
		return nil, err
	}
	var ids []uuid.UUID
	for _, s := range active {
		if s.ID == keep {
			continue
		}
		if _, err := r.sessions.Revoke(ctx, s.ID, now, reason); err != nil {
			return nil, err
		}
		ids = append(ids, s.ID)
	}
	return ids, nil
}

// Announce makes a committed revocation hold on this instance at once and
// on the others through the bus. A failed announcement is an error the
// client sees (and may retry) unless the poll under the bus will carry it:
// success would otherwise let the session's tokens live on elsewhere.
func (r *Revoker) Announce(ctx context.Context, ids []uuid.UUID, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	rs := make([]domain.RevokedSession, len(ids))
	for i, id := range ids {
		rs[i] = domain.RevokedSession{SessionID: id, RevokedAt: now}
	}
	r.list.Revoked(rs)
	if err := r.bus.Publish(ctx, rs); err != nil && !r.list.Polling() {
		return domain.Unavailable("revocation_not_propagated",
			"the session was revoked but not every instance was told yet; retry", time.Second)
	}
	return nil
}

// EndSession revokes one session of the user for reason, audited and
// announced.
func (r *Revoker) EndSession(ctx context.Context, userID, sessionID uuid.UUID, reason string) error {
	return r.endSessions(ctx, userID, []uuid.UUID{sessionID}, reason, domain.ActionSessionRevoked, map[string]any{"reason": reason})
}

// endSessions revokes the given sessions of one user, audits each in the
// same transaction and announces them. The announcement is made even when
// they were already revoked, so a retried logout repairs one that was
// committed but not announced.
func (r *Revoker) endSessions(ctx context.Context, userID uuid.UUID, ids []uuid.UUID, reason, action string, details map[string]any) error {
	now := r.clock.Now()
	err := r.tx.WithinTx(ctx, func(ctx context.Context) error {
		for _, id := range ids {
			if _, err := r.sessions.Revoke(ctx, id, now, reason); err != nil {
				return err
			}
			outcome := domain.OutcomeSuccess
			if action == domain.ActionRefreshReused {
				outcome = domain.OutcomeFailure
			}
			ev := domain.NewAuditEvent(ctx, r.ids.NewID(), now, action, outcome)
			ev.ActorID, ev.TargetType, ev.TargetID, ev.Details = &userID, "session", id.String(), details
			if err := r.audit.Record(ctx, ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	return r.Announce(ctx, ids, now)
}

// endAll revokes every session of the user, audited as action by the user.
func (r *Revoker) endAll(ctx context.Context, userID uuid.UUID, reason, action string) error {
	now := r.clock.Now()
	var ids []uuid.UUID
	err := r.tx.WithinTx(ctx, func(ctx context.Context) error {
		// Tokens first: that takes the owner's lock before any session row
		// is touched, the order every other writer of both keeps.
		if err := r.endTokens(ctx, userID, now, reason); err != nil {
			return err
		}
		var err error
		if ids, err = r.sessions.RevokeAllForUser(ctx, userID, now, reason); err != nil {
			return err
		}
		ev := domain.NewAuditEvent(ctx, r.ids.NewID(), now, action, domain.OutcomeSuccess)
		ev.ActorID, ev.TargetType, ev.TargetID = &userID, "user", userID.String()
		ev.Details = map[string]any{"sessions_revoked": len(ids)}
		return r.audit.Record(ctx, ev)
	})
	if err != nil {
		return fmt.Errorf("revoke sessions: %w", err)
	}
	return r.Announce(ctx, ids, now)
}

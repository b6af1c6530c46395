package application

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
)

// SessionView is a session as its owner sees it.
type SessionView struct {
	domain.Session
	Current bool
}

// Logout revokes the caller's current session.
func (a *Auth) Logout(ctx context.Context, p domain.Principal) error {
	return a.revoke(ctx, p.UserID, []uuid.UUID{p.SessionID}, domain.RevokeLogout, domain.ActionLogout, nil)
}

// LogoutAll revokes every session of the caller, the current one included.
func (a *Auth) LogoutAll(ctx context.Context, p domain.Principal) error {
	return a.revokeAll(ctx, p.UserID, domain.RevokeLogoutAll, domain.ActionLogoutAll)
}

// Sessions lists the caller's active sessions, marking the current one.
func (a *Auth) Sessions(ctx context.Context, p domain.Principal) ([]SessionView, error) {
	list, err := a.SessionStore.ActiveByUser(ctx, p.UserID, a.Clock.Now())
	if err != nil {
		return nil, err
	}
	out := make([]SessionView, len(list))
	for i, s := range list {
		out[i] = SessionView{Session: s, Current: s.ID == p.SessionID}
	}
	return out, nil
}

// RevokeSession ends one of the caller's sessions; another user's session
// is domain.ErrSessionNotFound, as if it did not exist.
func (a *Auth) RevokeSession(ctx context.Context, p domain.Principal, id uuid.UUID) error {
	s, err := a.SessionStore.ByID(ctx, id)
	if err != nil {
		return err
	}
	if s.UserID != p.UserID || !s.Active(a.Clock.Now()) {
		return domain.ErrSessionNotFound
	}
	return a.revoke(ctx, p.UserID, []uuid.UUID{id}, domain.RevokeByUser, domain.ActionSessionRevoked, nil)
}

// revoke ends sessions of one user, audits it in the same transaction and
// then announces it to every instance. The announcement is made even when
// the sessions were already revoked, so a retried logout repairs one that
// was committed but not announced.
func (a *Auth) revoke(ctx context.Context, userID uuid.UUID, ids []uuid.UUID, reason, action string, details map[string]any) error {
	now := a.Clock.Now()
	err := a.Tx.WithinTx(ctx, func(ctx context.Context) error {
		for _, id := range ids {
			if _, err := a.SessionStore.Revoke(ctx, id, now, reason); err != nil {
				return err
			}
			ev := domain.NewAuditEvent(ctx, a.IDs.NewID(), now, action, auditOutcome(action))
			ev.ActorID, ev.TargetType, ev.TargetID = &userID, "session", id.String()
			ev.Details = details
			if err := a.Audit.Record(ctx, ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	return a.announce(ctx, ids, now)
}

func (a *Auth) revokeAll(ctx context.Context, userID uuid.UUID, reason, action string) error {
	now := a.Clock.Now()
	var ids []uuid.UUID
	err := a.Tx.WithinTx(ctx, func(ctx context.Context) error {
		var err error
		if ids, err = a.SessionStore.RevokeAllForUser(ctx, userID, now, reason); err != nil {
			return err
		}
		ev := domain.NewAuditEvent(ctx, a.IDs.NewID(), now, action, domain.OutcomeSuccess)
		ev.ActorID, ev.TargetType, ev.TargetID = &userID, "user", userID.String()
		ev.Details = map[string]any{"sessions_revoked": len(ids)}
		return a.Audit.Record(ctx, ev)
	})
	if err != nil {
		return fmt.Errorf("revoke sessions: %w", err)
	}
	return a.announce(ctx, ids, now)
}

// announce makes a committed revocation hold on this instance at once and
// on the others through the bus. A failed announcement is an error the
// client sees (and may retry): returning success would let the session's
// tokens live on elsewhere.
func (a *Auth) announce(ctx context.Context, ids []uuid.UUID, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	rs := make([]domain.RevokedSession, len(ids))
	for i, id := range ids {
		rs[i] = domain.RevokedSession{SessionID: id, RevokedAt: now}
	}
	a.Revoked.Revoked(rs)
	if err := a.Revocation.Publish(ctx, rs); err != nil && !a.Revoked.Polling() {
		// Without the poll as a safety net, success would let the
		// session's tokens live on elsewhere.
		return domain.Unavailable("revocation_not_propagated",
			"the session was revoked but not every instance was told yet; retry", time.Second)
	}
	return nil
}

func auditOutcome(action string) domain.Outcome {
	if action == domain.ActionRefreshReused {
		return domain.OutcomeFailure
	}
	return domain.OutcomeSuccess
}

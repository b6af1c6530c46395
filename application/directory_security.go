package application

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
)

// Unlock lifts every login lock on the user: the throttles' counters and
// a lock held on the account itself. It reports whether the account
// itself was locked (the throttles keep no state it could report).
func (d *Directory) Unlock(ctx context.Context, p domain.Principal, id uuid.UUID) (bool, error) {
	c, err := d.policy.RequireSystemAdmin(ctx, p)
	if err != nil {
		return false, err
	}
	u, err := d.users.ByID(ctx, id)
	if err != nil {
		return false, err
	}
	if err := d.creds.ForgetFailures(ctx, u); err != nil {
		return false, err
	}
	now := d.clock.Now()
	_, wasLocked := u.Locked(now)
	err = d.tx.WithinTx(ctx, func(ctx context.Context) error {
		if u.Unlock(now) {
			if err := d.users.Unlock(ctx, id, now); err != nil {
				return err
			}
		}
		return recordAudit(ctx, d.audit, d.ids, d.clock, c.ID(), domain.ActionUserUnlocked, "user", id.String(), nil, nil)
	})
	return wasLocked, err
}

// RevokeSessions ends every session of the user.
func (d *Directory) RevokeSessions(ctx context.Context, p domain.Principal, id uuid.UUID) error {
	c, err := d.policy.RequireSystemAdmin(ctx, p)
	if err != nil {
		return err
	}
	return d.endingSessions(ctx, c.ID(), id, domain.ActionUserSessionsRevoked, func(ctx context.Context, _ time.Time) error {
		_, err := d.users.ByID(ctx, id)
		return err
	})
}

// RequirePasswordChange makes a user change the password at the next
// login. Their sessions are revoked, so the demand holds at once rather
// than from the next token refresh: an administrator asks for this when an
// account may be compromised.
func (d *Directory) RequirePasswordChange(ctx context.Context, p domain.Principal, userID uuid.UUID) error {
	c, err := d.policy.RequireSystemAdmin(ctx, p)
	if err != nil {
		return err
	}
	return d.endingSessions(ctx, c.ID(), userID, domain.ActionPasswordChangeRequired, func(ctx context.Context, now time.Time) error {
		return d.users.RequirePasswordChange(ctx, userID, now)
	})
}

// endingSessions runs change in a transaction that also ends every
// session of the user and records action by actor, then announces the
// revocations once committed.
func (d *Directory) endingSessions(ctx context.Context, actor, userID uuid.UUID, action string,
	change func(ctx context.Context, now time.Time) error,
) error {
	now := d.clock.Now()
	var revoked []uuid.UUID
	err := d.tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := change(ctx, now); err != nil {
			return err
		}
		var err error
		if revoked, err = d.revoker.EndUserSessions(ctx, userID, uuid.Nil, domain.RevokeByAdmin, now); err != nil {
			return err
		}
		return recordAudit(ctx, d.audit, d.ids, d.clock, actor, action, "user", userID.String(), nil,
			map[string]any{"sessions_revoked": len(revoked)})
	})
	if err != nil {
		return err
	}
	return d.revoker.Announce(ctx, revoked, now)
}

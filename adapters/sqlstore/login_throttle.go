package sqlstore

import (
	"context"
	"database/sql"
	"sync/atomic"
	"time"

	"github.com/uptrace/bun"

	"github.com/ums-project/ums/ports"
)

// throttlePruneEvery is how many Reserve calls of one instance pass between
// deletions of stale rows.
const throttlePruneEvery = 1000

type loginAttemptRow struct {
	bun.BaseModel `bun:"table:login_attempts"`

	Identifier string `bun:"identifier,pk"`
	// Failures counts the reservations in flight as well as the failures
	// of the window.
	Failures        int        `bun:"failures"`
	WindowStartedAt time.Time  `bun:"window_started_at"`
	LockedUntil     *time.Time `bun:"locked_until"`
}

// LoginThrottle is a ports.LoginThrottle on the login_attempts table,
// shared by every instance on one database. Reserve, Release and Fail read
// and write a key's row in a transaction of their own that holds the row's
// lock, never the caller's: a throttle decision must commit even when the
// login around it rolls back. Reset joins the caller's transaction.
type LoginThrottle struct {
	db     *DB
	policy ports.ThrottlePolicy
	calls  atomic.Uint64
}

var _ ports.LoginThrottle = (*LoginThrottle)(nil)

// NewLoginThrottle returns a LoginThrottle on db following p.
func NewLoginThrottle(db *DB, p ports.ThrottlePolicy) *LoginThrottle {
	return &LoginThrottle{db: db, policy: p}
}

// Reserve implements ports.LoginThrottle.
func (l *LoginThrottle) Reserve(ctx context.Context, key string, now time.Time) (bool, time.Duration, error) {
	now = now.UTC()
	if l.calls.Add(1)%throttlePruneEvery == 0 {
		// Best effort: the next prune retries.
		_ = l.prune(ctx, now)
	}
	if fresh, err := l.reserveFresh(ctx, key, now); err != nil || fresh {
		return fresh, 0, err
	}
	var ok bool
	var retry time.Duration
	err := l.update(ctx, key, now, func(r *loginAttemptRow) {
		if r.LockedUntil != nil && r.LockedUntil.After(now) {
			retry = r.LockedUntil.Sub(now)
			return
		}
		if l.stale(r, now) {
			r.Failures, r.WindowStartedAt, r.LockedUntil = 0, now, nil
		}
		if r.Failures >= l.policy.MaxFailures {
			// Attempts in flight fill the window; none has failed into a
			// lock yet, so the honest wait is the lock they may cause.
			retry = l.policy.Lockout
			return
		}
		r.Failures++
		ok = true
	})
	if err != nil {
		return false, 0, dbError("reserve login attempt", err)
	}
	return ok, retry, nil
}

// reserveFresh is Reserve for a key without a row, the common case (a
// success deletes the key's row): one insert of the row a reservation
// makes, in one statement and one commit instead of a transaction of
// three. It reports false, having written nothing, when the key has a
// row.
func (l *LoginThrottle) reserveFresh(ctx context.Context, key string, now time.Time) (bool, error) {
	var inserted []string
	var err error
	if l.db.Dialect == Postgres {
		var rows *sql.Rows
		// Never in the caller's transaction (see LoginThrottle).
		if rows, err = l.db.query(withoutTx(ctx), reserveFresh, key, now); err == nil {
			defer rows.Close()
			for rows.Next() {
				inserted = append(inserted, key)
			}
			err = rows.Err()
		}
	} else {
		row := &loginAttemptRow{Identifier: key, Failures: 1, WindowStartedAt: now}
		_, err = l.db.NewInsert().Model(row).On("CONFLICT (identifier) DO NOTHING").Returning("identifier").Exec(ctx, &inserted)
	}
	if err != nil {
		return false, dbError("reserve login attempt", err)
	}
	return len(inserted) == 1, nil
}

// reserveFresh is a first reservation on Postgres; see reserveFresh.
var reserveFresh = prepare(`INSERT INTO login_attempts (identifier, failures, window_started_at) VALUES (?, 1, ?)
	ON CONFLICT (identifier) DO NOTHING RETURNING identifier`)

// Release implements ports.LoginThrottle.
func (l *LoginThrottle) Release(ctx context.Context, key string) error {
	_, err := l.db.NewUpdate().Model((*loginAttemptRow)(nil)).
		Set("failures = failures - 1").
		Where("identifier = ?", key).Where("failures > 0").Exec(ctx)
	if err != nil {
		return dbError("release login attempt", err)
	}
	return nil
}

// Fail implements ports.LoginThrottle. A failure whose reservation is gone
// (the key was reset or pruned meanwhile) still counts once.
func (l *LoginThrottle) Fail(ctx context.Context, key string, now time.Time) (bool, error) {
	now = now.UTC()
	var locked bool
	err := l.update(ctx, key, now, func(r *loginAttemptRow) {
		if r.Failures < 1 {
			r.Failures = 1
		}
		if r.Failures >= l.policy.MaxFailures && r.LockedUntil == nil {
			until := now.Add(l.policy.Lockout)
			r.LockedUntil = &until
			locked = true
		}
	})
	if err != nil {
		return false, dbError("record failed login", err)
	}
	return locked, nil
}

// Reset implements ports.LoginThrottle, in the caller's transaction when
// there is one.
func (l *LoginThrottle) Reset(ctx context.Context, key string) error {
	if _, err := conn(ctx, l.db).NewDelete().Model((*loginAttemptRow)(nil)).Where("identifier = ?", key).Exec(ctx); err != nil {
		return dbError("reset login attempts", err)
	}
	return nil
}

// update runs change on key's row, created fresh at now when missing, in a
// transaction that holds the row until the change is written. The upsert
// takes the lock: on Postgres a DO UPDATE locks the row like SELECT … FOR
// UPDATE and, unlike INSERT … DO NOTHING followed by a SELECT, still finds
// a row another instance deleted in between; on SQLite the transaction is
// BEGIN IMMEDIATE (see openSQLite) and already excludes every other writer.
func (l *LoginThrottle) update(ctx context.Context, key string, now time.Time, change func(*loginAttemptRow)) error {
	return l.db.RunInTx(ctx, &sql.TxOptions{}, func(ctx context.Context, tx bun.Tx) error {
		row := &loginAttemptRow{Identifier: key, WindowStartedAt: now}
		err := tx.NewInsert().Model(row).
			On("CONFLICT (identifier) DO UPDATE").Set("identifier = EXCLUDED.identifier").
			Returning("*").Scan(ctx)
		if err != nil {
			return err
		}
		before := *row
		change(row)
		if row.Failures == before.Failures && row.WindowStartedAt.Equal(before.WindowStartedAt) &&
			equalTimes(row.LockedUntil, before.LockedUntil) {
			return nil
		}
		row.WindowStartedAt = row.WindowStartedAt.UTC()
		row.LockedUntil = utcPtr(row.LockedUntil)
		_, err = tx.NewUpdate().Model(row).WherePK().Column("failures", "window_started_at", "locked_until").Exec(ctx)
		return err
	})
}

// stale reports whether a Reserve at now starts the row afresh: its lock
// has ended, or, unlocked, its window has passed.
func (l *LoginThrottle) stale(r *loginAttemptRow, now time.Time) bool {
	if r.LockedUntil != nil {
		return !r.LockedUntil.After(now)
	}
	return !now.Before(r.WindowStartedAt.Add(l.policy.Window))
}

// prune deletes the stale rows, which a Reserve would start afresh anyway,
// so identifiers tried once and never again do not pile up.
func (l *LoginThrottle) prune(ctx context.Context, now time.Time) error {
	_, err := l.db.NewDelete().Model((*loginAttemptRow)(nil)).
		Where("((locked_until IS NULL AND window_started_at <= ?) OR locked_until <= ?)",
			now.Add(-l.policy.Window), now).
		Exec(ctx)
	return err
}

func equalTimes(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

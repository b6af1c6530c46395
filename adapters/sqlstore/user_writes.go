package sqlstore

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/ums-project/ums/domain"
)

// Each write below is one UPDATE of its own columns; a guard the use case
// needs is part of the statement's WHERE, so it is checked against the row
// as committed, not as read earlier (Postgres re-evaluates the condition on
// the newest row version after waiting for its lock).

// RecordLogin implements ports.UserRepository.
func (r *UserRepository) RecordLogin(ctx context.Context, id uuid.UUID, rec domain.LoginRecord, g domain.LoginGuard) error {
	return r.write(ctx, "record login", id, domain.ErrConcurrentChange, func(q *bun.UpdateQuery) *bun.UpdateQuery {
		q = q.Set("last_login_at = ?", rec.At.UTC()).
			Set("last_login_ip = ?", nullString(rec.IP)).
			Set("last_login_user_agent = ?", nullString(rec.UserAgent))
		if rec.Rehash != "" {
			q = q.Set("password_hash = ?", rec.Rehash)
		}
		return q.Where("is_active = ?", true).
			Where("password_hash = ?", g.PasswordHash).
			Where("mfa_enabled = ?", g.MFAEnabled)
	})
}

// SetPassword implements ports.UserRepository.
func (r *UserRepository) SetPassword(ctx context.Context, id uuid.UUID, ch domain.PasswordChange) error {
	return r.write(ctx, "set password", id, domain.ErrConcurrentChange, func(q *bun.UpdateQuery) *bun.UpdateQuery {
		return q.Set("password_hash = ?", ch.Hash).
			Set("password_changed_at = ?", ch.ChangedAt.UTC()).
			Set("password_expires_at = ?", utcPtr(ch.ExpiresAt)).
			Set("must_change_password = ?", false).
			Set("locked_until = NULL").
			Set("failed_login_count = 0").
			Set("updated_at = ?", ch.ChangedAt.UTC()).
			Where("password_hash = ?", ch.Previous)
	})
}

// RequirePasswordChange implements ports.UserRepository.
func (r *UserRepository) RequirePasswordChange(ctx context.Context, id uuid.UUID, at time.Time) error {
	return r.write(ctx, "require password change", id, nil, func(q *bun.UpdateQuery) *bun.UpdateQuery {
		return q.Set("must_change_password = ?", true).Set("updated_at = ?", at.UTC())
	})
}

// SetProfile implements ports.UserRepository.
func (r *UserRepository) SetProfile(ctx context.Context, id uuid.UUID, ch domain.ProfileChange) error {
	if ch.Empty() {
		return nil
	}
	return r.write(ctx, "set profile", id, nil, func(q *bun.UpdateQuery) *bun.UpdateQuery {
		if ch.FirstName != nil {
			q = q.Set("first_name = ?", *ch.FirstName)
		}
		if ch.LastName != nil {
			q = q.Set("last_name = ?", *ch.LastName)
		}
		return q.Set("updated_at = ?", ch.At.UTC())
	})
}

// SetAccess implements ports.UserRepository.
func (r *UserRepository) SetAccess(ctx context.Context, id uuid.UUID, ch domain.AccessChange) error {
	if ch.Empty() {
		return nil
	}
	return r.write(ctx, "set access", id, nil, func(q *bun.UpdateQuery) *bun.UpdateQuery {
		if ch.Active != nil {
			q = q.Set("is_active = ?", *ch.Active)
		}
		if ch.SystemAdmin != nil {
			q = q.Set("is_system_admin = ?", *ch.SystemAdmin)
		}
		if ch.EmailVerified != nil {
			q = q.Set("email_verified = ?", *ch.EmailVerified)
		}
		return q.Set("updated_at = ?", ch.At.UTC())
	})
}

// SetEmail implements ports.UserRepository.
func (r *UserRepository) SetEmail(ctx context.Context, id uuid.UUID, ch domain.EmailChange) error {
	return r.write(ctx, "set email", id, domain.ErrConcurrentChange, func(q *bun.UpdateQuery) *bun.UpdateQuery {
		return q.Set("email = ?", ch.Email.String()).
			Set("email_verified = ?", true).
			Set("updated_at = ?", ch.At.UTC()).
			Where("lower(email) = ?", ch.Previous.String())
	})
}

// SetPendingMFASecret implements ports.UserRepository.
func (r *UserRepository) SetPendingMFASecret(ctx context.Context, id uuid.UUID, sealed []byte, at time.Time) error {
	return r.write(ctx, "set mfa secret", id, domain.ErrMFAAlreadyEnabled, func(q *bun.UpdateQuery) *bun.UpdateQuery {
		return q.Set("mfa_secret_encrypted = ?", sealed).
			Set("updated_at = ?", at.UTC()).
			Where("mfa_enabled = ?", false)
	})
}

// EnableMFA implements ports.UserRepository.
func (r *UserRepository) EnableMFA(ctx context.Context, id uuid.UUID, a domain.MFAActivation) error {
	return r.write(ctx, "enable mfa", id, domain.ErrConcurrentChange, func(q *bun.UpdateQuery) *bun.UpdateQuery {
		return q.Set("mfa_enabled = ?", true).
			Set("updated_at = ?", a.At.UTC()).
			Where("mfa_enabled = ?", false).
			Where("mfa_secret_encrypted = ?", a.Secret)
	})
}

// DisableMFA implements ports.UserRepository.
func (r *UserRepository) DisableMFA(ctx context.Context, id uuid.UUID, at time.Time) error {
	return r.write(ctx, "disable mfa", id, nil, func(q *bun.UpdateQuery) *bun.UpdateQuery {
		return q.Set("mfa_enabled = ?", false).
			Set("mfa_secret_encrypted = NULL").
			Set("updated_at = ?", at.UTC())
	})
}

// Unlock implements ports.UserRepository.
func (r *UserRepository) Unlock(ctx context.Context, id uuid.UUID, at time.Time) error {
	return r.write(ctx, "unlock user", id, nil, func(q *bun.UpdateQuery) *bun.UpdateQuery {
		return q.Set("locked_until = NULL").Set("failed_login_count = 0").Set("updated_at = ?", at.UTC())
	})
}

// OutdatedHash implements ports.UserRepository. The prefix is compared
// with substr rather than LIKE, whose wildcards a prefix could contain.
func (r *UserRepository) OutdatedHash(ctx context.Context, currentPrefix string) (string, error) {
	var hashes []string
	// A service account has no password, only a marker no hasher reads.
	err := conn(ctx, r.db).NewSelect().Model((*userRow)(nil)).Column("password_hash").Where("kind = 'person'").
		Where("substr(password_hash, 1, ?) <> ?", len(currentPrefix), currentPrefix).
		Limit(1).Scan(ctx, &hashes)
	if err != nil {
		return "", dbError("select outdated hash", err)
	}
	if len(hashes) == 0 {
		return "", nil
	}
	return hashes[0], nil
}

// write runs one UPDATE of user id built by set. When no row changed it
// tells a missing user (domain.ErrUserNotFound) from a guard that failed
// (stale, which a write without a guard never returns).
func (r *UserRepository) write(ctx context.Context, op string, id uuid.UUID, stale error,
	set func(*bun.UpdateQuery) *bun.UpdateQuery,
) error {
	db := conn(ctx, r.db)
	res, err := set(db.NewUpdate().Model((*userRow)(nil)).Where("id = ?", id)).Exec(ctx)
	if err != nil {
		return userWriteError(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return dbError(op, err)
	}
	if n > 0 {
		return nil
	}
	exists, err := db.NewSelect().Model((*userRow)(nil)).Where("id = ?", id).Exists(ctx)
	switch {
	case err != nil:
		return dbError(op, err)
	case !exists || stale == nil:
		return domain.ErrUserNotFound
	default:
		return stale
	}
}

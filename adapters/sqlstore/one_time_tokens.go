package sqlstore

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

type oneTimeTokenRow struct {
	bun.BaseModel `bun:"table:one_time_tokens"`

	ID        uuid.UUID  `bun:"id,pk,type:uuid"`
	UserID    uuid.UUID  `bun:"user_id,type:uuid"`
	Purpose   string     `bun:"purpose"`
	TokenHash []byte     `bun:"token_hash"`
	Payload   string     `bun:"payload"`
	CreatedAt time.Time  `bun:"created_at"`
	ExpiresAt time.Time  `bun:"expires_at"`
	UsedAt    *time.Time `bun:"used_at"`
}

func toOneTimeTokenRow(t domain.OneTimeToken) *oneTimeTokenRow {
	return &oneTimeTokenRow{
		ID: t.ID, UserID: t.UserID, Purpose: string(t.Purpose), TokenHash: t.Hash, Payload: t.Payload,
		CreatedAt: t.CreatedAt.UTC(), ExpiresAt: t.ExpiresAt.UTC(), UsedAt: utcPtr(t.UsedAt),
	}
}

func (r *oneTimeTokenRow) toDomain() domain.OneTimeToken {
	return domain.OneTimeToken{
		ID: r.ID, UserID: r.UserID, Purpose: domain.TokenPurpose(r.Purpose), Hash: r.TokenHash, Payload: r.Payload,
		CreatedAt: r.CreatedAt.UTC(), ExpiresAt: r.ExpiresAt.UTC(), UsedAt: utcPtr(r.UsedAt),
	}
}

// OneTimeTokenRepository stores mailed single-use tokens in one_time_tokens,
// by hash only.
type OneTimeTokenRepository struct{ db *DB }

var _ ports.OneTimeTokenRepository = (*OneTimeTokenRepository)(nil)

// NewOneTimeTokenRepository returns a OneTimeTokenRepository on db.
func NewOneTimeTokenRepository(db *DB) *OneTimeTokenRepository {
	return &OneTimeTokenRepository{db: db}
}

// Create implements ports.OneTimeTokenRepository. A hash already stored is
// domain.ErrConflict.
func (r *OneTimeTokenRepository) Create(ctx context.Context, t domain.OneTimeToken) error {
	if _, err := conn(ctx, r.db).NewInsert().Model(toOneTimeTokenRow(t)).Exec(ctx); err != nil {
		if _, ok := uniqueViolation(err); ok {
			return domain.ErrConflict
		}
		return dbError("insert one-time token", err)
	}
	return nil
}

// Consume implements ports.OneTimeTokenRepository. Checking and spending
// are one conditional UPDATE … RETURNING (Postgres, SQLite ≥ 3.35):
// Postgres re-checks used_at IS NULL after a concurrent writer commits and
// SQLite runs writers one at a time, so exactly one caller gets the row.
func (r *OneTimeTokenRepository) Consume(ctx context.Context, purpose domain.TokenPurpose, hash []byte, now time.Time) (domain.OneTimeToken, error) {
	if len(hash) == 0 {
		return domain.OneTimeToken{}, domain.ErrInvalidToken
	}
	row := new(oneTimeTokenRow)
	res, err := conn(ctx, r.db).NewUpdate().Model((*oneTimeTokenRow)(nil)).
		Set("used_at = ?", now.UTC()).
		Where("purpose = ?", string(purpose)).Where("token_hash = ?", hash).
		Where("used_at IS NULL").Where("expires_at > ?", now.UTC()).
		Returning("*").Exec(ctx, row)
	if err != nil {
		if isNoRows(err) {
			return domain.OneTimeToken{}, domain.ErrInvalidToken
		}
		return domain.OneTimeToken{}, dbError("consume one-time token", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return domain.OneTimeToken{}, domain.ErrInvalidToken
	}
	return row.toDomain(), nil
}

// InvalidateForUser implements ports.OneTimeTokenRepository.
func (r *OneTimeTokenRepository) InvalidateForUser(ctx context.Context, userID uuid.UUID, purpose domain.TokenPurpose, now time.Time) error {
	_, err := conn(ctx, r.db).NewUpdate().Model((*oneTimeTokenRow)(nil)).
		Set("used_at = ?", now.UTC()).
		Where("user_id = ?", userID).Where("purpose = ?", string(purpose)).Where("used_at IS NULL").
		Exec(ctx)
	if err != nil {
		return dbError("invalidate one-time tokens", err)
	}
	return nil
}

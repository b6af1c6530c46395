package sqlstore

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// personalTokenRow is a row of personal_access_tokens; permissions is a
// JSON array (jsonb on Postgres, text on SQLite).
type personalTokenRow struct {
	bun.BaseModel `bun:"table:personal_access_tokens,alias:pat"`

	ID           uuid.UUID  `bun:"id,pk,type:uuid"`
	UserID       uuid.UUID  `bun:"user_id,type:uuid"`
	Name         string     `bun:"name"`
	TokenHash    []byte     `bun:"token_hash"`
	Hint         string     `bun:"hint"`
	OrgID        *uuid.UUID `bun:"org_id,type:uuid"`
	Permissions  []string   `bun:"permissions,type:jsonb"`
	CreatedAt    time.Time  `bun:"created_at"`
	ExpiresAt    time.Time  `bun:"expires_at"`
	LastUsedAt   *time.Time `bun:"last_used_at"`
	RevokedAt    *time.Time `bun:"revoked_at"`
	RevokeReason string     `bun:"revoke_reason"`
}

func (r *personalTokenRow) toDomain() domain.PersonalToken {
	return domain.PersonalToken{
		ID: r.ID, UserID: r.UserID, Name: r.Name, Hash: r.TokenHash, Hint: r.Hint, OrgID: r.OrgID,
		Permissions: domain.SortedSet(r.Permissions), CreatedAt: r.CreatedAt.UTC(), ExpiresAt: r.ExpiresAt.UTC(),
		LastUsedAt: utcPtr(r.LastUsedAt), RevokedAt: utcPtr(r.RevokedAt), RevokeReason: r.RevokeReason,
	}
}

// PersonalTokenRepository implements ports.PersonalTokenRepository.
type PersonalTokenRepository struct{ db *DB }

var _ ports.PersonalTokenRepository = (*PersonalTokenRepository)(nil)

// NewPersonalTokenRepository returns a PersonalTokenRepository on db.
func NewPersonalTokenRepository(db *DB) *PersonalTokenRepository {
	return &PersonalTokenRepository{db: db}
}

// Create implements ports.PersonalTokenRepository. The owner's users row
// is locked (FOR UPDATE on Postgres; SQLite transactions begin IMMEDIATE
// and so already exclude other writers) before the count, so concurrent
// creations for one owner are counted one after the other. Outside a
// transaction, Create makes its own.
func (r *PersonalTokenRepository) Create(ctx context.Context, t domain.PersonalToken, max int) error {
	if _, ok := ctx.Value(txKey{}).(bun.Tx); !ok {
		return NewTxManager(r.db).WithinTx(ctx, func(ctx context.Context) error { return r.Create(ctx, t, max) })
	}
	db := conn(ctx, r.db)
	lock := db.NewSelect().Model((*userRow)(nil)).Column("id").Where("id = ?", t.UserID)
	if r.db.Dialect == Postgres {
		lock = lock.For("UPDATE")
	}
	var id uuid.UUID
	if err := lock.Scan(ctx, &id); err != nil {
		if isNoRows(err) {
			return domain.ErrUserNotFound
		}
		return dbError("lock token owner", err)
	}
	n, err := db.NewSelect().Model((*personalTokenRow)(nil)).Where("user_id = ?", t.UserID).
		Where("revoked_at IS NULL").Where("expires_at > ?", t.CreatedAt.UTC()).Count(ctx)
	if err != nil {
		return dbError("count personal access tokens", err)
	}
	if n >= int64(max) {
		return domain.ErrTooManyPersonalTokens
	}
	row := &personalTokenRow{
		ID: t.ID, UserID: t.UserID, Name: t.Name, TokenHash: t.Hash, Hint: t.Hint, OrgID: t.OrgID,
		Permissions: oauthList(t.Permissions), CreatedAt: t.CreatedAt.UTC(), ExpiresAt: t.ExpiresAt.UTC(),
	}
	if _, err := db.NewInsert().Model(row).Exec(ctx); err != nil {
		if oauthParentMissing(err) {
			return domain.ErrOrgNotFound
		}
		return dbError("insert personal access token", err)
	}
	return nil
}

// ByHash implements ports.PersonalTokenRepository.
func (r *PersonalTokenRepository) ByHash(ctx context.Context, hash []byte) (domain.PersonalToken, error) {
	row := new(personalTokenRow)
	if err := conn(ctx, r.db).NewSelect().Model(row).Where("pat.token_hash = ?", hash).Limit(1).Scan(ctx); err != nil {
		if isNoRows(err) {
			return domain.PersonalToken{}, domain.ErrPersonalTokenNotFound
		}
		return domain.PersonalToken{}, dbError("select personal access token", err)
	}
	return row.toDomain(), nil
}

// ByUser implements ports.PersonalTokenRepository.
func (r *PersonalTokenRepository) ByUser(ctx context.Context, userID uuid.UUID) ([]domain.PersonalToken, error) {
	var rows []personalTokenRow
	if err := conn(ctx, r.db).NewSelect().Model(&rows).Where("pat.user_id = ?", userID).
		Where("pat.revoked_at IS NULL").OrderExpr("pat.created_at DESC, pat.id DESC").Scan(ctx); err != nil {
		return nil, dbError("list personal access tokens", err)
	}
	out := make([]domain.PersonalToken, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// RecordUse implements ports.PersonalTokenRepository; it writes
// last_used_at only.
func (r *PersonalTokenRepository) RecordUse(ctx context.Context, id uuid.UUID, at, notBefore time.Time) error {
	_, err := conn(ctx, r.db).NewUpdate().Model((*personalTokenRow)(nil)).
		Set("last_used_at = ?", at.UTC()).Where("id = ?", id).
		Where("(last_used_at IS NULL OR last_used_at < ?)", notBefore.UTC()).Exec(ctx)
	return dbError("record personal access token use", err)
}

// Revoke implements ports.PersonalTokenRepository; it writes revoked_at
// and revoke_reason only, and only on an unrevoked token of userID.
func (r *PersonalTokenRepository) Revoke(ctx context.Context, userID, id uuid.UUID, at time.Time, reason string) error {
	res, err := conn(ctx, r.db).NewUpdate().Model((*personalTokenRow)(nil)).
		Set("revoked_at = ?", at.UTC()).Set("revoke_reason = ?", reason).
		Where("id = ?", id).Where("user_id = ?", userID).Where("revoked_at IS NULL").Exec(ctx)
	if err != nil {
		return dbError("revoke personal access token", err)
	}
	n, err := oauthRowsChanged("revoke personal access token", res)
	if err != nil {
		return err
	}
	if n == 0 {
		return domain.ErrPersonalTokenNotFound
	}
	return nil
}

// RevokeAllForUser implements ports.PersonalTokenRepository. On Postgres
// it first locks the owner's users row, as Create does, so a token made
// concurrently is either seen here or made after this transaction (whose
// session revocations its maker then sees).
func (r *PersonalTokenRepository) RevokeAllForUser(ctx context.Context, userID uuid.UUID, at time.Time, reason string) (int, error) {
	if r.db.Dialect == Postgres {
		if _, ok := ctx.Value(txKey{}).(bun.Tx); ok {
			var ids []uuid.UUID
			if err := conn(ctx, r.db).NewSelect().Model((*userRow)(nil)).Column("id").Where("id = ?", userID).
				For("UPDATE").Scan(ctx, &ids); err != nil {
				return 0, dbError("lock token owner", err)
			}
		}
	}
	res, err := conn(ctx, r.db).NewUpdate().Model((*personalTokenRow)(nil)).
		Set("revoked_at = ?", at.UTC()).Set("revoke_reason = ?", reason).
		Where("user_id = ?", userID).Where("revoked_at IS NULL").Exec(ctx)
	if err != nil {
		return 0, dbError("revoke personal access tokens", err)
	}
	n, err := oauthRowsChanged("revoke personal access tokens", res)
	return int(n), err
}

package sqlstore

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/ums-project/ums/ports"
)

type passwordHistoryRow struct {
	bun.BaseModel `bun:"table:password_history"`

	ID           uuid.UUID `bun:"id,pk,type:uuid"`
	UserID       uuid.UUID `bun:"user_id,type:uuid"`
	PasswordHash string    `bun:"password_hash"`
	CreatedAt    time.Time `bun:"created_at"`
}

// PasswordHistory keeps users' previous password hashes in
// password_history.
type PasswordHistory struct{ db *DB }

var _ ports.PasswordHistory = (*PasswordHistory)(nil)

// NewPasswordHistory returns a PasswordHistory on db.
func NewPasswordHistory(db *DB) *PasswordHistory { return &PasswordHistory{db: db} }

// Add implements ports.PasswordHistory.
func (h *PasswordHistory) Add(ctx context.Context, id, userID uuid.UUID, hash string, at time.Time) error {
	row := &passwordHistoryRow{ID: id, UserID: userID, PasswordHash: hash, CreatedAt: at.UTC()}
	if _, err := conn(ctx, h.db).NewInsert().Model(row).Exec(ctx); err != nil {
		return dbError("insert password history", err)
	}
	return nil
}

// Recent implements ports.PasswordHistory; ties on created_at are broken
// by id so the order is stable. n <= 0 returns nil.
func (h *PasswordHistory) Recent(ctx context.Context, userID uuid.UUID, n int) ([]string, error) {
	if n <= 0 {
		return nil, nil
	}
	var hashes []string
	err := conn(ctx, h.db).NewSelect().Model((*passwordHistoryRow)(nil)).Column("password_hash").
		Where("user_id = ?", userID).OrderExpr("created_at DESC, id DESC").Limit(int64(n)).
		Scan(ctx, &hashes)
	if err != nil {
		return nil, dbError("select password history", err)
	}
	return hashes, nil
}

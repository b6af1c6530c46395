package sqlstore

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/ums-project/ums/ports"
)

// recoveryCodeRow keeps the hash hex-encoded: code_hash is a text column.
type recoveryCodeRow struct {
	bun.BaseModel `bun:"table:mfa_recovery_codes"`

	ID        uuid.UUID  `bun:"id,pk,type:uuid"`
	UserID    uuid.UUID  `bun:"user_id,type:uuid"`
	CodeHash  string     `bun:"code_hash"`
	UsedAt    *time.Time `bun:"used_at"`
	CreatedAt time.Time  `bun:"created_at"`
}

// RecoveryCodes keeps hashed MFA recovery codes in mfa_recovery_codes.
type RecoveryCodes struct{ db *DB }

var _ ports.RecoveryCodes = (*RecoveryCodes)(nil)

// NewRecoveryCodes returns a RecoveryCodes on db.
func NewRecoveryCodes(db *DB) *RecoveryCodes { return &RecoveryCodes{db: db} }

// Replace implements ports.RecoveryCodes: the delete and the inserts run in
// the caller's transaction, or in one of their own, so a user never has
// both sets or neither.
func (c *RecoveryCodes) Replace(ctx context.Context, userID uuid.UUID, hashes [][]byte, at time.Time) error {
	rows := make([]recoveryCodeRow, 0, len(hashes))
	for _, h := range hashes {
		if len(h) == 0 {
			return fmt.Errorf("replace recovery codes: empty hash")
		}
		id, err := uuid.NewV7()
		if err != nil {
			return fmt.Errorf("replace recovery codes: %w", err)
		}
		rows = append(rows, recoveryCodeRow{ID: id, UserID: userID, CodeHash: hex.EncodeToString(h), CreatedAt: at.UTC()})
	}
	return NewTxManager(c.db).WithinTx(ctx, func(ctx context.Context) error {
		db := conn(ctx, c.db)
		if _, err := db.NewDelete().Model((*recoveryCodeRow)(nil)).Where("user_id = ?", userID).Exec(ctx); err != nil {
			return dbError("delete recovery codes", err)
		}
		if len(rows) == 0 {
			return nil
		}
		if _, err := db.NewInsert().Model(&rows).Exec(ctx); err != nil {
			return dbError("insert recovery codes", err)
		}
		return nil
	})
}

// Use implements ports.RecoveryCodes with one conditional UPDATE: Postgres
// re-checks used_at IS NULL after a concurrent writer commits and SQLite
// runs writers one at a time, so only one caller sees a row affected.
func (c *RecoveryCodes) Use(ctx context.Context, userID uuid.UUID, hash []byte, at time.Time) (bool, error) {
	if len(hash) == 0 {
		return false, nil
	}
	res, err := conn(ctx, c.db).NewUpdate().Model((*recoveryCodeRow)(nil)).
		Set("used_at = ?", at.UTC()).
		Where("user_id = ?", userID).Where("code_hash = ?", hex.EncodeToString(hash)).Where("used_at IS NULL").
		Exec(ctx)
	if err != nil {
		return false, dbError("use recovery code", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, dbError("use recovery code", err)
	}
	return n > 0, nil
}

// Remaining implements ports.RecoveryCodes.
func (c *RecoveryCodes) Remaining(ctx context.Context, userID uuid.UUID) (int, error) {
	n, err := conn(ctx, c.db).NewSelect().Model((*recoveryCodeRow)(nil)).
		Where("user_id = ?", userID).Where("used_at IS NULL").Count(ctx)
	if err != nil {
		return 0, dbError("count recovery codes", err)
	}
	return int(n), nil
}

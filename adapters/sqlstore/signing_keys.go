package sqlstore

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

type signingKeyRow struct {
	bun.BaseModel `bun:"table:signing_keys"`

	KID                 string     `bun:"kid,pk"`
	Algorithm           string     `bun:"algorithm"`
	PublicKey           []byte     `bun:"public_key"`
	PrivateKeyEncrypted []byte     `bun:"private_key_encrypted"`
	CreatedAt           time.Time  `bun:"created_at"`
	RetiredAt           *time.Time `bun:"retired_at"`
	ExpiresAt           *time.Time `bun:"expires_at"`
}

// SigningKeyRepository stores signing keys, private parts sealed.
type SigningKeyRepository struct{ db *DB }

var _ ports.SigningKeyRepository = (*SigningKeyRepository)(nil)

// NewSigningKeyRepository returns a SigningKeyRepository on db.
func NewSigningKeyRepository(db *DB) *SigningKeyRepository { return &SigningKeyRepository{db: db} }

// Create implements ports.SigningKeyRepository.
func (r *SigningKeyRepository) Create(ctx context.Context, k ports.StoredSigningKey) error {
	row := &signingKeyRow{KID: k.KID, Algorithm: k.Algorithm, PublicKey: k.PublicKey,
		PrivateKeyEncrypted: k.PrivateKeySealed, CreatedAt: k.CreatedAt.UTC(),
		RetiredAt: utcPtr(k.RetiredAt), ExpiresAt: utcPtr(k.ExpiresAt)}
	if _, err := conn(ctx, r.db).NewInsert().Model(row).Exec(ctx); err != nil {
		if _, ok := uniqueViolation(err); ok {
			return domain.ErrConflict
		}
		return dbError("insert signing key", err)
	}
	return nil
}

// All implements ports.SigningKeyRepository.
func (r *SigningKeyRepository) All(ctx context.Context) ([]ports.StoredSigningKey, error) {
	var rows []signingKeyRow
	if err := conn(ctx, r.db).NewSelect().Model(&rows).OrderExpr("created_at DESC, kid DESC").Scan(ctx); err != nil {
		return nil, dbError("select signing keys", err)
	}
	out := make([]ports.StoredSigningKey, len(rows))
	for i, row := range rows {
		out[i] = ports.StoredSigningKey{KID: row.KID, Algorithm: row.Algorithm, PublicKey: row.PublicKey,
			PrivateKeySealed: row.PrivateKeyEncrypted, CreatedAt: row.CreatedAt.UTC(),
			RetiredAt: utcPtr(row.RetiredAt), ExpiresAt: utcPtr(row.ExpiresAt)}
	}
	return out, nil
}

// Retire implements ports.SigningKeyRepository.
func (r *SigningKeyRepository) Retire(ctx context.Context, kid string, retiredAt, expiresAt time.Time) error {
	res, err := conn(ctx, r.db).NewUpdate().Model((*signingKeyRow)(nil)).
		Set("retired_at = ?", retiredAt.UTC()).Set("expires_at = ?", expiresAt.UTC()).
		Where("kid = ?", kid).Exec(ctx)
	if err != nil {
		return dbError("retire signing key", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return &domain.Error{Kind: domain.KindNotFound, Code: "signing_key_not_found", Message: "signing key not found"}
	}
	return nil
}

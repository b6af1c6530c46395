package sqlstore

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// serviceAccountKeyRow is a row of service_account_keys.
type serviceAccountKeyRow struct {
	bun.BaseModel `bun:"table:service_account_keys,alias:sak"`

	UserID     uuid.UUID  `bun:"user_id,pk,type:uuid"`
	KID        string     `bun:"kid,pk"`
	Algorithm  string     `bun:"algorithm"`
	PublicJWK  string     `bun:"public_jwk"`
	Thumbprint string     `bun:"thumbprint"`
	CreatedAt  time.Time  `bun:"created_at"`
	ExpiresAt  *time.Time `bun:"expires_at"`
}

func (r *serviceAccountKeyRow) toDomain() domain.ServiceAccountKey {
	return domain.ServiceAccountKey{
		ClientPublicKey: domain.ClientPublicKey{KID: r.KID, Algorithm: r.Algorithm, JWK: []byte(r.PublicJWK),
			Thumbprint: r.Thumbprint},
		AccountID: r.UserID, CreatedAt: r.CreatedAt.UTC(), ExpiresAt: utcPtr(r.ExpiresAt),
	}
}

// ServiceAccountKeyRepository stores service accounts' public keys in
// service_account_keys; they go with their account (ON DELETE CASCADE).
type ServiceAccountKeyRepository struct{ db *DB }

var _ ports.ServiceAccountKeyRepository = (*ServiceAccountKeyRepository)(nil)

// NewServiceAccountKeyRepository returns a ServiceAccountKeyRepository on
// db.
func NewServiceAccountKeyRepository(db *DB) *ServiceAccountKeyRepository {
	return &ServiceAccountKeyRepository{db: db}
}

// Add implements ports.ServiceAccountKeyRepository. The account's row is
// locked while its keys are counted (FOR UPDATE on Postgres; a SQLite
// transaction holds the write lock from its start), so concurrent adds
// are counted one after the other.
func (r *ServiceAccountKeyRepository) Add(ctx context.Context, k domain.ServiceAccountKey, limit int) error {
	return NewTxManager(r.db).WithinTx(ctx, func(ctx context.Context) error {
		db := conn(ctx, r.db)
		lock := db.NewSelect().Model((*serviceAccountRow)(nil)).Column("user_id").Where("user_id = ?", k.AccountID)
		if r.db.Dialect == Postgres {
			lock = lock.For("UPDATE")
		}
		var ids []uuid.UUID
		if err := lock.Scan(ctx, &ids); err != nil {
			return dbError("lock service account", err)
		}
		if len(ids) == 0 {
			return domain.ErrServiceAccountNotFound
		}
		n, err := db.NewSelect().Model((*serviceAccountKeyRow)(nil)).Where("user_id = ?", k.AccountID).Count(ctx)
		if err != nil {
			return dbError("count service account keys", err)
		}
		if n >= int64(limit) {
			return domain.ErrServiceAccountTooManyKeys
		}
		row := &serviceAccountKeyRow{UserID: k.AccountID, KID: k.KID, Algorithm: k.Algorithm, PublicJWK: string(k.JWK),
			Thumbprint: k.Thumbprint, CreatedAt: k.CreatedAt.UTC(), ExpiresAt: utcPtr(k.ExpiresAt)}
		if _, err := db.NewInsert().Model(row).Exec(ctx); err != nil {
			if _, ok := uniqueViolation(err); ok {
				return domain.ErrServiceAccountKeyExists
			}
			if oauthParentMissing(err) {
				return domain.ErrServiceAccountNotFound
			}
			return dbError("insert service account key", err)
		}
		return nil
	})
}

// List implements ports.ServiceAccountKeyRepository.
func (r *ServiceAccountKeyRepository) List(ctx context.Context, accountID uuid.UUID) ([]domain.ServiceAccountKey, error) {
	var rows []serviceAccountKeyRow
	if err := conn(ctx, r.db).NewSelect().Model(&rows).Where("sak.user_id = ?", accountID).
		OrderExpr("sak.created_at ASC, sak.kid ASC").Scan(ctx); err != nil {
		return nil, dbError("list service account keys", err)
	}
	out := make([]domain.ServiceAccountKey, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// Get implements ports.ServiceAccountKeyRepository.
func (r *ServiceAccountKeyRepository) Get(ctx context.Context, accountID uuid.UUID, kid string) (domain.ServiceAccountKey, error) {
	row := new(serviceAccountKeyRow)
	err := conn(ctx, r.db).NewSelect().Model(row).Where("sak.user_id = ?", accountID).Where("sak.kid = ?", kid).
		Limit(1).Scan(ctx)
	if err != nil {
		if isNoRows(err) {
			return domain.ServiceAccountKey{}, domain.ErrServiceAccountKeyNotFound
		}
		return domain.ServiceAccountKey{}, dbError("select service account key", err)
	}
	return row.toDomain(), nil
}

// Delete implements ports.ServiceAccountKeyRepository.
func (r *ServiceAccountKeyRepository) Delete(ctx context.Context, accountID uuid.UUID, kid string) error {
	res, err := conn(ctx, r.db).NewDelete().Model((*serviceAccountKeyRow)(nil)).
		Where("user_id = ?", accountID).Where("kid = ?", kid).Exec(ctx)
	if err != nil {
		return dbError("delete service account key", err)
	}
	n, err := oauthRowsChanged("delete service account key", res)
	if err != nil {
		return err
	}
	if n == 0 {
		return domain.ErrServiceAccountKeyNotFound
	}
	return nil
}

// clientAssertionRow is a row of client_assertions.
type clientAssertionRow struct {
	bun.BaseModel `bun:"table:client_assertions,alias:ca"`

	ClientID  string    `bun:"client_id,pk"`
	JTI       string    `bun:"jti,pk"`
	ExpiresAt time.Time `bun:"expires_at"`
}

// AssertionLedger remembers spent client assertions in client_assertions.
type AssertionLedger struct{ db *DB }

var _ ports.AssertionLedger = (*AssertionLedger)(nil)

// NewAssertionLedger returns an AssertionLedger on db.
func NewAssertionLedger(db *DB) *AssertionLedger { return &AssertionLedger{db: db} }

// Spend implements ports.AssertionLedger: one insert that does nothing
// when the jti is there, so the database picks the one winner.
func (l *AssertionLedger) Spend(ctx context.Context, clientID, jti string, expiresAt time.Time) (bool, error) {
	res, err := conn(ctx, l.db).NewInsert().
		Model(&clientAssertionRow{ClientID: clientID, JTI: jti, ExpiresAt: expiresAt.UTC()}).
		On("CONFLICT DO NOTHING").Exec(ctx)
	if err != nil {
		return false, dbError("spend client assertion", err)
	}
	n, err := oauthRowsChanged("spend client assertion", res)
	return n == 1, err
}

// Prune implements ports.AssertionLedger.
func (l *AssertionLedger) Prune(ctx context.Context, now time.Time) (int, error) {
	res, err := conn(ctx, l.db).NewDelete().Model((*clientAssertionRow)(nil)).Where("expires_at < ?", now.UTC()).Exec(ctx)
	if err != nil {
		return 0, dbError("prune client assertions", err)
	}
	n, err := oauthRowsChanged("prune client assertions", res)
	return int(n), err
}

package sqlstore

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// serviceAccountRow is a row of service_accounts; the scanonly columns
// come from the account's users row, membership and client.
type serviceAccountRow struct {
	bun.BaseModel `bun:"table:service_accounts,alias:sa"`

	UserID      uuid.UUID  `bun:"user_id,pk,type:uuid"`
	OrgID       uuid.UUID  `bun:"org_id,type:uuid"`
	Name        string     `bun:"name"`
	Description string     `bun:"description"`
	CreatedBy   *uuid.UUID `bun:"created_by,type:uuid"`
	CreatedAt   time.Time  `bun:"created_at"`
	UpdatedAt   time.Time  `bun:"updated_at"`

	Username  string  `bun:"username,scanonly"`
	IsActive  bool    `bun:"is_active,scanonly"`
	Role      *string `bun:"role,scanonly"`
	HasSecret bool    `bun:"has_secret,scanonly"`
}

func (r *serviceAccountRow) toDomain() domain.ServiceAccount {
	a := domain.ServiceAccount{ID: r.UserID, OrgID: r.OrgID, Name: r.Name, Description: r.Description,
		CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
		Username: r.Username, IsActive: r.IsActive, HasSecret: r.HasSecret}
	if r.Role != nil {
		a.Role = domain.Role(*r.Role)
	}
	return a
}

// ServiceAccountRepository stores service accounts in service_accounts,
// beside their users rows.
type ServiceAccountRepository struct{ db *DB }

var _ ports.ServiceAccountRepository = (*ServiceAccountRepository)(nil)

// NewServiceAccountRepository returns a ServiceAccountRepository on db.
func NewServiceAccountRepository(db *DB) *ServiceAccountRepository {
	return &ServiceAccountRepository{db: db}
}

// Create implements ports.ServiceAccountRepository. The organization's
// accounts are counted under a transaction-scoped advisory lock of the
// organization on Postgres (a SQLite transaction holds the write lock
// from its start), so concurrent creations are counted one after the
// other.
func (r *ServiceAccountRepository) Create(ctx context.Context, a domain.ServiceAccount, limit int) error {
	return NewTxManager(r.db).WithinTx(ctx, func(ctx context.Context) error {
		db := conn(ctx, r.db)
		if r.db.Dialect == Postgres {
			if _, err := db.NewRaw("SELECT pg_advisory_xact_lock(hashtext(?))", "service_accounts:"+a.OrgID.String()).Exec(ctx); err != nil {
				return dbError("lock service accounts", err)
			}
		}
		n, err := db.NewSelect().Model((*serviceAccountRow)(nil)).Where("org_id = ?", a.OrgID).Count(ctx)
		if err != nil {
			return dbError("count service accounts", err)
		}
		if n >= int64(limit) {
			return domain.ErrTooManyServiceAccounts
		}
		return r.insert(ctx, a)
	})
}

func (r *ServiceAccountRepository) insert(ctx context.Context, a domain.ServiceAccount) error {
	row := &serviceAccountRow{UserID: a.ID, OrgID: a.OrgID, Name: a.Name, Description: a.Description,
		CreatedBy: a.CreatedBy, CreatedAt: a.CreatedAt.UTC(), UpdatedAt: a.UpdatedAt.UTC()}
	if _, err := conn(ctx, r.db).NewInsert().Model(row).Exec(ctx); err != nil {
		if _, ok := uniqueViolation(err); ok {
			return domain.ErrServiceAccountNameTaken
		}
		if oauthParentMissing(err) {
			return domain.ErrUserNotFound
		}
		return dbError("insert service account", err)
	}
	return nil
}

// LockCredentials implements ports.ServiceAccountRepository. The lock is
// the account's users row on Postgres, FOR UPDATE for a change (the row
// revoking its sessions and tokens locks too) and FOR SHARE to issue; a
// SQLite transaction holds the write lock from its start.
func (r *ServiceAccountRepository) LockCredentials(ctx context.Context, id uuid.UUID, change bool) (domain.ServiceAccountCredentials, error) {
	db := conn(ctx, r.db)
	lock := db.NewSelect().Model((*serviceAccountRow)(nil)).Column("sa.user_id").
		Join("JOIN users AS u ON u.id = sa.user_id").Where("sa.user_id = ?", id)
	if r.db.Dialect == Postgres {
		mode := "SHARE OF u"
		if change {
			mode = "UPDATE OF u"
		}
		lock = lock.For(mode)
	}
	var ids []uuid.UUID
	if err := lock.Scan(ctx, &ids); err != nil {
		return domain.ServiceAccountCredentials{}, dbError("lock service account", err)
	}
	if len(ids) == 0 {
		return domain.ServiceAccountCredentials{}, domain.ErrServiceAccountNotFound
	}
	var out domain.ServiceAccountCredentials
	var hashes [][]byte
	if err := db.NewSelect().Model((*oauthClientRow)(nil)).Column("secret_hash").
		Where("service_account_id = ?", id).Where("secret_hash IS NOT NULL").Scan(ctx, &hashes); err != nil {
		return domain.ServiceAccountCredentials{}, dbError("read service account secret", err)
	}
	if len(hashes) > 0 {
		out.SecretHash = hashes[0]
	}
	if err := db.NewSelect().Model((*serviceAccountKeyRow)(nil)).Column("kid").
		Where("user_id = ?", id).Scan(ctx, &out.KIDs); err != nil {
		return domain.ServiceAccountCredentials{}, dbError("read service account keys", err)
	}
	return out, nil
}

// selectAccounts reads accounts with the facts of their other rows.
func (r *ServiceAccountRepository) selectAccounts(ctx context.Context, rows *[]serviceAccountRow) *bun.SelectQuery {
	return conn(ctx, r.db).NewSelect().Model(rows).
		ColumnExpr("sa.*").
		ColumnExpr("u.username, u.is_active, m.role").
		ColumnExpr("oc.secret_hash IS NOT NULL AS has_secret").
		Join("JOIN users AS u ON u.id = sa.user_id").
		Join("LEFT JOIN memberships AS m ON m.org_id = sa.org_id AND m.user_id = sa.user_id").
		Join("LEFT JOIN oauth_clients AS oc ON oc.service_account_id = sa.user_id")
}

// ByID implements ports.ServiceAccountRepository.
func (r *ServiceAccountRepository) ByID(ctx context.Context, id uuid.UUID) (domain.ServiceAccount, error) {
	var rows []serviceAccountRow
	if err := r.selectAccounts(ctx, &rows).Where("sa.user_id = ?", id).Limit(1).Scan(ctx); err != nil {
		return domain.ServiceAccount{}, dbError("select service account", err)
	}
	if len(rows) == 0 {
		return domain.ServiceAccount{}, domain.ErrServiceAccountNotFound
	}
	return rows[0].toDomain(), nil
}

// serviceAccountList names the one order of the list in its cursors.
const serviceAccountList = "service_accounts:created_at"

// List implements ports.ServiceAccountRepository: oldest first, ties by
// id, a keyset page.
func (r *ServiceAccountRepository) List(ctx context.Context, f ports.ServiceAccountFilter, p ports.Page) ([]domain.ServiceAccount, string, error) {
	limit := dirPageLimit(p.Limit)
	var rows []serviceAccountRow
	q := r.selectAccounts(ctx, &rows)
	if p.Cursor != "" {
		c, err := decodeDirCursor(p.Cursor, serviceAccountList)
		if err != nil {
			return nil, "", err
		}
		at, err := parseDirTimeKey(c.Key)
		if err != nil {
			return nil, "", err
		}
		q = q.Where("(sa.created_at, sa.user_id) > (?, ?)", at, c.ID)
	}
	if f.OrgID != nil {
		q = q.Where("sa.org_id = ?", *f.OrgID)
	}
	if err := q.OrderExpr("sa.created_at ASC, sa.user_id ASC").Limit(int64(limit + 1)).Scan(ctx); err != nil {
		return nil, "", dbError("list service accounts", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		next = encodeDirCursor(dirCursor{List: serviceAccountList, Key: dirTimeKey(last.CreatedAt), ID: last.UserID})
	}
	out := make([]domain.ServiceAccount, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, next, nil
}

// Update implements ports.ServiceAccountRepository: name, description
// and updated_at only, so concurrent changes of other fields stay.
func (r *ServiceAccountRepository) Update(ctx context.Context, id uuid.UUID, ch domain.ServiceAccountChange) error {
	q := conn(ctx, r.db).NewUpdate().Model((*serviceAccountRow)(nil))
	if ch.Name != nil {
		q = q.Set("name = ?", *ch.Name)
	}
	if ch.Description != nil {
		q = q.Set("description = ?", *ch.Description)
	}
	res, err := q.Set("updated_at = ?", ch.At.UTC()).Where("user_id = ?", id).Exec(ctx)
	if err != nil {
		if _, ok := uniqueViolation(err); ok {
			return domain.ErrServiceAccountNameTaken
		}
		return dbError("update service account", err)
	}
	n, err := oauthRowsChanged("update service account", res)
	if err != nil {
		return err
	}
	if n == 0 {
		return domain.ErrServiceAccountNotFound
	}
	return nil
}

// Delete implements ports.ServiceAccountRepository: the foreign keys take
// every row of the account with its users row.
func (r *ServiceAccountRepository) Delete(ctx context.Context, id uuid.UUID) error {
	res, err := conn(ctx, r.db).NewDelete().Model((*userRow)(nil)).
		Where("id = ?", id).Where("kind = ?", string(domain.UserKindService)).Exec(ctx)
	if err != nil {
		return dbError("delete service account", err)
	}
	n, err := oauthRowsChanged("delete service account", res)
	if err != nil {
		return err
	}
	if n == 0 {
		return domain.ErrServiceAccountNotFound
	}
	return nil
}

// serviceTokenState is the read behind every API call of a service
// account: prepared, like the other hot reads.
var serviceTokenState = prepare(`SELECT s.user_id, s.revoked_at IS NOT NULL, s.expires_at, u.is_active, o.is_active
	FROM sessions s
	JOIN service_accounts sa ON sa.user_id = s.user_id
	JOIN users u ON u.id = s.user_id
	JOIN organizations o ON o.id = sa.org_id
	WHERE s.id = ?`)

// TokenState implements ports.ServiceAccountRepository.
func (r *ServiceAccountRepository) TokenState(ctx context.Context, sessionID uuid.UUID) (ports.ServiceTokenState, error) {
	var st ports.ServiceTokenState
	err := r.db.queryRow(ctx, serviceTokenState,
		[]any{&st.UserID, &st.SessionRevoked, &st.SessionExpires, &st.UserActive, &st.OrgActive}, sessionID)
	if err != nil {
		if isNoRows(err) {
			return ports.ServiceTokenState{}, domain.ErrSessionNotFound
		}
		return ports.ServiceTokenState{}, dbError("select service token state", err)
	}
	st.SessionExpires = st.SessionExpires.UTC()
	return st, nil
}

// PruneSessions implements ports.ServiceAccountRepository. Each token a
// service account gets is a session, so these would pile up.
func (r *ServiceAccountRepository) PruneSessions(ctx context.Context, before time.Time, limit int) (int, error) {
	res, err := conn(ctx, r.db).NewRaw(`DELETE FROM sessions WHERE id IN (
		SELECT s.id FROM sessions s JOIN service_accounts sa ON sa.user_id = s.user_id
		WHERE s.expires_at < ? LIMIT ?)`, before.UTC(), limit).Exec(ctx)
	if err != nil {
		return 0, dbError("prune service account sessions", err)
	}
	n, err := oauthRowsChanged("prune service account sessions", res)
	return int(n), err
}

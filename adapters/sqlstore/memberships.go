package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

type membershipRow struct {
	bun.BaseModel `bun:"table:memberships,alias:m"`

	OrgID     uuid.UUID `bun:"org_id,pk,type:uuid"`
	UserID    uuid.UUID `bun:"user_id,pk,type:uuid"`
	Role      string    `bun:"role"`
	CreatedAt time.Time `bun:"created_at"`
	UpdatedAt time.Time `bun:"updated_at"`
}

func (r *membershipRow) toDomain() domain.Membership {
	return domain.Membership{
		OrgID: r.OrgID, UserID: r.UserID, Role: domain.Role(r.Role),
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
}

// memberRow is a membership joined with its user's public names.
type memberRow struct {
	membershipRow
	Email    string `bun:"email"`
	Username string `bun:"username"`
}

// MembershipRepository stores memberships in the memberships table.
type MembershipRepository struct{ db *DB }

var _ ports.MembershipRepository = (*MembershipRepository)(nil)

// NewMembershipRepository returns a MembershipRepository on db.
func NewMembershipRepository(db *DB) *MembershipRepository { return &MembershipRepository{db: db} }

// Add implements ports.MembershipRepository.
func (r *MembershipRepository) Add(ctx context.Context, m domain.Membership) error {
	row := &membershipRow{
		OrgID: m.OrgID, UserID: m.UserID, Role: string(m.Role),
		CreatedAt: m.CreatedAt.UTC(), UpdatedAt: m.UpdatedAt.UTC(),
	}
	if _, err := conn(ctx, r.db).NewInsert().Model(row).Exec(ctx); err != nil {
		if _, ok := uniqueViolation(err); ok {
			return domain.ErrAlreadyMember
		}
		return dbError("insert membership", err)
	}
	return nil
}

// Get implements ports.MembershipRepository.
func (r *MembershipRepository) Get(ctx context.Context, orgID, userID uuid.UUID) (domain.Membership, error) {
	row := new(membershipRow)
	err := conn(ctx, r.db).NewSelect().Model(row).
		Where("m.org_id = ?", orgID).Where("m.user_id = ?", userID).Limit(1).Scan(ctx)
	if err != nil {
		if isNoRows(err) {
			return domain.Membership{}, domain.ErrMembershipNotFound
		}
		return domain.Membership{}, dbError("select membership", err)
	}
	return row.toDomain(), nil
}

// Lock implements ports.MembershipRepository: FOR UPDATE on Postgres; on
// SQLite the transaction (BEGIN IMMEDIATE) already excludes every other
// writer.
func (r *MembershipRepository) Lock(ctx context.Context, orgID, userID uuid.UUID) (domain.Membership, error) {
	row := new(membershipRow)
	q := conn(ctx, r.db).NewSelect().Model(row).Where("m.org_id = ?", orgID).Where("m.user_id = ?", userID).Limit(1)
	if r.db.Dialect == Postgres {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx); err != nil {
		if isNoRows(err) {
			return domain.Membership{}, domain.ErrMembershipNotFound
		}
		return domain.Membership{}, dbError("lock membership", err)
	}
	return row.toDomain(), nil
}

// SetRole implements ports.MembershipRepository.
func (r *MembershipRepository) SetRole(ctx context.Context, orgID, userID uuid.UUID, from, to domain.Role, at time.Time) error {
	db := conn(ctx, r.db)
	res, err := db.NewUpdate().Model((*membershipRow)(nil)).
		Set("role = ?", string(to)).Set("updated_at = ?", at.UTC()).
		Where("org_id = ?", orgID).Where("user_id = ?", userID).Where("role = ?", string(from)).Exec(ctx)
	err = membershipAffected("set membership role", res, err)
	if errors.Is(err, domain.ErrMembershipNotFound) {
		exists, xerr := db.NewSelect().Model((*membershipRow)(nil)).
			Where("org_id = ?", orgID).Where("user_id = ?", userID).Exists(ctx)
		switch {
		case xerr != nil:
			return dbError("set membership role", xerr)
		case exists:
			return domain.ErrConcurrentChange
		}
	}
	return err
}

// Remove implements ports.MembershipRepository.
func (r *MembershipRepository) Remove(ctx context.Context, orgID, userID uuid.UUID) error {
	res, err := conn(ctx, r.db).NewDelete().Model((*membershipRow)(nil)).
		Where("org_id = ?", orgID).Where("user_id = ?", userID).Exec(ctx)
	return membershipAffected("delete membership", res, err)
}

// LockAdmins implements ports.MembershipRepository. Postgres refuses FOR
// UPDATE beside an aggregate, so the rows are locked in a subquery and
// counted outside it; SQLite runs one writer at a time (transactions begin
// IMMEDIATE), so a plain count inside the transaction is already exclusive.
// Outside a transaction the lock ends with the statement.
func (r *MembershipRepository) LockAdmins(ctx context.Context, orgID uuid.UUID) (int, error) {
	const admins = "SELECT 1 FROM memberships AS m JOIN users AS u ON u.id = m.user_id" +
		" WHERE m.org_id = ? AND m.role = ? AND u.kind = 'person'"
	query := "SELECT count(*) FROM (" + admins + ") AS admins"
	if r.db.Dialect == Postgres {
		query = "SELECT count(*) FROM (" + admins + " FOR UPDATE OF m) AS admins"
	}
	var n int
	if err := conn(ctx, r.db).NewRaw(query, orgID, string(domain.RoleAdmin)).Scan(ctx, &n); err != nil {
		return 0, dbError("lock organization admins", err)
	}
	return n, nil
}

// ByOrg implements ports.MembershipRepository.
func (r *MembershipRepository) ByOrg(ctx context.Context, orgID uuid.UUID, p ports.Page) ([]ports.MembershipWithUser, string, error) {
	after, ok, err := decodeKeyset("members", p.Cursor)
	if err != nil {
		return nil, "", err
	}
	limit := keysetLimit(p.Limit)
	var rows []memberRow
	q := conn(ctx, r.db).NewSelect().TableExpr("memberships AS m").
		Join("JOIN users AS u ON u.id = m.user_id").
		ColumnExpr("m.org_id, m.user_id, m.role, m.created_at, m.updated_at, u.email, u.username").
		Where("m.org_id = ?", orgID)
	if ok {
		q = q.Where("(m.created_at, m.user_id) > (?, ?)", after.at, after.id)
	}
	if err := q.OrderExpr("m.created_at ASC, m.user_id ASC").Limit(int64(limit+1)).Scan(ctx, &rows); err != nil {
		return nil, "", dbError("list members", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		next = keyset{list: "members", at: last.CreatedAt, id: last.UserID}.encode()
	}
	out := make([]ports.MembershipWithUser, len(rows))
	for i := range rows {
		out[i] = ports.MembershipWithUser{Membership: rows[i].toDomain(), Email: rows[i].Email, Username: rows[i].Username}
	}
	return out, next, nil
}

// ByUser implements ports.MembershipRepository.
func (r *MembershipRepository) ByUser(ctx context.Context, userID uuid.UUID) ([]domain.Membership, error) {
	var rows []membershipRow
	err := conn(ctx, r.db).NewSelect().Model(&rows).Where("m.user_id = ?", userID).
		OrderExpr("m.created_at ASC, m.org_id ASC").Scan(ctx)
	if err != nil {
		return nil, dbError("list memberships of user", err)
	}
	out := make([]domain.Membership, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

func membershipAffected(what string, res sql.Result, err error) error {
	if err != nil {
		return dbError(what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return dbError(what, err)
	}
	if n == 0 {
		return domain.ErrMembershipNotFound
	}
	return nil
}

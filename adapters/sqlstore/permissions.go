package sqlstore

import (
	"context"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

type permissionRow struct {
	bun.BaseModel `bun:"table:permissions,alias:p"`

	ID          uuid.UUID `bun:"id,pk,type:uuid"`
	Name        string    `bun:"name"`
	Description string    `bun:"description"`
	Category    string    `bun:"category"`
	IsActive    bool      `bun:"is_active"`
	CreatedAt   time.Time `bun:"created_at"`
	UpdatedAt   time.Time `bun:"updated_at"`
}

func (r *permissionRow) toDomain() domain.Permission {
	return domain.Permission{
		ID: r.ID, Name: r.Name, Description: r.Description, Category: r.Category, IsActive: r.IsActive,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
}

type rolePermissionRow struct {
	bun.BaseModel `bun:"table:role_permissions,alias:rp"`

	ID           uuid.UUID  `bun:"id,pk,type:uuid"`
	OrgID        *uuid.UUID `bun:"org_id,type:uuid"`
	Role         string     `bun:"role"`
	PermissionID uuid.UUID  `bun:"permission_id,type:uuid"`
	CreatedAt    time.Time  `bun:"created_at"`
}

// grantRow is a grant read together with its permission's name.
type grantRow struct {
	ID        uuid.UUID  `bun:"id,type:uuid"`
	OrgID     uuid.UUID  `bun:"org_id,type:uuid"`
	UserID    uuid.UUID  `bun:"user_id,type:uuid"`
	Name      string     `bun:"name"`
	IsActive  bool       `bun:"is_active"`
	ExpiresAt *time.Time `bun:"expires_at"`
	GrantedBy *uuid.UUID `bun:"granted_by,type:uuid"`
	CreatedAt time.Time  `bun:"created_at"`
}

// grantColumns are the columns a grantRow is scanned from, grants aliased g
// and permissions p.
const grantColumns = "g.id, g.org_id, g.user_id, p.name, g.is_active, g.expires_at, g.granted_by, g.created_at"

func (r *grantRow) toDomain() domain.Grant {
	return domain.Grant{
		ID: r.ID, OrgID: r.OrgID, UserID: r.UserID, Permission: r.Name, IsActive: r.IsActive,
		ExpiresAt: utcPtr(r.ExpiresAt), GrantedBy: r.GrantedBy, CreatedAt: r.CreatedAt.UTC(),
	}
}

// PermissionRepository stores the permission catalog (permissions), the
// permissions of roles (role_permissions; org_id NULL for the global
// defaults) and direct grants (grants).
type PermissionRepository struct{ db *DB }

var _ ports.PermissionRepository = (*PermissionRepository)(nil)

// NewPermissionRepository returns a PermissionRepository on db.
func NewPermissionRepository(db *DB) *PermissionRepository { return &PermissionRepository{db: db} }

// Create implements ports.PermissionRepository.
func (r *PermissionRepository) Create(ctx context.Context, p domain.Permission) error {
	row := &permissionRow{
		ID: p.ID, Name: p.Name, Description: p.Description, Category: p.Category, IsActive: p.IsActive,
		CreatedAt: p.CreatedAt.UTC(), UpdatedAt: p.UpdatedAt.UTC(),
	}
	if _, err := conn(ctx, r.db).NewInsert().Model(row).Exec(ctx); err != nil {
		if name, ok := uniqueViolation(err); ok {
			// For a column constraint SQLite names no index and
			// uniqueViolation returns "UNIQUE"; its message says
			// "permissions.name".
			if strings.Contains(name, "name") || strings.Contains(err.Error(), "permissions.name") {
				return domain.ErrPermissionExists
			}
			return domain.ErrConflict
		}
		return dbError("insert permission", err)
	}
	return nil
}

// ByName implements ports.PermissionRepository.
func (r *PermissionRepository) ByName(ctx context.Context, name string) (domain.Permission, error) {
	row := new(permissionRow)
	if err := conn(ctx, r.db).NewSelect().Model(row).Where("p.name = ?", name).Limit(1).Scan(ctx); err != nil {
		if isNoRows(err) {
			return domain.Permission{}, domain.ErrPermissionNotFound
		}
		return domain.Permission{}, dbError("select permission", err)
	}
	return row.toDomain(), nil
}

// List implements ports.PermissionRepository. Names are sorted bytewise in
// Go: a Postgres collation may order '.' and '_' differently.
func (r *PermissionRepository) List(ctx context.Context, includeInactive bool) ([]domain.Permission, error) {
	var rows []permissionRow
	q := conn(ctx, r.db).NewSelect().Model(&rows)
	if !includeInactive {
		q = q.Where("p.is_active = ?", true)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, dbError("list permissions", err)
	}
	out := make([]domain.Permission, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// SetActive implements ports.PermissionRepository.
func (r *PermissionRepository) SetActive(ctx context.Context, name string, active bool, at time.Time) error {
	res, err := conn(ctx, r.db).NewUpdate().Model((*permissionRow)(nil)).
		Set("is_active = ?", active).Set("updated_at = ?", at.UTC()).
		Where("name = ?", name).Exec(ctx)
	if err != nil {
		return dbError("set permission active", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return dbError("set permission active", err)
	}
	if n == 0 {
		return domain.ErrPermissionNotFound
	}
	return nil
}

// RolePermissions implements ports.PermissionRepository. It returns the
// names of ACTIVE catalog entries only: a deactivated permission stays in
// the role's stored set (and comes back when reactivated) but is neither
// listed nor effective. Saving a listed set back with SetRolePermissions
// therefore drops the inactive ones.
func (r *PermissionRepository) RolePermissions(ctx context.Context, orgID *uuid.UUID, role domain.Role) ([]string, error) {
	var names []string
	q := conn(ctx, r.db).NewSelect().TableExpr("role_permissions AS rp").
		Join("JOIN permissions AS p ON p.id = rp.permission_id").
		ColumnExpr("p.name").
		Where("rp.role = ?", string(role)).Where("p.is_active = ?", true)
	q = whereRolePermissionScope(q, orgID)
	if err := q.Scan(ctx, &names); err != nil {
		return nil, dbError("select role permissions", err)
	}
	sort.Strings(names)
	return names, nil
}

// SetRolePermissions implements ports.PermissionRepository: it deletes the
// role's rows of that scope and inserts the new ones, in the transaction in
// ctx or, when there is none, in one of its own, so an unknown name leaves
// the old set in place. Names are resolved in one query; active and
// inactive catalog entries are both accepted. On Postgres a transaction
// advisory lock on (scope, role) serializes concurrent replacements of one
// set, which would otherwise merge or collide on the unique index; SQLite
// runs one writer at a time anyway.
func (r *PermissionRepository) SetRolePermissions(ctx context.Context, orgID *uuid.UUID, role domain.Role, names []string, ids func() uuid.UUID, at time.Time) error {
	wanted := permissionNameSet(names)
	return NewTxManager(r.db).WithinTx(ctx, func(ctx context.Context) error {
		db := conn(ctx, r.db)
		if r.db.Dialect == Postgres {
			scope := "global"
			if orgID != nil {
				scope = orgID.String()
			}
			if _, err := db.NewRaw("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))",
				"role_permissions:"+scope+":"+string(role)).Exec(ctx); err != nil {
				return dbError("lock role permissions", err)
			}
		}
		var found []permissionRow
		if len(wanted) > 0 {
			if err := db.NewSelect().Model(&found).Column("id", "name").
				Where("p.name IN (?)", bun.List(wanted)).Scan(ctx); err != nil {
				return dbError("resolve permission names", err)
			}
			if len(found) != len(wanted) {
				return domain.ErrPermissionNotFound
			}
		}
		del := db.NewDelete().Model((*rolePermissionRow)(nil)).Where("role = ?", string(role))
		if orgID != nil {
			del = del.Where("org_id = ?", *orgID)
		} else {
			del = del.Where("org_id IS NULL")
		}
		if _, err := del.Exec(ctx); err != nil {
			return dbError("delete role permissions", err)
		}
		if len(found) == 0 {
			return nil
		}
		rows := make([]rolePermissionRow, len(found))
		for i, p := range found {
			rows[i] = rolePermissionRow{ID: ids(), OrgID: orgID, Role: string(role), PermissionID: p.ID, CreatedAt: at.UTC()}
		}
		if _, err := db.NewInsert().Model(&rows).Exec(ctx); err != nil {
			if _, ok := uniqueViolation(err); ok {
				return domain.ErrConflict
			}
			return dbError("insert role permissions", err)
		}
		return nil
	})
}

// AddGrant implements ports.PermissionRepository. The permission's name is
// resolved inside the INSERT, so a missing name inserts nothing and is
// domain.ErrPermissionNotFound; an inactive entry is accepted.
func (r *PermissionRepository) AddGrant(ctx context.Context, g domain.Grant) error {
	res, err := conn(ctx, r.db).NewRaw(
		`INSERT INTO grants (id, org_id, user_id, permission_id, is_active, expires_at, granted_by, created_at)
		SELECT ?, ?, ?, p.id, ?, ?, ?, ? FROM permissions AS p WHERE p.name = ?`,
		g.ID, g.OrgID, g.UserID, g.IsActive, utcPtr(g.ExpiresAt), g.GrantedBy, g.CreatedAt.UTC(), g.Permission,
	).Exec(ctx)
	if err != nil {
		if _, ok := uniqueViolation(err); ok {
			return domain.ErrConflict
		}
		return dbError("insert grant", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return dbError("insert grant", err)
	}
	if n == 0 {
		return domain.ErrPermissionNotFound
	}
	return nil
}

// Grants implements ports.PermissionRepository: every grant of the
// organization, live or not, newest first.
func (r *PermissionRepository) Grants(ctx context.Context, orgID uuid.UUID) ([]domain.Grant, error) {
	var rows []grantRow
	err := conn(ctx, r.db).NewSelect().TableExpr("grants AS g").
		Join("JOIN permissions AS p ON p.id = g.permission_id").
		ColumnExpr(grantColumns).
		Where("g.org_id = ?", orgID).
		OrderExpr("g.created_at DESC, g.id DESC").Scan(ctx, &rows)
	if err != nil {
		return nil, dbError("list grants", err)
	}
	out := make([]domain.Grant, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// DeleteGrant implements ports.PermissionRepository; a grant of another
// organization is not found.
func (r *PermissionRepository) DeleteGrant(ctx context.Context, orgID, grantID uuid.UUID) error {
	res, err := conn(ctx, r.db).NewDelete().TableExpr("grants").
		Where("id = ?", grantID).Where("org_id = ?", orgID).Exec(ctx)
	if err != nil {
		return dbError("delete grant", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return dbError("delete grant", err)
	}
	if n == 0 {
		return domain.ErrGrantNotFound
	}
	return nil
}

// DeleteUserGrants implements ports.PermissionRepository.
func (r *PermissionRepository) DeleteUserGrants(ctx context.Context, orgID, userID uuid.UUID) (int, error) {
	res, err := conn(ctx, r.db).NewDelete().TableExpr("grants").
		Where("org_id = ?", orgID).Where("user_id = ?", userID).Exec(ctx)
	if err != nil {
		return 0, dbError("delete user grants", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, dbError("delete user grants", err)
	}
	return int(n), nil
}

// whereRolePermissionScope keeps role_permissions rows (aliased rp) of one
// organization, or the global defaults when orgID is nil.
func whereRolePermissionScope(q *bun.SelectQuery, orgID *uuid.UUID) *bun.SelectQuery {
	if orgID == nil {
		return q.Where("rp.org_id IS NULL")
	}
	return q.Where("rp.org_id = ?", *orgID)
}

// permissionNameSet returns the distinct strings of in, sorted.
func permissionNameSet(in []string) []string {
	seen := make(map[string]bool, len(in))
	out := make([]string, 0, len(in))
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

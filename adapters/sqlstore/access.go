package sqlstore

import (
	"context"
	"slices"
	"sort"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// AccessQuery loads access facts for authorization, on the hot path of
// every client service's request. Whatever the number of organizations it
// runs at most four queries: the user; the organizations with the user's
// membership; then, for a system admin, the active catalog, otherwise the
// role permissions of the roles involved and the user's grants. The
// queries see one snapshot only when ctx carries a transaction.
type AccessQuery struct{ db *DB }

var _ ports.AccessQuery = (*AccessQuery)(nil)

// NewAccessQuery returns an AccessQuery on db.
func NewAccessQuery(db *DB) *AccessQuery { return &AccessQuery{db: db} }

type accessUserRow struct {
	IsActive      bool `bun:"is_active"`
	IsSystemAdmin bool `bun:"is_system_admin"`
}

type accessOrgRow struct {
	ID       uuid.UUID `bun:"id,type:uuid"`
	Name     string    `bun:"name"`
	Slug     string    `bun:"slug"`
	IsActive bool      `bun:"is_active"`
	Role     *string   `bun:"role"`
}

type accessRolePermissionRow struct {
	OrgID *uuid.UUID `bun:"org_id,type:uuid"`
	Role  string     `bun:"role"`
	Name  string     `bun:"name"`
}

// Facts implements ports.AccessQuery. An unknown user stops after the
// first query with zero facts (UserActive false) for every organization.
// A system admin's facts carry the catalog but no role permissions or
// grants, which the catalog supersedes. Only active catalog entries are
// named; grants are returned live or not, for the domain to judge at its
// own now.
func (a *AccessQuery) Facts(ctx context.Context, userID uuid.UUID, orgIDs []uuid.UUID) (map[uuid.UUID]domain.AccessFacts, error) {
	facts := make(map[uuid.UUID]*domain.AccessFacts, len(orgIDs))
	var asked []uuid.UUID
	for _, id := range orgIDs {
		if _, ok := facts[id]; !ok {
			facts[id] = &domain.AccessFacts{}
			asked = append(asked, id)
		}
	}
	if len(asked) == 0 {
		return map[uuid.UUID]domain.AccessFacts{}, nil
	}
	db := conn(ctx, a.db)

	var user accessUserRow
	err := db.NewSelect().TableExpr("users").ColumnExpr("is_active, is_system_admin").
		Where("id = ?", userID).Limit(1).Scan(ctx, &user)
	if isNoRows(err) {
		return accessFactValues(facts), nil
	}
	if err != nil {
		return nil, dbError("select user access", err)
	}

	var orgs []accessOrgRow
	err = db.NewSelect().TableExpr("organizations AS o").
		Join("LEFT JOIN memberships AS m ON m.org_id = o.id AND m.user_id = ?", userID).
		ColumnExpr("o.id, o.name, o.slug, o.is_active, m.role").
		Where("o.id IN (?)", bun.List(asked)).Scan(ctx, &orgs)
	if err != nil {
		return nil, dbError("select organizations access", err)
	}
	for _, f := range facts {
		f.UserActive, f.IsSystemAdmin = user.IsActive, user.IsSystemAdmin
	}
	var existing, memberOrgs []uuid.UUID
	roles := map[string]bool{}
	for _, o := range orgs {
		f := facts[o.ID]
		f.OrgExists, f.OrgActive, f.OrgName, f.OrgSlug = true, o.IsActive, o.Name, o.Slug
		existing = append(existing, o.ID)
		if o.Role != nil {
			f.Role = domain.Role(*o.Role)
			memberOrgs = append(memberOrgs, o.ID)
			roles[*o.Role] = true
		}
	}
	if len(existing) == 0 {
		return accessFactValues(facts), nil
	}

	if user.IsSystemAdmin {
		var catalog []string
		err := db.NewSelect().TableExpr("permissions").ColumnExpr("name").
			Where("is_active = ?", true).Scan(ctx, &catalog)
		if err != nil {
			return nil, dbError("select permission catalog", err)
		}
		sort.Strings(catalog)
		for _, id := range existing {
			facts[id].Catalog = slices.Clone(catalog)
		}
		return accessFactValues(facts), nil
	}

	if len(memberOrgs) > 0 {
		if err := a.loadRolePermissions(ctx, db, facts, memberOrgs, roles); err != nil {
			return nil, err
		}
	}

	var grants []grantRow
	err = db.NewSelect().TableExpr("grants AS g").
		Join("JOIN permissions AS p ON p.id = g.permission_id").
		ColumnExpr(grantColumns).
		Where("g.user_id = ?", userID).Where("g.org_id IN (?)", bun.List(existing)).
		Where("p.is_active = ?", true).
		OrderExpr("g.created_at DESC, g.id DESC").Scan(ctx, &grants)
	if err != nil {
		return nil, dbError("select grants access", err)
	}
	for i := range grants {
		f := facts[grants[i].OrgID]
		f.Grants = append(f.Grants, grants[i].toDomain())
	}
	return accessFactValues(facts), nil
}

// loadRolePermissions fills RoleDefaults and OrgRolePermissions of the
// member organizations in one query: the global rows of the roles involved
// and the rows of those organizations, of which only those of the user's
// role in each are kept.
func (a *AccessQuery) loadRolePermissions(ctx context.Context, db bun.IDB, facts map[uuid.UUID]*domain.AccessFacts, memberOrgs []uuid.UUID, roles map[string]bool) error {
	roleList := make([]string, 0, len(roles))
	for r := range roles {
		roleList = append(roleList, r)
	}
	var rows []accessRolePermissionRow
	err := db.NewSelect().TableExpr("role_permissions AS rp").
		Join("JOIN permissions AS p ON p.id = rp.permission_id").
		ColumnExpr("rp.org_id, rp.role, p.name").
		Where("p.is_active = ?", true).
		Where("rp.role IN (?)", bun.List(roleList)).
		Where("(rp.org_id IS NULL OR rp.org_id IN (?))", bun.List(memberOrgs)).
		Scan(ctx, &rows)
	if err != nil {
		return dbError("select role permissions access", err)
	}
	defaults := map[domain.Role][]string{}
	for _, r := range rows {
		role := domain.Role(r.Role)
		if r.OrgID == nil {
			defaults[role] = append(defaults[role], r.Name)
			continue
		}
		if f := facts[*r.OrgID]; f.Role == role {
			f.OrgRolePermissions = append(f.OrgRolePermissions, r.Name)
		}
	}
	for _, id := range memberOrgs {
		f := facts[id]
		if d := defaults[f.Role]; len(d) > 0 {
			f.RoleDefaults = slices.Clone(d)
			sort.Strings(f.RoleDefaults)
		}
		sort.Strings(f.OrgRolePermissions)
	}
	return nil
}

func accessFactValues(in map[uuid.UUID]*domain.AccessFacts) map[uuid.UUID]domain.AccessFacts {
	out := make(map[uuid.UUID]domain.AccessFacts, len(in))
	for id, f := range in {
		out[id] = *f
	}
	return out
}

var _ ports.AccessStamps = (*AccessQuery)(nil)

// globalStampSubject is the access_stamps row of what every user's facts
// depend on (see the access_stamps migration).
var globalStampSubject = uuid.Nil

// accessStamps reads both stamps of a user in one statement; a user never
// written since the migration has no row and stamp 0.
var accessStamps = prepare(`SELECT subject, stamp FROM access_stamps WHERE subject IN (?, ?)`)

// Stamp implements ports.AccessStamps.
func (a *AccessQuery) Stamp(ctx context.Context, userID uuid.UUID) (ports.AccessStamp, error) {
	rows, err := a.db.query(ctx, accessStamps, userID, globalStampSubject)
	if err != nil {
		return ports.AccessStamp{}, dbError("select access stamps", err)
	}
	defer rows.Close()
	var st ports.AccessStamp
	for rows.Next() {
		var subject uuid.UUID
		var stamp int64
		if err := rows.Scan(&subject, &stamp); err != nil {
			return ports.AccessStamp{}, dbError("scan access stamps", err)
		}
		if subject == globalStampSubject {
			st.Global = stamp
		} else {
			st.User = stamp
		}
	}
	return st, dbError("select access stamps", rows.Err())
}

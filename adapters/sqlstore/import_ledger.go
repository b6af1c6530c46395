package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// legacyIDRow maps one imported row's old integer id to its UMS id. Clients
// translate old ids with e.g.
// SELECT new_id FROM legacy_ids WHERE kind = 'user' AND old_id = 42.
type legacyIDRow struct {
	bun.BaseModel `bun:"table:legacy_ids"`

	Kind       string     `bun:"kind,pk"`
	OldID      int64      `bun:"old_id,pk"`
	NewID      *uuid.UUID `bun:"new_id,type:uuid"`
	ImportedAt time.Time  `bun:"imported_at"`
}

// ImportLedger is a ports.ImportLedger on the legacy_ids table.
type ImportLedger struct{ db *DB }

var _ ports.ImportLedger = (*ImportLedger)(nil)

// NewImportLedger returns an ImportLedger on db.
func NewImportLedger(db *DB) *ImportLedger { return &ImportLedger{db: db} }

// Known implements ports.ImportLedger.
func (l *ImportLedger) Known(ctx context.Context, kind string) (map[int64]uuid.UUID, error) {
	var rows []legacyIDRow
	if err := conn(ctx, l.db).NewSelect().Model(&rows).Where("kind = ?", kind).Scan(ctx); err != nil {
		return nil, dbError("select legacy ids", err)
	}
	out := make(map[int64]uuid.UUID, len(rows))
	for _, r := range rows {
		id := uuid.Nil
		if r.NewID != nil {
			id = *r.NewID
		}
		out[r.OldID] = id
	}
	return out, nil
}

// Remember implements ports.ImportLedger; uuid.Nil is stored as NULL.
func (l *ImportLedger) Remember(ctx context.Context, kind string, oldID int64, newID uuid.UUID, at time.Time) error {
	row := &legacyIDRow{Kind: kind, OldID: oldID, ImportedAt: at.UTC()}
	if newID != uuid.Nil {
		row.NewID = &newID
	}
	if _, err := conn(ctx, l.db).NewInsert().Model(row).Exec(ctx); err != nil {
		if _, ok := uniqueViolation(err); ok {
			return domain.ErrConflict
		}
		return dbError("insert legacy id", err)
	}
	return nil
}

// SlugTaken implements ports.ImportLedger.
func (l *ImportLedger) SlugTaken(ctx context.Context, slug string) (bool, error) {
	n, err := conn(ctx, l.db).NewSelect().TableExpr("organizations").
		Where("lower(slug) = ?", strings.ToLower(slug)).Count(ctx)
	if err != nil {
		return false, dbError("look up slug", err)
	}
	return n > 0, nil
}

// AddRolePermission implements ports.ImportLedger with one INSERT … SELECT
// that adds nothing when the pair exists, so it never raises a unique
// violation (which would abort a Postgres transaction).
func (l *ImportLedger) AddRolePermission(ctx context.Context, id uuid.UUID, orgID *uuid.UUID, role domain.Role, permission string, at time.Time) (bool, error) {
	scope := "rp.org_id IS NULL"
	args := []any{id, orgID, string(role), at.UTC(), permission, string(role)}
	if orgID != nil {
		scope = "rp.org_id = ?"
		args = append(args, *orgID)
	}
	res, err := conn(ctx, l.db).NewRaw(`INSERT INTO role_permissions (id, org_id, role, permission_id, created_at)
		SELECT ?, ?, ?, p.id, ? FROM permissions AS p WHERE p.name = ?
		AND NOT EXISTS (SELECT 1 FROM role_permissions AS rp WHERE rp.permission_id = p.id AND rp.role = ? AND `+scope+`)`,
		args...).Exec(ctx)
	if err != nil {
		return false, dbError("insert role permission", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, dbError("insert role permission", err)
	}
	return n == 1, nil
}

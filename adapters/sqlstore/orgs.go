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

type orgRow struct {
	bun.BaseModel `bun:"table:organizations,alias:o"`

	ID          uuid.UUID `bun:"id,pk,type:uuid"`
	Name        string    `bun:"name"`
	Slug        string    `bun:"slug"`
	Description string    `bun:"description"`
	IsActive    bool      `bun:"is_active"`
	CreatedAt   time.Time `bun:"created_at"`
	UpdatedAt   time.Time `bun:"updated_at"`
}

func toOrgRow(o domain.Organization) *orgRow {
	return &orgRow{
		ID: o.ID, Name: o.Name, Slug: o.Slug, Description: o.Description, IsActive: o.IsActive,
		CreatedAt: o.CreatedAt.UTC(), UpdatedAt: o.UpdatedAt.UTC(),
	}
}

func (r *orgRow) toDomain() domain.Organization {
	return domain.Organization{
		ID: r.ID, Name: r.Name, Slug: r.Slug, Description: r.Description, IsActive: r.IsActive,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
}

// OrgRepository stores organizations in the organizations table.
type OrgRepository struct{ db *DB }

var _ ports.OrgRepository = (*OrgRepository)(nil)

// NewOrgRepository returns an OrgRepository on db.
func NewOrgRepository(db *DB) *OrgRepository { return &OrgRepository{db: db} }

// Create implements ports.OrgRepository.
func (r *OrgRepository) Create(ctx context.Context, o domain.Organization) error {
	if _, err := conn(ctx, r.db).NewInsert().Model(toOrgRow(o)).Exec(ctx); err != nil {
		return orgWriteError("insert organization", err)
	}
	return nil
}

// ByID implements ports.OrgRepository.
func (r *OrgRepository) ByID(ctx context.Context, id uuid.UUID) (domain.Organization, error) {
	row := new(orgRow)
	if err := conn(ctx, r.db).NewSelect().Model(row).Where("o.id = ?", id).Limit(1).Scan(ctx); err != nil {
		if isNoRows(err) {
			return domain.Organization{}, domain.ErrOrgNotFound
		}
		return domain.Organization{}, dbError("select organization", err)
	}
	return row.toDomain(), nil
}

// Update implements ports.OrgRepository.
func (r *OrgRepository) Update(ctx context.Context, id uuid.UUID, ch domain.OrgChange) error {
	if ch.Empty() {
		return nil
	}
	q := conn(ctx, r.db).NewUpdate().Model((*orgRow)(nil))
	if ch.Name != nil {
		q = q.Set("name = ?", *ch.Name)
	}
	if ch.Slug != nil {
		q = q.Set("slug = ?", *ch.Slug)
	}
	if ch.Description != nil {
		q = q.Set("description = ?", *ch.Description)
	}
	if ch.Active != nil {
		q = q.Set("is_active = ?", *ch.Active)
	}
	res, err := q.Set("updated_at = ?", ch.At.UTC()).Where("id = ?", id).Exec(ctx)
	if err != nil {
		return orgWriteError("update organization", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return dbError("update organization", err)
	}
	if n == 0 {
		return domain.ErrOrgNotFound
	}
	return nil
}

// List implements ports.OrgRepository. Q is a case-insensitive substring
// of the name or the slug; SQLite's lower() folds ASCII letters only.
func (r *OrgRepository) List(ctx context.Context, f ports.OrgFilter, p ports.Page) ([]domain.Organization, string, error) {
	after, ok, err := decodeKeyset("orgs", p.Cursor)
	if err != nil {
		return nil, "", err
	}
	limit := keysetLimit(p.Limit)
	var rows []orgRow
	q := conn(ctx, r.db).NewSelect().Model(&rows)
	if f.MemberID != nil {
		q = q.Join("JOIN memberships AS m ON m.org_id = o.id").Where("m.user_id = ?", *f.MemberID)
	}
	if s := strings.TrimSpace(f.Q); s != "" {
		pattern := orgLikePattern(s)
		q = q.Where(`(lower(o.name) LIKE ? ESCAPE '\' OR lower(o.slug) LIKE ? ESCAPE '\')`, pattern, pattern)
	}
	if ok {
		q = q.Where("(o.created_at, o.id) > (?, ?)", after.at, after.id)
	}
	if err := q.OrderExpr("o.created_at ASC, o.id ASC").Limit(int64(limit + 1)).Scan(ctx); err != nil {
		return nil, "", dbError("list organizations", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		next = keyset{list: "orgs", at: last.CreatedAt, id: last.ID}.encode()
	}
	out := make([]domain.Organization, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, next, nil
}

// orgLikePattern is a LIKE pattern (escape character '\') matching s,
// lowercased, anywhere in a value.
func orgLikePattern(s string) string {
	s = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(strings.ToLower(s))
	return "%" + s + "%"
}

func orgWriteError(what string, err error) error {
	if name, ok := uniqueViolation(err); ok {
		if strings.Contains(name, "slug") {
			return domain.ErrSlugTaken
		}
		return domain.ErrConflict
	}
	return dbError(what, err)
}

package sqlstore

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// Page sizes of the admin lists.
const (
	dirDefaultLimit = 50
	dirMaxLimit     = 200
	// dirMaxCursorLen bounds what is decoded: a real cursor is far shorter.
	dirMaxCursorLen = 1024
)

// dirPageLimit applies the default and the ceiling to a requested size.
func dirPageLimit(n int) int {
	switch {
	case n <= 0:
		return dirDefaultLimit
	case n > dirMaxLimit:
		return dirMaxLimit
	}
	return n
}

// dirCursor is the position after the last row of a keyset page: the list
// (and order) it was made for, that row's sort key and its id. Naming the
// list makes a cursor of one order, or of another list, fail loudly rather
// than skip or repeat rows.
type dirCursor struct {
	List string    `json:"l"`
	Key  string    `json:"k"`
	ID   uuid.UUID `json:"i"`
}

// errDirCursor is the answer to any cursor this package did not make for
// the list it is given to.
func errDirCursor() error {
	return domain.Invalid(domain.FieldError{Field: "cursor", Code: "invalid_cursor",
		Message: "is not a cursor of this list in this order; start again without one"})
}

func encodeDirCursor(c dirCursor) string {
	b, err := json.Marshal(c)
	if err != nil {
		panic(err) // strings and a uuid always marshal
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeDirCursor reads a cursor back and checks it was made for list.
func decodeDirCursor(s, list string) (dirCursor, error) {
	if len(s) > dirMaxCursorLen {
		return dirCursor{}, errDirCursor()
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return dirCursor{}, errDirCursor()
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var c dirCursor
	if err := dec.Decode(&c); err != nil || dec.More() || c.List != list || c.ID == uuid.Nil {
		return dirCursor{}, errDirCursor()
	}
	return c, nil
}

// dirTimeKey writes a time sort key; stores keep whole microseconds, so
// the key round-trips exactly.
func dirTimeKey(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func parseDirTimeKey(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, errDirCursor()
	}
	return t.UTC(), nil
}

// dirUserSort is how one ports.UserSort reads in SQL. Every order ends with
// the id, so it is total and a keyset position is never ambiguous.
type dirUserSort struct {
	expr   string // the sort key, over the users model's alias
	desc   bool
	isTime bool
	key    func(r *userRow) string
}

var dirUserSorts = map[ports.UserSort]dirUserSort{
	ports.SortCreatedAsc:   {expr: "?TableAlias.created_at", isTime: true, key: dirCreatedKey},
	ports.SortCreatedDesc:  {expr: "?TableAlias.created_at", isTime: true, desc: true, key: dirCreatedKey},
	ports.SortUsernameAsc:  {expr: "lower(?TableAlias.username)", key: dirUsernameKey},
	ports.SortUsernameDesc: {expr: "lower(?TableAlias.username)", desc: true, key: dirUsernameKey},
	ports.SortEmailAsc:     {expr: "lower(?TableAlias.email)", key: dirEmailKey},
	ports.SortEmailDesc:    {expr: "lower(?TableAlias.email)", desc: true, key: dirEmailKey},
}

func dirCreatedKey(r *userRow) string { return dirTimeKey(r.CreatedAt) }

// Usernames are ASCII and emails are stored lower-cased, so Go's and
// SQL's lower() agree on them.
func dirUsernameKey(r *userRow) string { return strings.ToLower(r.Username) }
func dirEmailKey(r *userRow) string    { return strings.ToLower(r.Email) }

// escapeDirLike makes s match itself literally in a LIKE with ESCAPE '!'.
func escapeDirLike(s string) string {
	return strings.NewReplacer("!", "!!", "%", "!%", "_", "!_").Replace(s)
}

// UserDirectory lists users for administrators from the users table.
type UserDirectory struct{ db *DB }

var _ ports.UserDirectory = (*UserDirectory)(nil)

// NewUserDirectory returns a UserDirectory on db.
func NewUserDirectory(db *DB) *UserDirectory { return &UserDirectory{db: db} }

// List implements ports.UserDirectory. A Q search scans the table: there is
// no trigram index on SQLite, and admin lists are small and rare.
func (d *UserDirectory) List(ctx context.Context, f ports.UserFilter, p ports.Page) ([]domain.User, string, error) {
	sortName := f.Sort
	if sortName == "" {
		sortName = ports.SortCreatedAsc
	}
	s, ok := dirUserSorts[sortName]
	if !ok {
		return nil, "", domain.Invalid(domain.FieldError{Field: "sort", Code: "invalid_sort",
			Message: "must be one of created_at, -created_at, username, -username, email, -email"})
	}
	list := "users:" + string(sortName)
	limit := dirPageLimit(p.Limit)
	dir, op := "ASC", ">"
	if s.desc {
		dir, op = "DESC", "<"
	}

	var rows []userRow
	q := conn(ctx, d.db).NewSelect().Model(&rows)
	if p.Cursor != "" {
		c, err := decodeDirCursor(p.Cursor, list)
		if err != nil {
			return nil, "", err
		}
		var key any = c.Key
		if s.isTime {
			if key, err = parseDirTimeKey(c.Key); err != nil {
				return nil, "", err
			}
		}
		q = q.Where("("+s.expr+", ?TableAlias.id) "+op+" (?, ?)", key, c.ID)
	}
	if needle := strings.TrimSpace(f.Q); needle != "" {
		pattern := "%" + escapeDirLike(strings.ToLower(needle)) + "%"
		q = q.Where("(lower(?TableAlias.email) LIKE ? ESCAPE '!'"+
			" OR lower(?TableAlias.username) LIKE ? ESCAPE '!'"+
			" OR lower(?TableAlias.first_name) LIKE ? ESCAPE '!'"+
			" OR lower(?TableAlias.last_name) LIKE ? ESCAPE '!')",
			pattern, pattern, pattern, pattern)
	}
	// People only: service accounts are listed with their organization.
	q = q.Where("?TableAlias.kind = 'person'")
	if f.IsActive != nil {
		q = q.Where("?TableAlias.is_active = ?", *f.IsActive)
	}
	if f.OrgID != nil {
		q = q.Where("EXISTS (SELECT 1 FROM memberships AS dir_m WHERE dir_m.user_id = ?TableAlias.id AND dir_m.org_id = ?)", *f.OrgID)
	}
	err := q.OrderExpr(s.expr + " " + dir + ", ?TableAlias.id " + dir).Limit(int64(limit + 1)).Scan(ctx)
	if err != nil {
		return nil, "", dbError("list users", err)
	}

	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		last := &rows[limit-1]
		next = encodeDirCursor(dirCursor{List: list, Key: s.key(last), ID: last.ID})
	}
	out := make([]domain.User, len(rows))
	for i := range rows {
		u, err := rows[i].toDomain()
		if err != nil {
			return nil, "", err
		}
		out[i] = *u
	}
	return out, next, nil
}

// Numbered implements ports.UserDirectory: one page by offset, in
// creation order, with the total.
func (d *UserDirectory) Numbered(ctx context.Context, offset, limit int) ([]domain.User, int, error) {
	var rows []userRow
	total, err := conn(ctx, d.db).NewSelect().Model(&rows).Where("?TableAlias.kind = 'person'").
		OrderExpr("?TableAlias.created_at ASC, ?TableAlias.id ASC").Offset(int64(offset)).Limit(int64(limit)).ScanAndCount(ctx)
	if err != nil {
		return nil, 0, dbError("list users by page", err)
	}
	out := make([]domain.User, len(rows))
	for i := range rows {
		u, err := rows[i].toDomain()
		if err != nil {
			return nil, 0, err
		}
		out[i] = *u
	}
	return out, int(total), nil
}

// CountActiveAdmins implements ports.UserDirectory. On Postgres the admins'
// rows are locked (an aggregate cannot be FOR UPDATE, hence the subquery);
// SQLite transactions here take the write lock when they begin, which
// already serialises two demotions.
func (d *UserDirectory) CountActiveAdmins(ctx context.Context) (int, error) {
	query := "SELECT count(*) FROM users WHERE is_system_admin AND is_active"
	if d.db.Dialect == Postgres {
		query = "SELECT count(*) FROM (SELECT 1 FROM users WHERE is_system_admin AND is_active FOR UPDATE) AS admins"
	}
	var n int
	if err := conn(ctx, d.db).NewRaw(query).Scan(ctx, &n); err != nil {
		return 0, dbError("count active admins", err)
	}
	return n, nil
}

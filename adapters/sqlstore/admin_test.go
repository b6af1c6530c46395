package sqlstore_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/ums-project/ums/adapters/sqlstore"
	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
	"github.com/ums-project/ums/ports/porttest"
)

func TestUserDirectoryContract(t *testing.T) {
	for name, url := range stores() {
		t.Run(name, func(t *testing.T) {
			porttest.RunUserDirectory(t, func(t *testing.T) porttest.UserDirectoryStore {
				db := openMigrated(t, url(t))
				return porttest.UserDirectoryStore{
					Directory:     sqlstore.NewUserDirectory(db),
					Users:         sqlstore.NewUserRepository(db),
					Tx:            sqlstore.NewTxManager(db),
					AddMembership: func(ctx context.Context, m domain.Membership) error { return addMembership(ctx, db, m) },
				}
			})
		})
	}
}

func TestAuditQueryContract(t *testing.T) {
	for name, url := range stores() {
		t.Run(name, func(t *testing.T) {
			porttest.RunAuditQuery(t, func(t *testing.T) porttest.AuditQueryStore {
				db := openMigrated(t, url(t))
				return porttest.AuditQueryStore{
					Query: sqlstore.NewAuditQuery(db),
					Log:   sqlstore.NewAuditLog(db),
					Tx:    sqlstore.NewTxManager(db),
				}
			})
		})
	}
}

func TestPersonalDataContract(t *testing.T) {
	for name, url := range stores() {
		t.Run(name, func(t *testing.T) {
			porttest.RunPersonalData(t, func(t *testing.T) porttest.PersonalDataStore {
				db := openMigrated(t, url(t))
				return porttest.PersonalDataStore{
					PersonalData:  sqlstore.NewPersonalData(db),
					Users:         sqlstore.NewUserRepository(db),
					Tx:            sqlstore.NewTxManager(db),
					Log:           sqlstore.NewAuditLog(db),
					Audit:         sqlstore.NewAuditQuery(db),
					Sessions:      sqlstore.NewSessionRepository(db),
					Tokens:        sqlstore.NewOneTimeTokenRepository(db),
					History:       sqlstore.NewPasswordHistory(db),
					Codes:         sqlstore.NewRecoveryCodes(db),
					Throttle:      sqlstore.NewLoginThrottle(db, ports.ThrottlePolicy{MaxFailures: 5, Window: 15 * time.Minute, Lockout: 15 * time.Minute}),
					Outbox:        sqlstore.NewMailOutbox(db, newOutboxTestBox(t)),
					AddMembership: func(ctx context.Context, m domain.Membership) error { return addMembership(ctx, db, m) },
					AddGrant:      func(ctx context.Context, g domain.Grant) error { return addGrant(ctx, db, g) },
					Leftovers:     func(ctx context.Context, u domain.User) (map[string]int, error) { return leftovers(ctx, db, u) },
				}
			})
		})
	}
}

// A cursor names the list it belongs to: an audit cursor is no user
// cursor and the other way round.
func TestAdminCursorsDoNotCrossLists(t *testing.T) {
	for name, url := range stores() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db := openMigrated(t, url(t))
			users, audit := sqlstore.NewUserRepository(db), sqlstore.NewAuditLog(db)
			for i := range 3 {
				require.NoError(t, users.Create(ctx, porttest.NewUser(fmt.Sprintf("cross%d", i))))
				require.NoError(t, audit.Record(ctx, domain.AuditEvent{ID: uuid.New(), OccurredAt: time.Now().UTC(),
					Action: "x", Outcome: domain.OutcomeSuccess}))
			}
			dir, query := sqlstore.NewUserDirectory(db), sqlstore.NewAuditQuery(db)
			_, userCursor, err := dir.List(ctx, ports.UserFilter{}, ports.Page{Limit: 1})
			require.NoError(t, err)
			_, auditCursor, err := query.List(ctx, ports.AuditFilter{}, ports.Page{Limit: 1})
			require.NoError(t, err)

			_, _, err = dir.List(ctx, ports.UserFilter{}, ports.Page{Cursor: auditCursor})
			porttest.AssertInvalidField(t, err, "cursor")
			_, _, err = query.List(ctx, ports.AuditFilter{}, ports.Page{Cursor: userCursor})
			porttest.AssertInvalidField(t, err, "cursor")
		})
	}
}

// The export and the erasure read and write tables of the organization
// adapters; they are filled with plain SQL here so these tests depend on
// the schema only.
func addOrg(ctx context.Context, db bun.IDB, id uuid.UUID, at time.Time) error {
	_, err := db.NewRaw("INSERT INTO organizations (id, name, slug, description, is_active, created_at, updated_at)"+
		" VALUES (?, ?, ?, '', ?, ?, ?) ON CONFLICT (id) DO NOTHING",
		id, "Org "+id.String()[:8], "org-"+id.String(), true, at.UTC(), at.UTC()).Exec(ctx)
	return err
}

func addMembership(ctx context.Context, db *sqlstore.DB, m domain.Membership) error {
	return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := addOrg(ctx, tx, m.OrgID, m.CreatedAt); err != nil {
			return err
		}
		_, err := tx.NewRaw("INSERT INTO memberships (org_id, user_id, role, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
			m.OrgID, m.UserID, string(m.Role), m.CreatedAt.UTC(), m.UpdatedAt.UTC()).Exec(ctx)
		return err
	})
}

func addGrant(ctx context.Context, db *sqlstore.DB, g domain.Grant) error {
	return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if err := addOrg(ctx, tx, g.OrgID, g.CreatedAt); err != nil {
			return err
		}
		if _, err := tx.NewRaw("INSERT INTO permissions (id, name, description, category, is_active, created_at, updated_at)"+
			" VALUES (?, ?, '', '', ?, ?, ?) ON CONFLICT (name) DO NOTHING",
			uuid.New(), g.Permission, true, g.CreatedAt.UTC(), g.CreatedAt.UTC()).Exec(ctx); err != nil {
			return err
		}
		var expires any
		if g.ExpiresAt != nil {
			expires = g.ExpiresAt.UTC()
		}
		var grantedBy any
		if g.GrantedBy != nil {
			grantedBy = *g.GrantedBy
		}
		_, err := tx.NewRaw("INSERT INTO grants (id, org_id, user_id, permission_id, is_active, expires_at, granted_by, created_at)"+
			" SELECT ?, ?, ?, p.id, ?, ?, ?, ? FROM permissions AS p WHERE p.name = ?",
			g.ID, g.OrgID, g.UserID, g.IsActive, expires, grantedBy, g.CreatedAt.UTC(), g.Permission).Exec(ctx)
		return err
	})
}

// userColumns are the column names that hold a user's id, as owner, actor,
// target or granter, in any table the migrations make now or later.
var userColumns = []string{"user_id", "actor_id", "target_id", "granted_by", "created_by", "updated_by", "owner_id"}

// leftovers counts the rows anywhere in the database that still name u.
// It finds the user-id columns from the catalog rather than from a list,
// so a table a later migration adds is searched too.
func leftovers(ctx context.Context, db *sqlstore.DB, u domain.User) (map[string]int, error) {
	var cols []struct {
		Table  string `bun:"table_name"`
		Column string `bun:"column_name"`
	}
	catalog := "SELECT table_name, column_name FROM information_schema.columns" +
		" WHERE table_schema = current_schema() AND column_name IN (?)"
	if db.Dialect == sqlstore.SQLite {
		catalog = "SELECT m.name AS table_name, p.name AS column_name" +
			" FROM sqlite_master AS m JOIN pragma_table_info(m.name) AS p" +
			" WHERE m.type = 'table' AND p.name IN (?)"
	}
	if err := db.NewRaw(catalog, bun.List(userColumns)).Scan(ctx, &cols); err != nil {
		return nil, fmt.Errorf("read catalog: %w", err)
	}
	if len(cols) < 8 {
		return nil, fmt.Errorf("the catalog lists only %d user-id columns", len(cols))
	}

	id := u.ID().String()
	email := u.Email().String()
	username := strings.ToLower(u.Username().String())
	type probe struct {
		place, query string
		args         []any
	}
	probes := []probe{
		{"users.id", "SELECT count(*) FROM users WHERE CAST(id AS text) = ?", []any{id}},
		{"users.email", "SELECT count(*) FROM users WHERE lower(email) = ? OR lower(username) = ?", []any{email, username}},
		{"login_attempts.identifier", "SELECT count(*) FROM login_attempts WHERE identifier LIKE ? OR identifier IN (?, ?)",
			[]any{"%" + id + "%", "login:" + email, "login:" + username}},
		{"mail_outbox.recipient", "SELECT count(*) FROM mail_outbox WHERE lower(recipient) = ?", []any{email}},
		{"audit_events.details", "SELECT count(*) FROM audit_events WHERE lower(CAST(details AS text)) LIKE ? OR CAST(details AS text) LIKE ?",
			[]any{"%" + email + "%", "%" + id + "%"}},
		{"one_time_tokens.payload", "SELECT count(*) FROM one_time_tokens WHERE lower(payload) LIKE ?", []any{"%" + email + "%"}},
	}
	for _, c := range cols {
		probes = append(probes, probe{c.Table + "." + c.Column, "SELECT count(*) FROM ? WHERE CAST(? AS text) = ?",
			[]any{bun.Ident(c.Table), bun.Ident(c.Column), id}})
	}
	out := make(map[string]int, len(probes))
	for _, p := range probes {
		var n int
		if err := db.NewRaw(p.query, p.args...).Scan(ctx, &n); err != nil {
			return nil, fmt.Errorf("count %s: %w", p.place, err)
		}
		out[p.place] += n
	}
	return out, nil
}

func TestLeftoversSearchesEveryUserColumn(t *testing.T) {
	for name, url := range stores() {
		t.Run(name, func(t *testing.T) {
			db := openMigrated(t, url(t))
			got, err := leftovers(context.Background(), db, *porttest.NewUser("nobody"))
			require.NoError(t, err)
			for _, place := range []string{
				"sessions.user_id", "password_history.user_id", "mfa_recovery_codes.user_id", "memberships.user_id",
				"grants.user_id", "grants.granted_by", "one_time_tokens.user_id", "audit_events.actor_id",
				"audit_events.target_id", "login_attempts.identifier", "mail_outbox.recipient",
			} {
				assert.Contains(t, got, place)
			}
		})
	}
}

package sqlstore

import (
	"database/sql"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// uniqueViolation returns the name of the unique index a write violated, or
// "" when err is not a unique violation. SQLite reports the index for
// expression indexes ("index 'users_email_key'") and the columns otherwise
// ("users.email"), so both forms are returned as written.
func uniqueViolation(err error) (string, bool) {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return pgErr.ConstraintName, true
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		code := sqErr.Code()
		if code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
			msg := sqErr.Error()
			if i := strings.Index(msg, "index '"); i >= 0 {
				rest := msg[i+len("index '"):]
				if j := strings.IndexByte(rest, '\''); j >= 0 {
					return rest[:j], true
				}
			}
			// modernc prefixes the message ("constraint failed: UNIQUE
			// constraint failed: users.email"), so the last "failed: "
			// is the one followed by the columns.
			if i := strings.LastIndex(msg, "failed: "); i >= 0 {
				if f := strings.Fields(msg[i+len("failed: "):]); len(f) > 0 {
					return strings.TrimSuffix(f[0], ","), true
				}
			}
			return "", true
		}
	}
	return "", false
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

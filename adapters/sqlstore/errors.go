package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/ums-project/ums/domain"
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

// ErrDatabaseDown is the domain's view of a database that could not be
// reached or dropped the connection mid-request: the request was fine and
// may succeed on retry.
var ErrDatabaseDown = domain.Unavailable("unavailable",
	"a dependency of the service is unavailable; retry shortly", 2*time.Second)

// dbError wraps a driver error with the operation that met it. A database
// that is down becomes ErrDatabaseDown, so driving adapters need not know
// database/sql or pgx to answer it; anything else stays an internal
// error. nil stays nil.
func dbError(op string, err error) error {
	if err == nil {
		return nil
	}
	if databaseDown(err) {
		return fmt.Errorf("%s: %w: %w", op, ErrDatabaseDown, err)
	}
	if transactionConflict(err) {
		return fmt.Errorf("%s: %w: %w", op, domain.ErrConcurrentChange, err)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// transactionConflict reports a transaction Postgres aborted to let a
// concurrent one through: a deadlock between row locks (writers bumping
// the access stamps of the same users in another order, say) or a
// serialization failure. The request may simply be retried.
func transactionConflict(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001")
}

// dbErrorSanitized is dbError for errors whose message may carry the
// connection string: the cause is judged before sanitize drops its chain.
func dbErrorSanitized(op string, err error) error {
	if err == nil {
		return nil
	}
	if databaseDown(err) {
		return fmt.Errorf("%s: %w: %w", op, ErrDatabaseDown, sanitize(err))
	}
	return fmt.Errorf("%s: %w", op, sanitize(err))
}

// databaseDown recognizes the causes drivers wrap when the database is
// unreachable: pgx keeps the net.Error or io.ErrUnexpectedEOF it met and
// marks errors that happened before a connection was used (such as one
// found closed) with SafeToRetry; database/sql reports closed connections.
func databaseDown(err error) bool {
	var (
		ne    net.Error
		retry interface{ SafeToRetry() bool }
	)
	return errors.As(err, &ne) ||
		(errors.As(err, &retry) && retry.SafeToRetry()) ||
		errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, context.DeadlineExceeded)
}

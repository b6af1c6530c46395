package sqlstore

import (
	"context"
	"database/sql"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/uptrace/bun"
)

// prepared is a fixed statement of a hot read path (a token check, the
// user behind /me, the access stamps of /authorize). Bun renders arguments
// into the SQL text, so Postgres parses and plans each of its queries anew
// (and the pool runs them over the simple protocol for that reason); a
// prepared statement sends its arguments apart and is planned once per
// connection (pgx's statement cache), which halves Postgres's CPU on these
// paths. On SQLite the statement runs as written.
type prepared struct{ sqlite, postgres, span string }

// prepare turns a statement written with ? placeholders (and no other
// question marks) into both dialects' forms.
func prepare(query string) prepared {
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return prepared{sqlite: query, postgres: b.String(), span: statementSpanName(query)}
}

// query runs q with args on the transaction in ctx or on db.
func (db *DB) query(ctx context.Context, q prepared, args ...any) (*sql.Rows, error) {
	if db.tracer != nil {
		return db.tracedQuery(ctx, q, args...)
	}
	return db.runQuery(ctx, q, args...)
}

func (db *DB) runQuery(ctx context.Context, q prepared, args ...any) (*sql.Rows, error) {
	var runner interface {
		QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	}
	if tx, ok := ctx.Value(txKey{}).(bun.Tx); ok {
		runner = tx.Tx
	} else {
		runner = db.DB.DB
	}
	if db.Dialect == Postgres {
		return runner.QueryContext(ctx, q.postgres, append([]any{pgx.QueryExecModeCacheStatement}, args...)...)
	}
	return runner.QueryContext(ctx, q.sqlite, args...)
}

// queryRow runs q and scans its first row into dest (a model pointer, or
// one pointer per column) the way Bun scans: sql.ErrNoRows when there is
// none.
func (db *DB) queryRow(ctx context.Context, q prepared, dest []any, args ...any) error {
	rows, err := db.query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := db.ScanRow(ctx, rows, dest...); err != nil {
		return err
	}
	return rows.Close()
}

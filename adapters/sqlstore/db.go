package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	"go.opentelemetry.io/otel/trace"
	_ "modernc.org/sqlite" // registers the pure-Go "sqlite" driver
)

// Dialect names the SQL engine behind a DB.
type Dialect string

// Supported dialects.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// PoolConfig sizes the connection pool.
type PoolConfig struct {
	MaxOpenConns    int
	MaxIdleConns    int
	ConnMaxLifetime time.Duration
	ConnMaxIdleTime time.Duration
	// PingOnOpen checks the database answers before Open returns.
	PingOnOpen bool
}

// DB is an open database and its dialect.
type DB struct {
	*bun.DB
	Dialect Dialect
	// tracer, set by Trace, traces the prepared reads Bun does not see.
	tracer trace.Tracer
}

// DialectOf tells which dialect a DATABASE_URL selects.
func DialectOf(databaseURL string) (Dialect, error) {
	switch {
	case strings.HasPrefix(databaseURL, "postgres://"), strings.HasPrefix(databaseURL, "postgresql://"):
		return Postgres, nil
	case strings.HasPrefix(databaseURL, "sqlite:"):
		return SQLite, nil
	default:
		return "", fmt.Errorf("unsupported database URL scheme (want postgres:// or sqlite://)")
	}
}

// Open connects to databaseURL: postgres://… or sqlite://path. For SQLite the
// file's directory is created when missing.
func Open(ctx context.Context, databaseURL string, pool PoolConfig) (*DB, error) {
	d, err := DialectOf(databaseURL)
	if err != nil {
		return nil, err
	}
	var db *DB
	switch d {
	case Postgres:
		cfg, err := pgx.ParseConfig(databaseURL)
		if err != nil {
			// pgx's message may echo the URL and with it a password.
			return nil, fmt.Errorf("parse postgres DATABASE_URL: invalid connection string")
		}
		// Bun renders every argument into the SQL text, so each query is
		// new to pgx's statement cache: the default mode would prepare
		// (an extra round trip and a plan) and evict on every query. The
		// simple protocol sends it in one round trip.
		cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
		// A database that accepts connections but never answers must not
		// hang requests: bound the connect unless the URL sets its own.
		if cfg.ConnectTimeout == 0 {
			cfg.ConnectTimeout = 5 * time.Second
		}
		sqldb := stdlib.OpenDB(*cfg)
		db = &DB{DB: bun.NewDB(sqldb, pgdialect.New()), Dialect: Postgres}
	case SQLite:
		sqldb, err := openSQLite(databaseURL)
		if err != nil {
			return nil, err
		}
		db = &DB{DB: bun.NewDB(sqldb, sqlitedialect.New()), Dialect: SQLite}
	}
	if pool.MaxOpenConns > 0 {
		db.SetMaxOpenConns(pool.MaxOpenConns)
	}
	if pool.MaxIdleConns > 0 {
		db.SetMaxIdleConns(pool.MaxIdleConns)
	}
	db.SetConnMaxLifetime(pool.ConnMaxLifetime)
	db.SetConnMaxIdleTime(pool.ConnMaxIdleTime)
	if pool.PingOnOpen {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := db.PingContext(pctx); err != nil {
			_ = db.Close()
			return nil, dbErrorSanitized("connect to "+string(d), err)
		}
	}
	return db, nil
}

// SQLitePath extracts the file path from a sqlite:// URL.
func SQLitePath(databaseURL string) string {
	p := strings.TrimPrefix(databaseURL, "sqlite:")
	p = strings.TrimPrefix(p, "//")
	if i := strings.IndexByte(p, '?'); i >= 0 {
		p = p[:i]
	}
	return p
}

func openSQLite(databaseURL string) (*sql.DB, error) {
	path := SQLitePath(databaseURL)
	if path == "" {
		return nil, fmt.Errorf("sqlite DATABASE_URL has no file path")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create sqlite directory: %w", err)
		}
	}
	q := url.Values{}
	// WAL lets readers run beside the writer; busy_timeout waits for the
	// write lock instead of failing; immediate transactions take the write
	// lock up front so two upgrading transactions never deadlock.
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	q.Set("_time_format", "sqlite")
	sqldb, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	return sqldb, nil
}

// Close closes the pool.
func (db *DB) Close() error { return db.DB.Close() }

// sanitize drops the connection string a driver error may carry.
func sanitize(err error) error {
	msg := err.Error()
	if i := strings.Index(msg, "://"); i >= 0 {
		return fmt.Errorf("%s", msg[:i]+"://…")
	}
	return err
}

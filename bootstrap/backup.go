package bootstrap

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/ums-project/ums/adapters/sqlstore"
)

// ErrBackupPostgres is returned by BackupSQLite for a Postgres database:
// its backups are pg_dump's job (deploy/backup.sh), which the server image
// deliberately does not carry.
var ErrBackupPostgres = errors.New("DATABASE_URL is Postgres: back it up with pg_dump, e.g. deploy/backup.sh " +
	"or: pg_dump --format=custom --file=ums.dump \"$DATABASE_URL\"")

// BackupSQLite writes a consistent copy of the SQLite database to a new
// file with VACUUM INTO, safe while servers are running: it reads one
// snapshot and never blocks writers for long. The copy is created with
// mode 0600 because it holds password hashes and sealed keys. It returns
// the copy's size in bytes.
func BackupSQLite(ctx context.Context, c Config, to string) (int64, error) {
	d, err := sqlstore.DialectOf(c.DatabaseURL)
	if err != nil {
		return 0, err
	}
	if d == sqlstore.Postgres {
		return 0, ErrBackupPostgres
	}
	src := sqlstore.SQLitePath(c.DatabaseURL)
	// Opening a missing file would create an empty database and back that up.
	if _, err := os.Stat(src); err != nil {
		return 0, fmt.Errorf("backup: database file: %w", err)
	}
	if strings.ContainsAny(to, "?#") {
		return 0, fmt.Errorf("backup: target %q: '?' and '#' are not allowed in the file name", to)
	}
	// VACUUM INTO needs a missing or empty file; creating it here first
	// (exclusively, 0600) refuses to overwrite and fixes the permissions.
	f, err := os.OpenFile(to, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, fmt.Errorf("backup: target: %w", err)
	}
	_ = f.Close()
	size, err := vacuumInto(ctx, c.DatabaseURL, to)
	if err != nil {
		_ = os.Remove(to)
		return 0, err
	}
	return size, nil
}

func vacuumInto(ctx context.Context, databaseURL, to string) (int64, error) {
	db, err := sqlstore.Open(ctx, databaseURL, sqlstore.PoolConfig{MaxOpenConns: 1, PingOnOpen: true})
	if err != nil {
		return 0, err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", to); err != nil {
		return 0, fmt.Errorf("backup: vacuum into: %w", err)
	}
	// A backup nobody checked is a hope: open the copy and verify it.
	// Read-only, so the check leaves the copy exactly as written.
	cp, err := sql.Open("sqlite", "file:"+to+"?mode=ro")
	if err != nil {
		return 0, fmt.Errorf("backup: open copy: %w", err)
	}
	defer cp.Close()
	var verdict string
	if err := cp.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&verdict); err != nil {
		return 0, fmt.Errorf("backup: check copy: %w", err)
	}
	if verdict != "ok" {
		return 0, fmt.Errorf("backup: copy failed its integrity check: %s", verdict)
	}
	st, err := os.Stat(to)
	if err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	return st.Size(), nil
}

// Package migrations embeds the SQL schema of UMS, one directory per dialect.
// Files follow Bun's naming: <timestamp>_<name>.tx.up.sql and .tx.down.sql,
// each applied in its own transaction.
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed postgres/*.sql
var postgres embed.FS

//go:embed sqlite/*.sql
var sqlite embed.FS

// Postgres returns the Postgres migrations.
func Postgres() fs.FS { return sub(postgres, "postgres") }

// SQLite returns the SQLite migrations.
func SQLite() fs.FS { return sub(sqlite, "sqlite") }

func sub(f embed.FS, dir string) fs.FS {
	s, err := fs.Sub(f, dir)
	if err != nil {
		panic(err) // the directory is embedded at compile time
	}
	return s
}

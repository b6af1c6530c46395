package main

import (
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/test/dbtest"
)

func TestBackupSQLite(t *testing.T) {
	env := map[string]string{"DATABASE_URL": dbtest.SQLiteURL(t)}
	out, err := ums(t, env, "correct horse battery staple\n",
		"admin", "create", "--email", "root@example.com", "--username", "root", "--password-stdin")
	require.NoError(t, err, out)

	to := filepath.Join(t.TempDir(), "copy.db")
	out, err = ums(t, env, "", "backup", "--to", to)
	require.NoError(t, err, out)
	assert.Contains(t, out, "integrity ok")

	st, err := os.Stat(to)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "the copy holds hashes and sealed keys")
	db, err := sql.Open("sqlite", "file:"+to+"?mode=ro")
	require.NoError(t, err)
	defer db.Close()
	var n int
	require.NoError(t, db.QueryRow("SELECT count(*) FROM users WHERE username = 'root'").Scan(&n))
	assert.Equal(t, 1, n)

	out, err = ums(t, env, "", "backup", "--to", to)
	require.Error(t, err, "an existing file is never overwritten")
	assert.Contains(t, out, "exists")

	out, err = ums(t, env, "", "backup")
	require.Error(t, err)
	assert.Contains(t, out, "usage: ums backup --to FILE")
}

func TestBackupRefusesMissingSQLiteFile(t *testing.T) {
	env := map[string]string{"DATABASE_URL": "sqlite://" + filepath.Join(t.TempDir(), "absent.db")}
	out, err := ums(t, env, "", "backup", "--to", filepath.Join(t.TempDir(), "copy.db"))
	require.Error(t, err)
	assert.Contains(t, out, "database file")
}

func TestBackupOnPostgresPointsToPgDump(t *testing.T) {
	env := map[string]string{"DATABASE_URL": "postgres://ums@127.0.0.1:5432/ums?sslmode=disable"}
	out, err := ums(t, env, "", "backup", "--to", filepath.Join(t.TempDir(), "x.dump"))
	require.Error(t, err)
	assert.Contains(t, out, "pg_dump")
	assert.Contains(t, out, "deploy/backup.sh")
}

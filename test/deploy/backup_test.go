//go:build deploy

package deploy

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/test/dbtest"
)

// TestPostgresBackupAndRestore fills a database through the API, backs it
// up with deploy/backup.sh while ums serves, restores it with
// deploy/restore.sh into a new database and starts ums there with the
// same KEY_ENCRYPTION_KEY: the users log in, tokens issued before the
// backup still verify (the signing keys survived) and a revoked one stays
// revoked.
func TestPostgresBackupAndRestore(t *testing.T) {
	t.Parallel()
	requireTool(t, "pg_dump")
	requireTool(t, "pg_restore")
	requireTool(t, "psql")

	source, target := dbtest.PostgresURL(t), dbtest.PostgresURL(t)
	kek := newKEK(t)
	env := func(db string) map[string]string {
		return map[string]string{
			"ENV": "production", "DATABASE_URL": db, "KEY_ENCRYPTION_KEY": kek,
			"PUBLIC_URL": "https://ums.example.test", "METRICS_ADDR": "127.0.0.1:0",
			"MAIL_DRIVER": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": fmt.Sprint(freePort(t)), "SMTP_TLS": "none",
		}
	}
	srv := startUMS(t, env(source), "--migrate")
	a := api{base: srv.URL}
	users := []string{"alice", "bob", "carol"}
	for _, u := range users {
		a.register(t, u+"@example.com", u, password)
	}
	aliceToken, _ := a.login(t, "alice", password)
	bobToken, _ := a.login(t, "bob", password)
	require.Equal(t, http.StatusNoContent, a.do(t, http.MethodPost, "/api/v1/auth/logout", bobToken, nil).Status)
	require.Equal(t, http.StatusUnauthorized, a.me(t, bobToken))
	jwks := a.do(t, http.MethodGet, "/.well-known/jwks.json", "", nil)
	require.Equal(t, http.StatusOK, jwks.Status)

	// Retention: an expired backup goes, a recent one and foreign files stay.
	backups := t.TempDir()
	old := filepath.Join(backups, "ums-20000101T000000Z.dump")
	recent := filepath.Join(backups, "ums-20990101T000000Z.dump")
	foreign := filepath.Join(backups, "notes.txt")
	for _, f := range []string{old, recent, foreign} {
		require.NoError(t, os.WriteFile(f, []byte("x"), 0o600))
	}
	month := time.Now().Add(-30 * 24 * time.Hour)
	require.NoError(t, os.Chtimes(old, month, month))
	require.NoError(t, os.Chtimes(foreign, month, month))

	out, stderr := script(t, map[string]string{"DATABASE_URL": source, "BACKUP_DIR": backups, "BACKUP_RETENTION_DAYS": "7"},
		filepath.Join(root, "deploy", "backup.sh"))
	dump := strings.TrimSpace(out)
	assert.Regexp(t, `/ums-\d{8}T\d{6}Z\.dump$`, dump)
	st, err := os.Stat(dump)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "a dump holds password hashes and sealed keys")
	assert.NoFileExists(t, old, "older than the retention")
	assert.FileExists(t, recent)
	assert.FileExists(t, foreign, "retention deletes only its own ums-*.dump files")
	assert.Contains(t, stderr, "removed expired")
	srv.Stop()

	restore := filepath.Join(root, "deploy", "restore.sh")
	_, _, err = scriptErr(t, nil, restore, dump, source)
	require.Error(t, err, "restore.sh must refuse a database that has tables")
	out, _ = script(t, nil, restore, dump, target)
	assert.Contains(t, out, "(3 users)")

	// Production mode refuses pending migrations: the schema history came along.
	restored := startUMS(t, env(target))
	r := api{base: restored.URL}
	for _, u := range users {
		tok, _ := r.login(t, u, password)
		assert.Equal(t, http.StatusOK, r.me(t, tok), u)
	}
	assert.Equal(t, http.StatusOK, r.me(t, aliceToken), "a token issued before the backup verifies: the signing keys survived")
	assert.Equal(t, http.StatusUnauthorized, r.me(t, bobToken), "a revoked session stays revoked")
	assert.JSONEq(t, string(jwks.Raw), string(r.do(t, http.MethodGet, "/.well-known/jwks.json", "", nil).Raw))

	// The same dump with another key: the sealed signing keys cannot be opened.
	other := env(target)
	other["KEY_ENCRYPTION_KEY"] = newKEK(t)
	restored.Stop()
	out, err = cliErr(t, other, "", "keys", "rotate")
	require.Error(t, err, "keys rotate with the wrong KEY_ENCRYPTION_KEY succeeded: %s", out)
	assert.Contains(t, out, "is KEY_ENCRYPTION_KEY the one it was sealed with")
}

// TestSQLiteOnlineBackup copies a live SQLite database with `ums backup`
// and serves the copy: what was there at backup time is there, tokens
// still verify; what came after is not.
func TestSQLiteOnlineBackup(t *testing.T) {
	t.Parallel()
	env := map[string]string{"DATABASE_URL": dbtest.SQLiteURL(t), "KEY_ENCRYPTION_KEY": newKEK(t)}
	srv := startUMS(t, env)
	a := api{base: srv.URL}
	a.register(t, "alice@example.com", "alice", password)
	token, _ := a.login(t, "alice", password)

	copyPath := filepath.Join(t.TempDir(), "backup.db")
	out := cli(t, env, "", "backup", "--to", copyPath)
	assert.Contains(t, out, "integrity ok")
	a.register(t, "dave@example.com", "dave", password)
	srv.Stop()

	env["DATABASE_URL"] = "sqlite://" + copyPath
	r := api{base: startUMS(t, env).URL}
	assert.Equal(t, http.StatusOK, r.me(t, token), "the token verifies against the copy's keys")
	tok, _ := r.login(t, "alice", password)
	assert.Equal(t, http.StatusOK, r.me(t, tok))
	res := r.do(t, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"login": "dave", "password": password})
	assert.Equal(t, http.StatusUnauthorized, res.Status, "dave registered after the backup")
}

// script runs a deploy script with a clean environment plus env.
func script(t *testing.T, env map[string]string, path string, args ...string) (stdout, stderr string) {
	t.Helper()
	stdout, stderr, err := scriptErr(t, env, path, args...)
	require.NoError(t, err, "%s: %s%s", filepath.Base(path), stdout, stderr)
	return stdout, stderr
}

func scriptErr(t *testing.T, env map[string]string, path string, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.Command(path, args...)
	cmd.Env = environ(env)
	var out, errb lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	done := make(chan error, 1)
	require.NoError(t, cmd.Start())
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), errb.String(), err
	case <-time.After(2 * time.Minute):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("%s did not finish within 2 minutes", path)
		return "", "", nil
	}
}

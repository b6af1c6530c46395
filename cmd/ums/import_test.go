package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite" // loads the fixture into an old-schema SQLite file

	"github.com/ums-project/ums/test/dbtest"
	"github.com/ums-project/ums/test/flask"
)

const fixtures = "../../test/flask/testdata/"

// TestImportFlaskCLI imports an old SQLite database into Postgres with the
// binary: dry run, run, repeated run, and the summary an operator reads.
func TestImportFlaskCLI(t *testing.T) {
	env := map[string]string{"DATABASE_URL": dbtest.PostgresURL(t)}
	src := flask.New(t, "sqlite").DSN

	out, err := ums(t, env, "", "import", "flask", "--from", src, "--dry-run")
	require.NoError(t, err, out)
	assert.Contains(t, out, "dry run: nothing was written")
	assert.Regexp(t, `users\s+12\s+0`, out)

	out, err = ums(t, env, "", "import", "flask", "--from", src)
	require.NoError(t, err, out)
	assert.NotContains(t, out, "dry run")
	for _, want := range []string{"users 9: duplicate email", "users 10: invalid email",
		`users 8: "José Müller" -> "Jose.Muller"`, `"Sample:Export" -> "legacy.sample_export"`, `"PROT_01" -> "prot-01"`,
		"memberships 8: inactive membership", "grants 6: user 7 is not a member of lab 1",
		"notes:", "1 users keep two-factor sign-in", "1 password reset and 1 email verification links"} {
		assert.Contains(t, out, want)
	}
	assert.Regexp(t, `audit_events\s+4\s+0`, out)
	assert.NotContains(t, out, "alice-current-secret", "no password or hash in the summary")
	assert.NotContains(t, out, "scrypt:32768")
	assert.NotContains(t, out, "GEZDGNBVGY3TQOJQ", "no TOTP secret in the summary")

	out, err = ums(t, env, "", "import", "flask", "--from", src)
	require.NoError(t, err, out)
	assert.Regexp(t, `users\s+0\s+12`, out)
	assert.Contains(t, out, "total imported: 0")

	out, err = ums(t, env, "", "import", "flask", "--from", "mysql://u:secret-pw@127.0.0.1:1/flask")
	require.Error(t, err)
	assert.Contains(t, out, "connect to mysql")
	assert.NotContains(t, out, "secret-pw", "the password of a source is never printed")
	out, err = ums(t, env, "", "import", "flask", "--from", "sqlite://"+filepath.Join(t.TempDir(), "missing.db"))
	require.Error(t, err)
	assert.Contains(t, out, "no such file")
	out, err = ums(t, env, "", "import", "flask")
	require.Error(t, err)
	assert.Contains(t, out, "usage: ums import")
}

// TestImportUsersJSONL imports bcrypt, passlib PBKDF2, PHC scrypt, Django
// and Werkzeug hashes from JSONL, then serves and logs each user in with
// the old password; the stored hash becomes argon2id.
func TestImportUsersJSONL(t *testing.T) {
	dbURL := dbtest.SQLiteURL(t)
	env := map[string]string{"DATABASE_URL": dbURL}
	file, err := filepath.Abs(fixtures + "users.jsonl")
	require.NoError(t, err)

	out, err := ums(t, env, "", "import", "users", "--from", file, "--dry-run")
	require.NoError(t, err, out)
	assert.Regexp(t, `users\s+5\s+0`, out)

	out, err = ums(t, env, "", "import", "users", "--from", file)
	require.NoError(t, err, out)
	assert.Regexp(t, `users\s+5\s+0`, out)
	assert.Contains(t, out, "line 6: unsupported or too costly password hash: unknown format")
	assert.Contains(t, out, "line 7: unsupported or too costly password hash")
	assert.Contains(t, out, `line 8: invalid email "broken-email"`)

	out, err = ums(t, env, "", "import", "users", "--from", file)
	require.NoError(t, err, out)
	assert.Regexp(t, `users\s+0\s+5`, out, "a repeated import changes nothing")

	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	require.NoError(t, os.WriteFile(bad, []byte(`{"email":"x@example.com","password":"plain"}`+"\n"), 0o600))
	out, err = ums(t, env, "", "import", "users", "--from", bad)
	require.Error(t, err)
	assert.Contains(t, out, `line 1: json: unknown field "password"`)

	var passwords map[string]string
	b, err := os.ReadFile(fixtures + "users_passwords.json")
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &passwords))
	base := serveUMS(t, env)
	for email, pw := range passwords {
		assert.Equal(t, http.StatusUnauthorized, postLogin(t, base, email, pw+"!"), email)
		assert.Equal(t, http.StatusOK, postLogin(t, base, email, pw), email)
	}
	db, err := sql.Open("sqlite", "file:"+strings.TrimPrefix(dbURL, "sqlite://"))
	require.NoError(t, err)
	defer db.Close()
	rows, err := db.Query("SELECT email, password_hash FROM users")
	require.NoError(t, err)
	defer rows.Close()
	n := 0
	for rows.Next() {
		var email, hash string
		require.NoError(t, rows.Scan(&email, &hash))
		assert.True(t, strings.HasPrefix(hash, "$argon2id$"), "%s: %s", email, hash[:10])
		n++
	}
	assert.Equal(t, len(passwords), n)
}

// serveUMS starts `ums serve` and returns its base URL once ready.
func serveUMS(t *testing.T, env map[string]string) string {
	t.Helper()
	addr := freeAddr(t)
	vars := map[string]string{"HTTP_ADDR": addr, "RATE_LIMIT_ENABLED": "false"}
	for k, v := range env {
		vars[k] = v
	}
	cmd := exec.Command(binary, "serve")
	cmd.Dir = t.TempDir()
	cmd.Env = environ(vars)
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	base := "http://" + addr
	require.Eventually(t, func() bool {
		res, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	}, 20*time.Second, 50*time.Millisecond, logs.String())
	return base
}

func postLogin(t *testing.T, base, login, password string) int {
	t.Helper()
	body, err := json.Marshal(map[string]string{"login": login, "password": password})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/v1/auth/login", strings.NewReader(string(body)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	res.Body.Close()
	return res.StatusCode
}

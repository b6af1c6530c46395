package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/test/dbtest"
)

var (
	binary string
	// kekFile is shared by every run, as it would be on one host: commands
	// run in fresh directories but must open the keys others sealed.
	kekFile string
)

// TestMain builds the real binary once; the tests run it as an operator would.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ums-cli")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "ums")
	kekFile = filepath.Join(dir, "key-encryption-key")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build ums: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// ums runs the binary in a clean environment plus env, in an empty dir so
// no .env file is picked up.
func ums(t *testing.T, env map[string]string, stdin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = environ(env)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func environ(env map[string]string) []string {
	base := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"ENV=test", "KEY_ENCRYPTION_KEY_FILE=" + kekFile, "ARGON2_MEMORY_KIB=8192", "ARGON2_ITERATIONS=1", "LOG_LEVEL=warn"}
	for k, v := range env {
		base = append(base, k+"="+v)
	}
	return base
}

func randomKey(t *testing.T) string {
	b := make([]byte, 32)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(b)
}

func TestVersionAndUsage(t *testing.T) {
	out, err := ums(t, nil, "", "version")
	require.NoError(t, err)
	assert.Contains(t, out, "ums ")

	_, err = ums(t, nil, "")
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, 2, exit.ExitCode())
}

func TestMigrateUpDownStatusOnPostgres(t *testing.T) {
	env := map[string]string{"DATABASE_URL": dbtest.PostgresURL(t)}

	out, err := ums(t, env, "", "migrate", "status")
	require.NoError(t, err, out)
	assert.Contains(t, out, "pending  20261126000001_initial_schema")

	out, err = ums(t, env, "", "migrate", "up")
	require.NoError(t, err, out)
	assert.Contains(t, out, "applied 20261126000001_initial_schema")

	out, err = ums(t, env, "", "migrate", "status")
	require.NoError(t, err, out)
	// Lines start with the state; a migration's name may hold the word.
	assert.NotRegexp(t, `(?m)^pending `, out)
	assert.Contains(t, out, "applied  20261126000001_initial_schema")

	out, err = ums(t, env, "", "migrate", "up")
	require.NoError(t, err, out)
	assert.Contains(t, out, "up to date")

	out, err = ums(t, env, "", "migrate", "down")
	require.NoError(t, err, out)
	assert.Contains(t, out, "rolled back 20261126000001_initial_schema")

	out, err = ums(t, env, "", "migrate", "status")
	require.NoError(t, err, out)
	assert.Regexp(t, `(?m)^pending `, out)
}

func TestAdminCreate(t *testing.T) {
	for name, url := range map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return dbtest.SQLiteURL(t) },
		"postgres": func(t *testing.T) string { return dbtest.PostgresURL(t) },
	} {
		t.Run(name, func(t *testing.T) {
			env := map[string]string{"DATABASE_URL": url(t)}
			args := []string{"admin", "create", "--email", "root@example.com", "--username", "root", "--password-stdin"}

			out, err := ums(t, env, "correct horse battery staple\n", args...)
			require.NoError(t, err, out)
			assert.Contains(t, out, "created system administrator root (root@example.com)")
			assert.NotContains(t, out, "correct horse")

			out, err = ums(t, env, "another long passphrase\n", args...)
			require.Error(t, err, "a second create must fail, not duplicate")
			assert.Contains(t, out, "already exists")

			out, err = ums(t, env, "short\n", "admin", "create", "--email", "b@example.com", "--username", "bob", "--password-stdin")
			require.Error(t, err)
			assert.Contains(t, out, "password: must be at least 12 characters")

			out, err = ums(t, env, "", "admin", "create", "--email", "c@example.com", "--username", "carol")
			require.Error(t, err)
			assert.Contains(t, out, "--password-stdin")
		})
	}
}

func TestProductionRefusesUnsafeConfiguration(t *testing.T) {
	out, err := ums(t, map[string]string{"ENV": "production", "DATABASE_URL": "sqlite://x.db"}, "", "serve")
	require.Error(t, err)
	assert.Contains(t, out, "DATABASE_URL: SQLite is for development")
	assert.Contains(t, out, "KEY_ENCRYPTION_KEY: required in production")

	out, err = ums(t, map[string]string{"ENV": "production", "DATABASE_URL": "postgres://x@127.0.0.1/x",
		"KEY_ENCRYPTION_KEY": base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("A"), 32))}, "", "serve")
	require.Error(t, err)
	assert.Contains(t, out, "KEY_ENCRYPTION_KEY: does not look random")
}

func TestProductionRefusesPendingMigrationsUnlessAsked(t *testing.T) {
	env := map[string]string{"ENV": "production", "DATABASE_URL": dbtest.PostgresURL(t),
		"KEY_ENCRYPTION_KEY": randomKey(t), "HTTP_ADDR": "127.0.0.1:0", "MAIL_DRIVER": "smtp", "SMTP_HOST": "127.0.0.1",
		"METRICS_ADDR": "127.0.0.1:0"}
	out, err := ums(t, env, "", "serve")
	require.Error(t, err)
	assert.Contains(t, out, "pending migration")
	assert.Contains(t, out, "--migrate")
}

// TestServeDrainsInFlightRequestsOnSIGTERM starts the binary, sends a
// registration whose hash takes a while, signals SIGTERM while it runs,
// and expects the request answered and a clean exit 0.
func TestServeDrainsInFlightRequestsOnSIGTERM(t *testing.T) {
	addr := freeAddr(t)
	cmd := exec.Command(binary, "serve")
	cmd.Dir = t.TempDir()
	cmd.Env = environ(map[string]string{
		"DATABASE_URL": dbtest.SQLiteURL(t), "HTTP_ADDR": addr, "LOG_LEVEL": "info",
		// An expensive hash keeps the request in flight across the signal.
		"ARGON2_MEMORY_KIB": "65536", "ARGON2_ITERATIONS": "40",
	})
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	base := "http://" + addr
	require.Eventually(t, func() bool {
		res, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	}, 20*time.Second, 50*time.Millisecond, logs.String())

	type result struct {
		status int
		err    error
	}
	done := make(chan result, 1)
	go func() {
		body := `{"email":"drain@example.com","username":"drain","password":"correct horse battery staple"}`
		res, err := http.Post(base+"/api/v1/auth/register", "application/json", strings.NewReader(body))
		if err != nil {
			done <- result{err: err}
			return
		}
		res.Body.Close()
		done <- result{status: res.StatusCode}
	}()
	time.Sleep(300 * time.Millisecond) // let the request reach the hash
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))

	r := <-done
	require.NoError(t, r.err, logs.String())
	assert.Equal(t, http.StatusCreated, r.status)
	require.NoError(t, cmd.Wait(), "exit status after SIGTERM must be 0: %s", logs.String())
	assert.Contains(t, logs.String(), "stopped")
	assert.NotContains(t, logs.String(), "correct horse", "passwords never reach the log")
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

// lockedBuffer is written by the child's output copier and read by the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

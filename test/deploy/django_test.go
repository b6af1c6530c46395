//go:build deploy

package deploy

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/test/dbtest"
)

// debianPython is the interpreter Debian's python3-django & co. belong to;
// a python3 earlier in PATH (pyenv, a venv) would not see them.
const debianPython = "/usr/bin/python3"

// TestDjangoExample runs examples/django's tests (ums_auth/tests.py, portal/tests.py)
// against a running ums: valid, forged and expired tokens, a permission
// answered by /authorize, the JWKS refetched after a key rotation, the
// refresh helper, and a fast 503 once ums is stopped.
func TestDjangoExample(t *testing.T) {
	t.Parallel()
	if out, err := exec.Command(debianPython, "-c", "import django, jwt, requests, cryptography").CombinedOutput(); err != nil {
		if dbtest.Required() {
			t.Fatalf("Debian python3-django/jwt/requests/cryptography are required (CI=true): %v\n%s", err, out)
		}
		t.Skipf("Debian's python3-django, python3-jwt, python3-requests, python3-cryptography missing: %s", out)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	env := map[string]string{
		"DATABASE_URL": dbtest.PostgresURL(t), "KEY_ENCRYPTION_KEY": newKEK(t),
		"HTTP_ADDR": addr, "PUBLIC_URL": "http://" + addr,
		// Short-lived tokens let the suite show a really expired one.
		"ACCESS_TOKEN_TTL": "1m", "TOKEN_LEEWAY": "0s",
		// The suite polls logins while waiting for the rotated key.
		"RATE_LIMIT_LOGIN": "300/1m",
	}
	cli(t, env, password+"\n", "admin", "create", "--email", "root@example.com", "--username", "root", "--password-stdin")
	srv := startUMS(t, env)

	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, debianPython, "manage.py", "test", "ums_auth", "portal", "--verbosity", "2")
	cmd.Dir = filepath.Join(root, "examples", "django")
	pyEnv := map[string]string{
		"UMS_URL": srv.URL, "UMS_ADMIN_LOGIN": "root", "UMS_ADMIN_PASSWORD": password,
		"UMS_PID": fmt.Sprint(srv.PID()), "UMS_BIN": binary, "UMS_LEEWAY_SECONDS": "0",
		"UMS_JWKS_MIN_REFETCH_SECONDS": "1",
		// No __pycache__ left in the source tree.
		"PYTHONDONTWRITEBYTECODE": "1",
	}
	for k, v := range env { // for `ums keys rotate`
		pyEnv[k] = v
	}
	cmd.Env = environ(pyEnv)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	start := time.Now()
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "Django suite failed after %s:\n%s", time.Since(start).Round(time.Second), out)
	t.Logf("Django suite passed in %s:\n%s", time.Since(start).Round(time.Second), out)
	require.Regexp(t, `Ran 15 tests`, string(out), "every test ran, none skipped:\n%s", out)
	require.NotRegexp(t, `skipped`, string(out), "%s", out)

	srv.Wait(t, 20*time.Second) // the suite stopped it
}

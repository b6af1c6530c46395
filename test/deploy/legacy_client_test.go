//go:build deploy

package deploy

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/test/dbtest"
	"github.com/ums-project/ums/test/flask"
)

// TestOldDjangoStyleClient runs legacy_client.py, a client written like the
// old Flask service's Django example (lhums-api.md §4.6), against the
// binary with LEGACY_API=true after `ums import flask` of the old fixture:
// old passwords, integer ids, refresh by the old client's dance, authorize,
// and a new registration an imported admin can read.
func TestOldDjangoStyleClient(t *testing.T) {
	t.Parallel()
	if out, err := exec.Command(debianPython, "-c", "import requests").CombinedOutput(); err != nil {
		if dbtest.Required() {
			t.Fatalf("Debian's python3-requests is required (CI=true): %v\n%s", err, out)
		}
		t.Skipf("Debian's python3-requests missing: %s", out)
	}
	env := map[string]string{
		"DATABASE_URL": dbtest.PostgresURL(t), "KEY_ENCRYPTION_KEY": newKEK(t),
		"LEGACY_API": "true", "RATE_LIMIT_ENABLED": "false",
		"ARGON2_MEMORY_KIB": "8192", "ARGON2_ITERATIONS": "1",
	}
	src := flask.New(t, "sqlite")
	out := cli(t, env, "", "import", "flask", "--from", src.DSN)
	t.Logf("ums import flask:\n%s", out)
	srv := startUMS(t, env)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, debianPython, filepath.Join(root, "test", "deploy", "legacy_client.py"))
	cmd.Dir = t.TempDir()
	cmd.Env = environ(map[string]string{"UMS_API_URL": srv.URL + "/api", "PYTHONDONTWRITEBYTECODE": "1"})
	start := time.Now()
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "legacy client failed after %s:\n%s", time.Since(start).Round(time.Millisecond), b)
	require.Contains(t, string(b), "all steps passed", "%s", b)
	t.Logf("legacy client passed in %s:\n%s", time.Since(start).Round(time.Millisecond), b)
}

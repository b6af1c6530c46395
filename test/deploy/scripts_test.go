//go:build deploy

package deploy

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var shellScripts = []string{"deploy/backup.sh", "deploy/restore.sh", "test/deploy/prereqs.sh"}

// TestShellScripts lints the scripts with shellcheck and checks that they
// refuse bad input before touching anything.
func TestShellScripts(t *testing.T) {
	t.Parallel()
	sc := requireTool(t, "shellcheck")
	for _, s := range shellScripts {
		out, err := exec.Command(sc, "--severity=style", filepath.Join(root, s)).CombinedOutput()
		assert.NoError(t, err, "shellcheck %s:\n%s", s, out)
	}

	backup := filepath.Join(root, "deploy", "backup.sh")
	_, stderr, err := scriptErr(t, map[string]string{"DATABASE_URL": "sqlite://x.db", "BACKUP_DIR": t.TempDir()}, backup)
	require.Error(t, err)
	assert.Contains(t, stderr, "ums backup --to FILE")
	_, stderr, err = scriptErr(t, map[string]string{"DATABASE_URL": "postgres://x@127.0.0.1/x", "BACKUP_RETENTION_DAYS": "soon"}, backup)
	require.Error(t, err)
	assert.Contains(t, stderr, "BACKUP_RETENTION_DAYS")
	_, stderr, err = scriptErr(t, nil, backup)
	require.Error(t, err)
	assert.Contains(t, stderr, "DATABASE_URL")

	restore := filepath.Join(root, "deploy", "restore.sh")
	_, stderr, err = scriptErr(t, nil, restore, "only-one-arg")
	require.Error(t, err)
	assert.Contains(t, stderr, "usage")
	_, stderr, err = scriptErr(t, nil, restore, filepath.Join(t.TempDir(), "missing.dump"), "postgres://x@127.0.0.1/x")
	require.Error(t, err)
	assert.Contains(t, stderr, "cannot read")
}

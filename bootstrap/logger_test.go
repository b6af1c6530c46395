package bootstrap_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/bootstrap"
)

func TestLoggerWritesJSONToLogFileAtConfiguredLevel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs", "ums.log")
	cfg, err := bootstrap.ParseConfig(map[string]string{"LOG_FILE": path, "LOG_LEVEL": "warn", "ENV": "test"})
	require.NoError(t, err)
	log, err := bootstrap.NewLogger(cfg)
	require.NoError(t, err)
	log.Info("below the level")
	log.Warn("kept")
	_ = log.Sync()

	b, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	require.Len(t, lines, 1)
	var entry map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &entry))
	assert.Equal(t, "kept", entry["msg"])
	assert.Equal(t, "warn", entry["level"])
	assert.Equal(t, "ums", entry["service"])
}

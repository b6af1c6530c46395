package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/test/dbtest"
)

// TestLoginRehashesWhenParametersChange restarts the service with stronger
// argon2 parameters and checks that the next login re-makes the hash.
func TestLoginRehashesWhenParametersChange(t *testing.T) {
	kek := make([]byte, 32)
	_, _ = rand.Read(kek)
	url := dbtest.SQLiteURL(t)
	env := map[string]string{"KEY_ENCRYPTION_KEY": base64.StdEncoding.EncodeToString(kek)}

	old := startServer(t, url, env)
	registerUser(t, old, "upgrade")
	hashBefore := storedHash(t, old)
	require.Contains(t, hashBefore, "t=1")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, old.app.Stop(ctx))

	env["ARGON2_ITERATIONS"] = "2"
	upgraded := startServer(t, url, env)
	login(t, upgraded, "upgrade", testPass)
	hashAfter := storedHash(t, upgraded)
	assert.Contains(t, hashAfter, "t=2", "the hash follows the new parameters")
	assert.NotEqual(t, hashBefore, hashAfter)
	ev := recentEvents(t, upgraded, 1)[0]
	assert.Equal(t, domain.ActionLoginSucceeded, ev.Action)
	assert.Equal(t, true, ev.Details["password_rehashed"])

	// The new hash still takes the same password, and only that.
	login(t, upgraded, "upgrade", testPass)
	assert.Equal(t, hashAfter, storedHash(t, upgraded), "an up-to-date hash is left alone")
}

func storedHash(t *testing.T, s *server) string {
	t.Helper()
	var h string
	require.NoError(t, s.db.NewRaw("SELECT password_hash FROM users WHERE lower(username) = 'upgrade'").Scan(context.Background(), &h))
	require.True(t, strings.HasPrefix(h, "$argon2id$"))
	return h
}

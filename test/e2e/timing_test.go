package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/bootstrap"
	"github.com/ums-project/ums/test/dbtest"
)

// timingRounds is how many times each kind of request is timed; the
// kinds are interleaved so load on the machine falls on all of them alike.
const timingRounds = 15

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// timed sends one request and returns how long the answer took.
func timed(t *testing.T, send func() response, want int) time.Duration {
	t.Helper()
	start := time.Now()
	res := send()
	d := time.Since(start)
	require.Equal(t, want, res.Status, string(res.Body))
	return d
}

// werkzeugHash is a well-formed Werkzeug PBKDF2 hash of no known password,
// costly like the old service's.
func werkzeugHash(t *testing.T, iterations int) string {
	t.Helper()
	digest := make([]byte, 32)
	_, err := rand.Read(digest)
	require.NoError(t, err)
	return fmt.Sprintf("pbkdf2:sha256:%d$saltsaltsaltsalt$%s", iterations, hex.EncodeToString(digest))
}

// TestFailedLoginsTakeTheSameTimeWhateverTheAccount compares the median
// times of a wrong password for an account whose imported hash is not yet
// rehashed, a wrong password for an argon2id account, and an unknown
// login: they must not tell the three apart.
func TestFailedLoginsTakeTheSameTimeWhateverTheAccount(t *testing.T) {
	dbURL := dbtest.PostgresURL(t)
	// Both servers share the database, so they share its key-encryption key.
	env := map[string]string{"LOGIN_MAX_FAILURES": "1000", "KEY_ENCRYPTION_KEY_FILE": filepath.Join(t.TempDir(), "kek")}
	// The legacy account is imported before the server under test starts,
	// as a real migration does.
	first := startServer(t, dbURL, env)
	rep, err := bootstrap.ImportUsers(context.Background(), first.cfg, zaptest.NewLogger(t), []application.UserRecord{
		{Line: 1, Email: "legacy@example.com", Username: "legacy", PasswordHash: werkzeugHash(t, 40_000)},
	}, false)
	require.NoError(t, err)
	require.Equal(t, 1, rep.Imported[application.ImportUsers])
	s := startServer(t, dbURL, env)
	registerUser(t, s, "modern")

	attempt := func(login string) func() response {
		return func() response {
			return s.postJSON(t, loginPath, map[string]any{"login": login, "password": "a wrong password guess"})
		}
	}
	var legacy, modern, unknown []time.Duration
	for i := range timingRounds {
		legacy = append(legacy, timed(t, attempt("legacy"), http.StatusUnauthorized))
		modern = append(modern, timed(t, attempt("modern"), http.StatusUnauthorized))
		unknown = append(unknown, timed(t, attempt(fmt.Sprintf("nobody%d", i)), http.StatusUnauthorized))
	}
	ml, mm, mu := median(legacy), median(modern), median(unknown)
	t.Logf("median failed login: legacy hash %v, argon2id %v, unknown login %v", ml, mm, mu)
	tolerance := ml * 3 / 10
	assert.InDelta(t, float64(ml), float64(mu), float64(tolerance), "an unknown login costs what a legacy account costs")
	assert.InDelta(t, float64(ml), float64(mm), float64(tolerance), "an argon2id account costs the same too")
}

// TestForgotPasswordTakesTheSameTimeForKnownAndUnknownAddresses compares
// median answer times of password/forgot for an address with an account
// and one without.
func TestForgotPasswordTakesTheSameTimeForKnownAndUnknownAddresses(t *testing.T) {
	s := startServer(t, dbtest.PostgresURL(t), map[string]string{"RATE_LIMIT_ENABLED": "false"})
	registerUser(t, s, "forgetful")
	forgot := func(email string) func() response {
		return func() response {
			return s.postJSON(t, "/api/v1/auth/password/forgot", map[string]any{"email": email})
		}
	}
	var known, unknown []time.Duration
	for i := range 2 * timingRounds {
		known = append(known, timed(t, forgot("forgetful@example.com"), http.StatusAccepted))
		unknown = append(unknown, timed(t, forgot(fmt.Sprintf("stranger%d@example.com", i)), http.StatusAccepted))
	}
	mk, mu := median(known), median(unknown)
	t.Logf("median password/forgot: known address %v, unknown address %v", mk, mu)
	// The work for a known address happens after the answer; what is left
	// is the same parsing and queueing for both.
	assert.InDelta(t, float64(mu), float64(mk), float64(max(300*time.Microsecond, mu/2)))
}

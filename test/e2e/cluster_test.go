package e2e

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/test/dbtest"
)

// TestRevocationReachesEveryInstanceWithinASecond runs two instances on one
// Postgres database, with and without Redis, revokes a session on one and
// watches the other refuse its access token.
func TestRevocationReachesEveryInstanceWithinASecond(t *testing.T) {
	setups := map[string]func(t *testing.T) map[string]string{
		"postgres_listen_notify": func(*testing.T) map[string]string { return map[string]string{} },
		"postgres_and_redis": func(t *testing.T) map[string]string {
			return map[string]string{"REDIS_URL": dbtest.RequireRedis(t), "REDIS_KEY_PREFIX": "ums-e2e-" + randomHex(t) + ":"}
		},
	}
	for name, setup := range setups {
		t.Run(name, func(t *testing.T) {
			env := setup(t)
			kek := make([]byte, 32)
			_, _ = rand.Read(kek)
			env["KEY_ENCRYPTION_KEY"] = base64.StdEncoding.EncodeToString(kek)
			dbURL := dbtest.PostgresURL(t)
			a := startServer(t, dbURL, env)
			b := startServer(t, dbURL, env)

			registerUser(t, a, "cluster")
			for _, revoke := range []struct {
				name string
				do   func(tk tokens)
			}{
				{"logout", func(tk tokens) {
					require.Equal(t, http.StatusNoContent, a.authed(t, http.MethodPost, "/api/v1/auth/logout", tk.AccessToken, nil).Status)
				}},
				{"logout_all", func(tk tokens) {
					require.Equal(t, http.StatusNoContent, a.authed(t, http.MethodPost, "/api/v1/auth/logout-all", tk.AccessToken, nil).Status)
				}},
				{"refresh_reuse", func(tk tokens) {
					res, _ := refresh(t, a, tk.RefreshToken)
					require.Equal(t, http.StatusOK, res.Status)
					res, _ = refresh(t, a, tk.RefreshToken)
					require.Equal(t, http.StatusUnauthorized, res.Status)
				}},
			} {
				t.Run(revoke.name, func(t *testing.T) {
					tk := login(t, a, "cluster", testPass)
					require.Equal(t, http.StatusOK, b.authed(t, http.MethodGet, "/api/v1/me", tk.AccessToken, nil).Status)
					start := time.Now()
					revoke.do(tk)
					for b.authed(t, http.MethodGet, "/api/v1/me", tk.AccessToken, nil).Status != http.StatusUnauthorized {
						require.Less(t, time.Since(start), time.Second, "instance B still accepts a revoked session")
						time.Sleep(10 * time.Millisecond)
					}
					t.Logf("revocation reached the other instance after %v", time.Since(start))
				})
			}

			t.Run("an_instance_started_later_knows_earlier_revocations", func(t *testing.T) {
				tk := login(t, a, "cluster", testPass)
				require.Equal(t, http.StatusNoContent, a.authed(t, http.MethodPost, "/api/v1/auth/logout", tk.AccessToken, nil).Status)
				c := startServer(t, dbURL, env)
				require.Equal(t, http.StatusUnauthorized, c.authed(t, http.MethodGet, "/api/v1/me", tk.AccessToken, nil).Status)
			})

			t.Run("the_login_lock_is_shared", func(t *testing.T) {
				registerUser(t, a, "shared-lock")
				for i, s := range []*server{a, b, a, b, a} {
					res := s.postJSON(t, loginPath, map[string]any{"login": "shared-lock", "password": "wrong password here"})
					require.Equal(t, http.StatusUnauthorized, res.Status, "attempt %d", i+1)
				}
				for _, s := range []*server{a, b} {
					res := s.postJSON(t, loginPath, map[string]any{"login": "shared-lock", "password": testPass})
					require.Equal(t, http.StatusTooManyRequests, res.Status)
				}
			})

			t.Run("tokens_signed_by_one_instance_verify_on_the_other", func(t *testing.T) {
				tk := login(t, b, "cluster", testPass)
				require.Equal(t, http.StatusOK, a.authed(t, http.MethodGet, "/api/v1/me", tk.AccessToken, nil).Status)
				res, _ := refresh(t, a, tk.RefreshToken)
				require.Equal(t, http.StatusOK, res.Status)
			})
		})
	}
}

func randomHex(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}

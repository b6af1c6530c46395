package e2e

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/test/dbtest"
)

// TestRevocationReachesEveryInstanceWithinASecond runs two instances on one
// Postgres database, with and without Redis, revokes a session on one and
// watches the other refuse its access token; and changes access on one
// while the other has the old answer in its cache.
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

			t.Run("access_changes_hold_on_the_other_instance_at_the_very_next_call", func(t *testing.T) {
				testAccessChangesAcrossInstances(t, a, b)
			})

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

// testAccessChangesAcrossInstances warms b's authorization cache, changes
// access through a and asks b at once, without waiting for any bus: every
// change must show in b's very next answer.
func testAccessChangesAcrossInstances(t *testing.T, a, b *server) {
	w := newWorld(t, a)
	for _, p := range []string{"lab.sample.ship", "lab.report.read"} {
		require.Equal(t, http.StatusCreated, w.sys(t, http.MethodPost, "/api/v1/permissions", map[string]any{"name": p}).Status)
	}
	require.Equal(t, http.StatusOK, w.sys(t, http.MethodPut, "/api/v1/orgs/"+w.orgA+"/role-permissions/member",
		map[string]any{"permissions": []string{"lab.patient.read", "lab.report.read"}}).Status)
	grant := w.sys(t, http.MethodPost, "/api/v1/orgs/"+w.orgA+"/grants",
		map[string]any{"user_id": w.ids[orgMember], "permission": "lab.sample.ship"})
	require.Equal(t, http.StatusCreated, grant.Status, string(grant.Body))

	// ask is b's answer for the member, asked by a system admin so the
	// member's own session (ended by deactivation) does not matter.
	// An empty permission asks only for membership.
	ask := func(perm string) bool {
		perms := []string{}
		if perm != "" {
			perms = append(perms, perm)
		}
		return decision(t, b, w.tokens[systemAdmin], w.orgA, perms, w.ids[orgMember])["allowed"].(bool)
	}
	steps := []struct {
		name   string
		perm   string
		change func()
	}{
		{"a_revoked_grant", "lab.sample.ship", func() {
			require.Equal(t, http.StatusNoContent,
				w.sys(t, http.MethodDelete, "/api/v1/orgs/"+w.orgA+"/grants/"+grant.JSON(t)["id"].(string), nil).Status)
		}},
		{"a_deactivated_permission", "lab.report.read", func() {
			require.Equal(t, http.StatusNoContent, w.sys(t, http.MethodDelete, "/api/v1/permissions/lab.report.read", nil).Status)
		}},
		{"a_role_change", "lab.patient.read", func() {
			require.Equal(t, http.StatusOK, w.sys(t, http.MethodPatch, "/api/v1/orgs/"+w.orgA+"/members/"+w.ids[orgMember],
				map[string]any{"role": "viewer"}).Status)
		}},
		{"a_removed_membership", "", func() {
			require.Equal(t, http.StatusNoContent,
				w.sys(t, http.MethodDelete, "/api/v1/orgs/"+w.orgA+"/members/"+w.ids[orgMember], nil).Status)
		}},
		{"a_deactivated_account", "", func() {
			require.Equal(t, http.StatusOK, w.sys(t, http.MethodPatch, "/api/v1/users/"+w.ids[orgMember],
				map[string]any{"is_active": false}).Status)
		}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.name == "a_deactivated_account" {
				// Back in the organization, so only the deactivation can
				// take the answer away.
				res := w.sys(t, http.MethodPost, "/api/v1/orgs/"+w.orgA+"/members", map[string]any{"user_id": w.ids[orgMember], "role": "member"})
				require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
			}
			for range 3 { // the answer is in b's cache now
				require.True(t, ask(st.perm), "before the change")
			}
			st.change()
			assert.False(t, ask(st.perm), "b answered from a stale cache")
		})
	}
}

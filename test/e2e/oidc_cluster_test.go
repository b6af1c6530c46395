package e2e

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/test/dbtest"
)

// introspect asks one instance about a token, as a resource server does.
func introspect(t *testing.T, s *server, clientID, secret, token string) bool {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.base+"/oauth/introspect", strings.NewReader(url.Values{"token": {token}}.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	var body struct {
		Active bool `json:"active"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&body))
	return body.Active
}

// TestOIDCRevocationReachesEveryInstance: a client's session revoked on
// one instance is refused by introspection on the other, on both buses,
// and the browser's session ends with it.
func TestOIDCRevocationReachesEveryInstance(t *testing.T) {
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
			l, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			addr := l.Addr().String()
			require.NoError(t, l.Close())
			// Both instances are one issuer behind one public address.
			env["PUBLIC_URL"] = "http://" + addr
			dbURL := dbtest.PostgresURL(t)
			aEnv := map[string]string{"HTTP_ADDR": addr}
			for k, v := range env {
				aEnv[k] = v
			}
			a := startServer(t, dbURL, aEnv)
			b := startServer(t, dbURL, env)

			registerUser(t, a, "clustered")
			party, clientID, secret := newRelyingParty(t, a, false, true, "openid", "email", "offline_access")
			br := newBrowser()
			tk := signIn(t, br, party, "clustered")
			require.True(t, introspect(t, b, clientID, secret, tk.AccessToken), "the other instance knows the token")

			api := login(t, b, "clustered", testPass)
			require.Equal(t, http.StatusNoContent, b.authed(t, http.MethodPost, "/api/v1/auth/logout-all", api.AccessToken, nil).Status)
			start := time.Now()
			for _, s := range []*server{a, b} {
				require.Eventually(t, func() bool { return !introspect(t, s, clientID, secret, tk.AccessToken) },
					time.Second, 20*time.Millisecond, "revocation reaches %s", s.base)
			}
			t.Logf("refused everywhere after %v", time.Since(start))
			p := br.get(t, party.srv.URL+"/login")
			assert.Contains(t, p.Body, `name="password"`, "logout-all ended the browser's session too")
		})
	}
}

package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/test/dbtest"
)

// oldToken mints a token as the old service's Flask-JWT-Extended did:
// HS256, sub the user id (a JSON integer, or a string), type, jti, fresh,
// iat, nbf, exp and csrf.
func oldToken(t *testing.T, secret string, sub any, typ string, ttl time.Duration) string {
	t.Helper()
	now := time.Now()
	claims := map[string]any{"sub": sub, "type": typ, "jti": uuid.NewString(), "fresh": false,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(ttl).Unix(), "csrf": uuid.NewString()}
	payload, err := json.Marshal(claims)
	require.NoError(t, err)
	signed, err := jws.Sign(payload, jws.WithKey(jwa.HS256, []byte(secret)))
	require.NoError(t, err)
	return string(signed)
}

// TestOldTokensThroughTheCutover signs users in with tokens the old
// service issued before the switch, as long as they would have lasted and
// no longer than the account allows.
func TestOldTokensThroughTheCutover(t *testing.T) {
	for name, url := range dialects {
		t.Run(name, func(t *testing.T) {
			w := newLegacyWorld(t, url(t), nil)
			s := w.s
			me := func(token string) legacyRes { return s.legacy(t, http.MethodGet, "/auth/me", token, nil) }

			for what, sub := range map[string]any{"integer sub (PyJWT before 2.10)": 2, "string sub": "2"} {
				res := me(oldToken(t, legacySecret, sub, "access", time.Hour))
				require.Equal(t, http.StatusOK, res.Status, "%s: %s", what, res.Body)
				assert.EqualValues(t, 2, res.JSON(t)["user"].(map[string]any)["id"], what)
			}
			assertFamily(t, me(oldToken(t, legacySecret, 2, "access", -time.Second)), http.StatusUnauthorized, "msg", "expired")
			assertFamily(t, me(oldToken(t, "another secret", 2, "access", time.Hour)), http.StatusUnauthorized, "msg", "other secret")
			assertFamily(t, me(oldToken(t, "dev-secret-key-change-in-production", 2, "access", time.Hour)),
				http.StatusUnauthorized, "msg", "the public default proves nothing")
			assert.Equal(t, "Only non-refresh tokens are allowed",
				assertFamily(t, me(oldToken(t, legacySecret, 2, "refresh", time.Hour)), http.StatusUnprocessableEntity, "msg", "refresh as access")["msg"])
			assertFamily(t, me(oldToken(t, legacySecret, 999, "access", time.Hour)), http.StatusUnauthorized, "msg", "unknown user")

			// An old refresh token lands in one UMS session, however often
			// it is presented.
			refresh := oldToken(t, legacySecret, 2, "refresh", 30*24*time.Hour)
			var access string
			for range 3 {
				res := s.legacy(t, http.MethodPost, "/auth/refresh", refresh, nil)
				require.Equal(t, http.StatusOK, res.Status, string(res.Body))
				access = res.JSON(t)["access_token"].(string)
			}
			sessions := s.authed(t, http.MethodGet, "/api/v1/me/sessions", access, nil)
			require.Equal(t, http.StatusOK, sessions.Status, string(sessions.Body))
			assert.Len(t, sessions.JSON(t)["items"], 1, "one session for the old refresh token")
			assert.Equal(t, "Only refresh tokens are allowed", assertFamily(t, s.legacy(t, http.MethodPost, "/auth/refresh",
				oldToken(t, legacySecret, 2, "access", time.Hour), nil), http.StatusUnprocessableEntity, "msg", "access at refresh")["msg"])

			require.Equal(t, http.StatusNoContent, s.authed(t, http.MethodPost, "/api/v1/auth/logout-all", access, nil).Status)
			assertFamily(t, s.legacy(t, http.MethodPost, "/auth/refresh", refresh, nil), http.StatusUnauthorized, "msg",
				"logout-all ends the old refresh token's session")

			// Deactivation ends old tokens at once.
			adminAccess, _ := w.login(t, 5)
			old := oldToken(t, legacySecret, 3, "access", time.Hour)
			require.Equal(t, http.StatusOK, me(old).Status)
			require.Equal(t, http.StatusOK, s.legacy(t, http.MethodPatch, "/users/3", adminAccess, map[string]any{"is_active": false}).Status)
			assertFamily(t, me(old), http.StatusUnauthorized, "msg", "deactivated")
			oldRefresh := oldToken(t, legacySecret, 3, "refresh", time.Hour)
			assertFamily(t, s.legacy(t, http.MethodPost, "/auth/refresh", oldRefresh, nil), http.StatusUnauthorized, "msg", "deactivated refresh")
		})
	}
}

func TestOldTokensAreRefusedWithoutTheOldSecret(t *testing.T) {
	w := newLegacyWorld(t, dbtest.SQLiteURL(t), map[string]string{"LEGACY_JWT_SECRET": ""})
	res := w.s.legacy(t, http.MethodGet, "/auth/me", oldToken(t, legacySecret, 2, "access", time.Hour), nil)
	assertFamily(t, res, http.StatusUnauthorized, "msg", "no secret configured, no old token honoured")
	// UMS's own tokens work all the same.
	access, _ := w.login(t, 2)
	assert.Equal(t, http.StatusOK, w.s.legacy(t, http.MethodGet, "/auth/me", access, nil).Status)
}

// TestLegacyAPIIsAuditedAndMeasuredAndOffByDefault checks what operators
// see of the old API, and that it answers only when switched on.
func TestLegacyAPIIsAuditedAndMeasuredAndOffByDefault(t *testing.T) {
	w := newLegacyWorld(t, dbtest.SQLiteURL(t), nil)
	w.login(t, 2)
	events, err := auditLog(w.s).Recent(context.Background(), 10)
	require.NoError(t, err)
	var login bool
	for _, ev := range events {
		if ev.Action == "auth.login" {
			login = true
			assert.Equal(t, "legacy_api", ev.Details["via"], "the event says it came through the old API")
		}
	}
	assert.True(t, login)
	metrics := w.s.request(t, http.MethodGet, "/metrics", "", nil, nil)
	assert.Contains(t, string(metrics.Body), `route="/api/auth/login"`, "metrics per old route")

	off := startServer(t, dbtest.SQLiteURL(t), nil)
	res, err := off.client.Post(off.base+"/api/auth/login", "application/json", strings.NewReader(`{"username":"a","password":"b"}`))
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusNotFound, res.StatusCode, "LEGACY_API is off by default")
	assert.Equal(t, "application/problem+json", res.Header.Get("Content-Type"))
}

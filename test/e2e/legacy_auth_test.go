package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLegacyAuthRoutes walks the old API's /api/auth routes (pairs 1–12 of
// lhums-api.md §0) on both stores after an import: statuses, bodies and
// error families as the old service answered them.
func TestLegacyAuthRoutes(t *testing.T) {
	for name, url := range dialects {
		t.Run(name, func(t *testing.T) {
			w := newLegacyWorld(t, url(t), nil)
			s := w.s

			t.Run("register", func(t *testing.T) {
				res := s.legacy(t, http.MethodPost, "/auth/register", "", map[string]any{"username": "newcomer",
					"email": "newcomer@example.com", "password": testPass, "first_name": "", "last_name": ""})
				require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
				body := res.JSON(t)
				assert.Equal(t, "User registered successfully", body["message"])
				assertShape(t, body["user"], oldUserKeys, "user")
				id := body["user"].(map[string]any)["id"].(float64)
				assert.Greater(t, id, float64(14), "a new account gets an integer id above every imported one (14)")
				assertFamily(t, s.legacy(t, http.MethodPost, "/auth/register", "", map[string]any{"username": "newcomer",
					"email": "NEWCOMER@example.com", "password": testPass}), http.StatusBadRequest, "errors", "duplicate")
				body = assertFamily(t, s.legacy(t, http.MethodPost, "/auth/register", "", map[string]any{"email": "x@example.com",
					"is_admin": true}), http.StatusBadRequest, "errors", "unknown and missing fields")
				errs := body["errors"].(map[string]any)
				assert.Equal(t, []any{"Unknown field."}, errs["is_admin"])
				assert.Equal(t, []any{"Missing data for required field."}, errs["username"])
				assertFamily(t, s.legacy(t, http.MethodPost, "/auth/register", "", []any{1}), http.StatusBadRequest, "errors", "not an object")
			})

			t.Run("login", func(t *testing.T) {
				bob := w.user(t, 2)
				res := s.legacy(t, http.MethodPost, "/auth/login", "", map[string]any{"username": bob.Username, "password": bob.Password})
				require.Equal(t, http.StatusOK, res.Status, string(res.Body))
				body := res.JSON(t)
				assert.Equal(t, "Login successful", body["message"])
				assert.NotEmpty(t, body["access_token"])
				assert.NotEmpty(t, body["refresh_token"])
				assertShape(t, body["user"], oldUserKeys, "user")
				assert.EqualValues(t, 2, body["user"].(map[string]any)["id"], "the old integer id")
				assert.NotContains(t, body, "token_type")

				byEmail := s.legacy(t, http.MethodPost, "/auth/login", "", map[string]any{"username": bob.Email, "password": bob.Password})
				assert.Equal(t, http.StatusOK, byEmail.Status, "an email signs in too")
				body = assertFamily(t, s.legacy(t, http.MethodPost, "/auth/login", "", map[string]any{"username": "bob", "password": "nope"}),
					http.StatusUnauthorized, "error", "wrong password")
				assert.Equal(t, "Invalid username or password", body["error"])
				assertFamily(t, s.legacy(t, http.MethodPost, "/auth/login", "", map[string]any{"email": "bob@example.com"}),
					http.StatusBadRequest, "errors", "email is no login field")

				heidi := w.user(t, 11)
				body = assertFamily(t, s.legacy(t, http.MethodPost, "/auth/login", "", map[string]any{"username": heidi.Username,
					"password": heidi.Password}), http.StatusForbidden, "error", "locked")
				assert.Contains(t, body["error"], "Account is locked")
				frank := w.user(t, 6)
				body = assertFamily(t, s.legacy(t, http.MethodPost, "/auth/login", "", map[string]any{"username": frank.Username,
					"password": frank.Password}), http.StatusForbidden, "error", "forced change")
				assert.Equal(t, true, body["require_password_change"])
				ivan := w.user(t, 12)
				body = assertFamily(t, s.legacy(t, http.MethodPost, "/auth/login", "", map[string]any{"username": ivan.Username,
					"password": ivan.Password}), http.StatusForbidden, "error", "expired")
				assert.Equal(t, true, body["password_expired"])
				dave := w.user(t, 4)
				assertFamily(t, s.legacy(t, http.MethodPost, "/auth/login", "", map[string]any{"username": dave.Username,
					"password": dave.Password}), http.StatusUnauthorized, "error", "inactive: answered like a wrong password")
			})

			t.Run("refresh_me_and_the_jwt_layer", func(t *testing.T) {
				access, refresh := w.login(t, 2)
				for range 2 {
					res := s.legacy(t, http.MethodPost, "/auth/refresh", refresh, nil)
					require.Equal(t, http.StatusOK, res.Status, string(res.Body))
					body := res.JSON(t)
					assert.Len(t, body, 1, "only a new access token")
					access = body["access_token"].(string)
				}
				me := s.legacy(t, http.MethodGet, "/auth/me", access, nil)
				require.Equal(t, http.StatusOK, me.Status, string(me.Body))
				assertShape(t, me.JSON(t)["user"], oldUserKeys, "user")

				body := assertFamily(t, s.legacy(t, http.MethodPost, "/auth/refresh", access, nil), http.StatusUnprocessableEntity, "msg", "access at refresh")
				assert.Equal(t, "Only refresh tokens are allowed", body["msg"])
				body = assertFamily(t, s.legacy(t, http.MethodGet, "/auth/me", "", nil), http.StatusUnauthorized, "msg", "no header")
				assert.Equal(t, "Missing Authorization Header", body["msg"])
				res := s.legacyHeader(t, http.MethodGet, "/auth/me", "Token abc")
				assertFamily(t, res, http.StatusUnauthorized, "msg", "not a bearer")
				res = s.legacyHeader(t, http.MethodGet, "/auth/me", "Bearer a b")
				assertFamily(t, res, http.StatusUnprocessableEntity, "msg", "two words")
				assertFamily(t, s.legacy(t, http.MethodGet, "/auth/me", "not-a-token", nil), http.StatusUnauthorized, "msg", "garbage")
			})

			t.Run("passwords_and_email", func(t *testing.T) {
				body := assertFamily(t, s.legacy(t, http.MethodPost, "/auth/forgot-password", "", map[string]any{}), http.StatusBadRequest, "error", "no email")
				assert.Equal(t, "Email is required", body["error"])
				for _, email := range []string{"bob@example.com", "nobody@example.com", "not an address"} {
					res := s.legacy(t, http.MethodPost, "/auth/forgot-password", "", map[string]any{"email": email})
					require.Equal(t, http.StatusOK, res.Status, email)
					assert.Equal(t, "If the email exists, a reset link has been sent", res.JSON(t)["message"])
				}
				body = assertFamily(t, s.legacy(t, http.MethodPost, "/auth/reset-password", "", map[string]any{"token": "x"}),
					http.StatusBadRequest, "error", "no password")
				assert.Equal(t, "Token and new password are required", body["error"])
				body = assertFamily(t, s.legacy(t, http.MethodPost, "/auth/reset-password", "", map[string]any{"token": "x",
					"new_password": "long enough new pass"}), http.StatusBadRequest, "error", "bad token")
				assert.Equal(t, "Invalid or expired token", body["error"])
				body = assertFamily(t, s.legacy(t, http.MethodPost, "/auth/verify-email", "", map[string]any{}), http.StatusBadRequest, "error", "no token")
				assert.Equal(t, "Token is required", body["error"])
				assertFamily(t, s.legacy(t, http.MethodPost, "/auth/verify-email", "", map[string]any{"token": "x"}),
					http.StatusBadRequest, "error", "bad verification token")

				alice := w.user(t, 1)
				access, _ := w.login(t, 1)
				status := s.legacy(t, http.MethodGet, "/auth/password-status", access, nil)
				require.Equal(t, http.StatusOK, status.Status, string(status.Body))
				st := status.JSON(t)
				for _, k := range []string{"password_expired", "password_expires_at", "days_until_expiry", "password_changed_at",
					"require_password_change", "warning"} {
					assert.Contains(t, st, k)
				}
				body = assertFamily(t, s.legacy(t, http.MethodPost, "/auth/change-password", access, map[string]any{
					"current_password": "wrong one", "new_password": "a new long pass phrase"}), http.StatusUnauthorized, "error", "wrong current")
				assert.Equal(t, "Current password is incorrect", body["error"])
				body = assertFamily(t, s.legacy(t, http.MethodPost, "/auth/change-password", access, map[string]any{
					"current_password": alice.Password, "new_password": alice.History[0]}), http.StatusBadRequest, "error", "reused")
				assert.Equal(t, "Password was used previously", body["error"])
				assert.NotEmpty(t, body["message"])
				res := s.legacy(t, http.MethodPost, "/auth/change-email", access, map[string]any{"new_email": "bob@example.com",
					"password": alice.Password})
				assert.Equal(t, "Email already in use", assertFamily(t, res, http.StatusBadRequest, "error", "taken")["error"])
				res = s.legacy(t, http.MethodPost, "/auth/change-email", access, map[string]any{"new_email": "alice.new@example.com",
					"password": "wrong"})
				assert.Equal(t, "Invalid password", assertFamily(t, res, http.StatusUnauthorized, "error", "wrong password")["error"])
				res = s.legacy(t, http.MethodPost, "/auth/change-email", access, map[string]any{"new_email": "alice.new@example.com",
					"password": alice.Password})
				require.Equal(t, http.StatusOK, res.Status, string(res.Body))
				assert.Equal(t, "Verification email sent to new address", res.JSON(t)["message"])
				res = s.legacy(t, http.MethodPost, "/auth/change-password", access, map[string]any{
					"current_password": alice.Password, "new_password": "a brand new pass phrase"})
				require.Equal(t, http.StatusOK, res.Status, string(res.Body))
				assert.Equal(t, "Password changed successfully", res.JSON(t)["message"])
			})
		})
	}
}

// legacyHeader sends a request with a raw Authorization header.
func (s *server) legacyHeader(t *testing.T, method, path, authorization string) legacyRes {
	t.Helper()
	req, err := http.NewRequest(method, s.base+"/api"+path, strings.NewReader(""))
	require.NoError(t, err)
	req.Header.Set("Authorization", authorization)
	res, err := s.client.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b := new(strings.Builder)
	_, _ = io.Copy(b, res.Body)
	return legacyRes{Status: res.StatusCode, Header: res.Header, Body: []byte(b.String())}
}

package e2e

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/domain"
)

func TestSessions(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *server) {
		registerUser(t, s, "lovelace")
		registerUser(t, s, "babbage")

		t.Run("lists_active_sessions_marking_the_current_one", func(t *testing.T) {
			laptop := login(t, s, "lovelace", testPass)
			phone := login(t, s, "lovelace", testPass)
			res := s.authed(t, http.MethodGet, "/api/v1/me/sessions", phone.AccessToken, nil)
			require.Equal(t, http.StatusOK, res.Status)
			items := res.JSON(t)["items"].([]any)
			current := map[string]bool{}
			for _, it := range items {
				m := it.(map[string]any)
				current[m["id"].(string)] = m["current"].(bool)
				assert.Equal(t, "127.0.0.1", m["ip"])
			}
			assert.True(t, current[phone.SessionID])
			assert.False(t, current[laptop.SessionID])
		})

		t.Run("deleting_a_session_kills_its_tokens_at_once", func(t *testing.T) {
			laptop := login(t, s, "lovelace", testPass)
			phone := login(t, s, "lovelace", testPass)
			res := s.authed(t, http.MethodDelete, "/api/v1/me/sessions/"+laptop.SessionID, phone.AccessToken, nil)
			require.Equal(t, http.StatusNoContent, res.Status, string(res.Body))
			assert.Equal(t, http.StatusUnauthorized, s.authed(t, http.MethodGet, "/api/v1/me", laptop.AccessToken, nil).Status)
			r, _ := refresh(t, s, laptop.RefreshToken)
			assert.Equal(t, http.StatusUnauthorized, r.Status)
			assert.Equal(t, http.StatusOK, s.authed(t, http.MethodGet, "/api/v1/me", phone.AccessToken, nil).Status)
			assert.Positive(t, countAction(recentEvents(t, s, 5), domain.ActionSessionRevoked, ""))
		})

		t.Run("another_users_session_is_not_found", func(t *testing.T) {
			mine := login(t, s, "lovelace", testPass)
			theirs := login(t, s, "babbage", testPass)
			for _, id := range []string{theirs.SessionID, "not-a-uuid", "0190b6a4-0000-7000-8000-000000000000"} {
				res := s.authed(t, http.MethodDelete, "/api/v1/me/sessions/"+id, mine.AccessToken, nil)
				assert.Equal(t, http.StatusNotFound, res.Status, id)
			}
			assert.Equal(t, http.StatusOK, s.authed(t, http.MethodGet, "/api/v1/me", theirs.AccessToken, nil).Status)
		})

		t.Run("logout_all_ends_every_session", func(t *testing.T) {
			a := login(t, s, "lovelace", testPass)
			b := login(t, s, "lovelace", testPass)
			other := login(t, s, "babbage", testPass)
			require.Equal(t, http.StatusNoContent, s.authed(t, http.MethodPost, "/api/v1/auth/logout-all", a.AccessToken, nil).Status)
			for _, tk := range []tokens{a, b} {
				assert.Equal(t, http.StatusUnauthorized, s.authed(t, http.MethodGet, "/api/v1/me", tk.AccessToken, nil).Status)
				r, _ := refresh(t, s, tk.RefreshToken)
				assert.Equal(t, http.StatusUnauthorized, r.Status)
			}
			assert.Equal(t, http.StatusOK, s.authed(t, http.MethodGet, "/api/v1/me", other.AccessToken, nil).Status)
			fresh := login(t, s, "lovelace", testPass)
			res := s.authed(t, http.MethodGet, "/api/v1/me/sessions", fresh.AccessToken, nil)
			assert.Len(t, res.JSON(t)["items"], 1)
		})
	})
}

func TestMe(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *server) {
		registerUser(t, s, "hamilton")
		tk := login(t, s, "hamilton", testPass)

		t.Run("patch_changes_profile_fields", func(t *testing.T) {
			res := s.authed(t, http.MethodPatch, "/api/v1/me", tk.AccessToken, map[string]any{"first_name": "Margaret"})
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			assert.Equal(t, "Margaret", res.JSON(t)["first_name"])
			assert.Equal(t, "Lovelace", res.JSON(t)["last_name"], "absent fields are left alone")
			assert.Equal(t, "Margaret", s.authed(t, http.MethodGet, "/api/v1/me", tk.AccessToken, nil).JSON(t)["first_name"])
			assert.Equal(t, 1, countAction(recentEvents(t, s, 3), domain.ActionProfileUpdated, ""))
		})

		t.Run("admin_flags_and_identity_are_unknown_fields", func(t *testing.T) {
			for _, field := range []string{"is_system_admin", "is_active", "email", "password_hash", "id"} {
				res := s.authed(t, http.MethodPatch, "/api/v1/me", tk.AccessToken, map[string]any{field: true})
				assert.Equal(t, http.StatusBadRequest, res.Status, field)
			}
			assert.Equal(t, false, s.authed(t, http.MethodGet, "/api/v1/me", tk.AccessToken, nil).JSON(t)["is_system_admin"])
		})

		t.Run("invalid_values_are_422", func(t *testing.T) {
			res := s.authed(t, http.MethodPatch, "/api/v1/me", tk.AccessToken, map[string]any{"last_name": "bad\u202ename"})
			require.Equal(t, http.StatusUnprocessableEntity, res.Status)
			assert.Equal(t, "last_name", res.JSON(t)["errors"].([]any)[0].(map[string]any)["field"])
		})
	})
}

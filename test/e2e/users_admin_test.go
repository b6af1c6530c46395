package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/test/dbtest"
)

// pageThrough lists path with limit until the end, returning the ids in
// order; between pages it calls between (to insert rows concurrently).
func pageThrough(t *testing.T, w *world, path string, limit int, between func(page int)) []string {
	t.Helper()
	var ids []string
	cursor := ""
	for page := 0; ; page++ {
		u := fmt.Sprintf("%s%slimit=%d", path, sep(path), limit)
		if cursor != "" {
			u += "&cursor=" + url.QueryEscape(cursor)
		}
		res := w.sys(t, http.MethodGet, u, nil)
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		body := res.JSON(t)
		for _, it := range body["items"].([]any) {
			ids = append(ids, it.(map[string]any)["id"].(string))
		}
		next, _ := body["next_cursor"].(string)
		if next == "" {
			return ids
		}
		cursor = next
		if between != nil {
			between(page)
		}
		require.Less(t, page, 100, "pagination must end")
	}
}

func sep(path string) string {
	for _, c := range path {
		if c == '?' {
			return "&"
		}
	}
	return "?"
}

func TestUserListPaginationIsStableUnderInserts(t *testing.T) {
	s := startServer(t, dbtest.PostgresURL(t), nil)
	w := newWorld(t, s)
	for i := 0; i < 20; i++ {
		registerUser(t, s, fmt.Sprintf("page%02d", i))
	}
	for _, sort := range []string{"created_at", "-created_at", "username", "-username", "email", "-email"} {
		t.Run(sort, func(t *testing.T) {
			before := pageThrough(t, w, "/api/v1/users?sort="+sort, 7, nil)
			inserted := 0
			during := pageThrough(t, w, "/api/v1/users?sort="+sort, 7, func(int) {
				// New rows sort both before and after the cursor.
				registerUser(t, s, w.unique("aaa"+sort[len(sort)-1:]))
				registerUser(t, s, w.unique("zzz"+sort[len(sort)-1:]))
				inserted += 2
			})
			seen := map[string]int{}
			for _, id := range during {
				seen[id]++
			}
			for _, id := range before {
				assert.Equal(t, 1, seen[id], "every user present at the start is listed exactly once")
			}
			for id, n := range seen {
				assert.Equal(t, 1, n, "no user is listed twice: %s", id)
			}
		})
	}
	res := w.sys(t, http.MethodGet, "/api/v1/users?cursor=garbage", nil)
	assert.Equal(t, http.StatusUnprocessableEntity, res.Status)
	res = w.sys(t, http.MethodGet, "/api/v1/users?sort=password_hash", nil)
	assert.Equal(t, http.StatusUnprocessableEntity, res.Status)
}

func TestUserAdministration(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *server) {
		w := newWorld(t, s)
		res := w.sys(t, http.MethodGet, "/api/v1/users?q=ORG_&is_active=true&org_id="+w.orgA, nil)
		require.Equal(t, http.StatusOK, res.Status)
		var names []string
		for _, it := range res.JSON(t)["items"].([]any) {
			names = append(names, it.(map[string]any)["username"].(string))
		}
		assert.ElementsMatch(t, []string{"org_viewer", "org_member", "org_admin"}, names, "q is a literal substring; org_id filters")

		orgs := w.sys(t, http.MethodGet, "/api/v1/users/"+w.ids[orgAdmin]+"/organizations", nil)
		require.Equal(t, http.StatusOK, orgs.Status)
		assert.Len(t, orgs.JSON(t)["items"], 1)

		// The last system admin can neither be demoted nor deactivated nor erased.
		self := "/api/v1/users/" + w.ids[systemAdmin]
		assert.Equal(t, http.StatusConflict, w.sys(t, http.MethodPatch, self, map[string]any{"is_system_admin": false}).Status)
		assert.Equal(t, http.StatusConflict, w.sys(t, http.MethodPatch, self, map[string]any{"is_active": false}).Status)
		assert.Equal(t, http.StatusConflict, w.sys(t, http.MethodDelete, self, nil).Status)

		// Deactivation ends the user's sessions at once.
		victim := login(t, s, "plain_user", testPass)
		res = w.sys(t, http.MethodPatch, "/api/v1/users/"+w.ids[plainUser], map[string]any{"is_active": false})
		require.Equal(t, http.StatusOK, res.Status)
		assert.Equal(t, false, res.JSON(t)["is_active"])
		assert.Equal(t, http.StatusUnauthorized, s.authed(t, http.MethodGet, "/api/v1/me", victim.AccessToken, nil).Status)
		assert.Equal(t, http.StatusUnauthorized, s.postJSON(t, loginPath, map[string]any{"login": "plain_user", "password": testPass}).Status)

		// Unlock lifts a login lock.
		for i := 0; i < 5; i++ {
			s.postJSON(t, loginPath, map[string]any{"login": "org_viewer", "password": "wrong password"})
		}
		require.Equal(t, http.StatusTooManyRequests, s.postJSON(t, loginPath, map[string]any{"login": "org_viewer", "password": testPass}).Status)
		require.Equal(t, http.StatusNoContent, w.sys(t, http.MethodPost, "/api/v1/users/"+w.ids[orgViewer]+"/unlock", nil).Status)
		login(t, s, "org_viewer", testPass)

		// So does a lock stored on the account (as imported from the old service).
		_, err := s.db.NewRaw("UPDATE users SET locked_until = ? WHERE id = ?", time.Now().Add(time.Hour).UTC(), w.ids[orgViewer]).
			Exec(context.Background())
		require.NoError(t, err)
		require.Equal(t, http.StatusTooManyRequests, s.postJSON(t, loginPath, map[string]any{"login": "org_viewer", "password": testPass}).Status)
		require.Equal(t, http.StatusNoContent, w.sys(t, http.MethodPost, "/api/v1/users/"+w.ids[orgViewer]+"/unlock", nil).Status)
		login(t, s, "org_viewer", testPass)

		// Admin-created users are verified and may be admins; the hash never shows.
		res = w.sys(t, http.MethodPost, "/api/v1/users", map[string]any{"email": "second@example.com", "username": "second",
			"password": testPass, "is_system_admin": true})
		require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
		assert.Equal(t, true, res.JSON(t)["email_verified"])
		assert.NotContains(t, string(res.Body), "argon2")
		assert.Equal(t, http.StatusConflict, w.sys(t, http.MethodPost, "/api/v1/users", map[string]any{"email": "second@example.com",
			"username": "other", "password": testPass}).Status)
	})
}

// TestErasureAndExport checks GDPR export and erasure row by row.
func TestErasureAndExport(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *server) {
		w := newWorld(t, s)
		uid := w.ids[orgMember]
		require.Equal(t, http.StatusCreated, w.sys(t, http.MethodPost, "/api/v1/orgs/"+w.orgA+"/grants",
			map[string]any{"user_id": uid, "permission": "lab.patient.read"}).Status)
		tk := login(t, s, "org_member", testPass)

		ex := s.authed(t, http.MethodGet, "/api/v1/me/export", tk.AccessToken, nil)
		require.Equal(t, http.StatusOK, ex.Status)
		body := ex.JSON(t)
		assert.Equal(t, uid, body["user"].(map[string]any)["id"])
		assert.NotEmpty(t, body["sessions"])
		assert.Len(t, body["memberships"], 1)
		assert.Len(t, body["grants"], 1)
		assert.NotEmpty(t, body["audit_events"])
		for _, secret := range []string{"$argon2", "password_hash", "token_hash", tk.RefreshToken, "mfa_secret"} {
			assert.NotContains(t, string(ex.Body), secret)
		}

		assert.Equal(t, http.StatusUnprocessableEntity,
			s.authed(t, http.MethodDelete, "/api/v1/me", tk.AccessToken, map[string]any{"password": "wrong"}).Status)
		require.Equal(t, http.StatusNoContent,
			s.authed(t, http.MethodDelete, "/api/v1/me", tk.AccessToken, map[string]any{"password": testPass}).Status)
		assert.Equal(t, http.StatusUnauthorized, s.authed(t, http.MethodGet, "/api/v1/me", tk.AccessToken, nil).Status)
		assert.Equal(t, http.StatusUnauthorized, s.postJSON(t, loginPath, map[string]any{"login": "org_member", "password": testPass}).Status)

		ctx := context.Background()
		for table, col := range map[string]string{"users": "id", "sessions": "user_id", "memberships": "user_id", "grants": "user_id",
			"one_time_tokens": "user_id", "password_history": "user_id", "mfa_recovery_codes": "user_id", "audit_events": "actor_id"} {
			var n int
			require.NoError(t, s.db.NewRaw("SELECT count(*) FROM "+table+" WHERE "+col+" = ?", uid).Scan(ctx, &n))
			assert.Zero(t, n, "%s.%s still names the erased user", table, col)
		}
		var n int
		require.NoError(t, s.db.NewRaw("SELECT count(*) FROM audit_events WHERE target_id = ?", uid).Scan(ctx, &n))
		assert.Zero(t, n)
		require.NoError(t, s.db.NewRaw("SELECT count(*) FROM login_attempts WHERE identifier = ?", "user:"+uid).Scan(ctx, &n))
		assert.Zero(t, n)
		require.NoError(t, s.db.NewRaw("SELECT count(*) FROM audit_events WHERE action = ?", domain.ActionUserErased).Scan(ctx, &n))
		assert.Equal(t, 1, n, "the erasure itself is on the record")
		require.NoError(t, s.db.NewRaw("SELECT count(*) FROM audit_events WHERE action = ?", domain.ActionLoginSucceeded).Scan(ctx, &n))
		assert.Positive(t, n, "the trail is kept, pseudonymized")

		// An administrator erases another user the same way.
		require.Equal(t, http.StatusNoContent, w.sys(t, http.MethodDelete, "/api/v1/users/"+w.ids[orgViewer], nil).Status)
		assert.Equal(t, http.StatusNotFound, w.sys(t, http.MethodGet, "/api/v1/users/"+w.ids[orgViewer], nil).Status)
	})
}

func TestAuditListing(t *testing.T) {
	s := startServer(t, dbtest.SQLiteURL(t), nil)
	w := newWorld(t, s)
	ids := pageThrough(t, w, "/api/v1/audit-events?action=org.member_added", 2, nil)
	assert.Len(t, ids, 4, "four memberships were made")
	res := s.authed(t, http.MethodGet, "/api/v1/audit-events?org_id="+w.orgA, w.tokens[orgAdmin], nil)
	require.Equal(t, http.StatusOK, res.Status)
	for _, it := range res.JSON(t)["items"].([]any) {
		assert.Equal(t, w.orgA, it.(map[string]any)["org_id"], "an org admin sees only their organization")
	}
	res = s.authed(t, http.MethodGet, "/api/v1/audit-events?org_id="+w.orgB, w.tokens[orgAdmin], nil)
	assert.Equal(t, http.StatusNotFound, res.Status)
	res = w.sys(t, http.MethodGet, "/api/v1/audit-events?since=yesterday", nil)
	assert.Equal(t, http.StatusUnprocessableEntity, res.Status)
}

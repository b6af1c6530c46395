package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/test/dbtest"
)

// decision posts one authorize check as token and returns the answer.
func decision(t *testing.T, s *server, token, org string, perms []string, userID string) map[string]any {
	t.Helper()
	body := map[string]any{"org_id": org, "permissions": perms}
	if userID != "" {
		body["user_id"] = userID
	}
	res := s.authed(t, http.MethodPost, "/api/v1/authorize", token, body)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	return res.JSON(t)
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// TestAuthorizeThreeTierModel checks effective permissions = role
// defaults ∪ org role permissions ∪ live direct grants, and that every
// change shows in the very next answer (no stale cache).
func TestAuthorizeThreeTierModel(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *server) {
		w := newWorld(t, s)
		for _, p := range []string{"lab.patient.write", "lab.report.read", "lab.sample.ship"} {
			require.Equal(t, http.StatusCreated, w.sys(t, http.MethodPost, "/api/v1/permissions", map[string]any{"name": p}).Status)
		}
		require.Equal(t, http.StatusOK, w.sys(t, http.MethodPut, "/api/v1/role-permissions/member",
			map[string]any{"permissions": []string{"lab.report.read"}}).Status)
		require.Equal(t, http.StatusOK, w.sys(t, http.MethodPut, "/api/v1/orgs/"+w.orgA+"/role-permissions/member",
			map[string]any{"permissions": []string{"lab.patient.read"}}).Status)
		grant := w.sys(t, http.MethodPost, "/api/v1/orgs/"+w.orgA+"/grants",
			map[string]any{"user_id": w.ids[orgMember], "permission": "lab.patient.write"})
		require.Equal(t, http.StatusCreated, grant.Status, string(grant.Body))
		expiring := w.sys(t, http.MethodPost, "/api/v1/orgs/"+w.orgA+"/grants", map[string]any{
			"user_id": w.ids[orgMember], "permission": "lab.sample.ship", "expires_at": time.Now().Add(time.Hour).Format(time.RFC3339)})
		require.Equal(t, http.StatusCreated, expiring.Status, string(expiring.Body))

		member := w.tokens[orgMember]
		all := []string{"lab.patient.read", "lab.patient.write", "lab.report.read", "lab.sample.ship"}
		d := decision(t, s, member, w.orgA, all, "")
		assert.Equal(t, true, d["allowed"], "role default, org role permission and both grants")
		assert.Equal(t, all, strs(d["permissions"]))
		assert.Equal(t, false, d["is_system_admin"])

		d = decision(t, s, w.tokens[orgViewer], w.orgA, []string{"lab.patient.read", "lab.report.read"}, "")
		assert.Equal(t, false, d["allowed"], "the member role's permissions are not the viewer's")
		assert.Equal(t, []string{"lab.patient.read", "lab.report.read"}, strs(d["missing"]))

		d = decision(t, s, member, w.orgB, []string{"lab.report.read"}, "")
		assert.Equal(t, false, d["allowed"], "nothing carries over to an organization the user is not in")

		// The grant expires: age it in the store, as a clock moving on would.
		_, err := s.db.NewRaw("UPDATE grants SET expires_at = ? WHERE id = ?",
			time.Now().Add(-time.Second).UTC(), expiring.JSON(t)["id"]).Exec(context.Background())
		require.NoError(t, err)
		d = decision(t, s, member, w.orgA, []string{"lab.sample.ship"}, "")
		assert.Equal(t, false, d["allowed"], "an expired grant confers nothing")

		// Revocations take effect on the next call.
		require.Equal(t, http.StatusNoContent,
			w.sys(t, http.MethodDelete, "/api/v1/orgs/"+w.orgA+"/grants/"+grant.JSON(t)["id"].(string), nil).Status)
		assert.Equal(t, false, decision(t, s, member, w.orgA, []string{"lab.patient.write"}, "")["allowed"])
		require.Equal(t, http.StatusNoContent, w.sys(t, http.MethodDelete, "/api/v1/permissions/lab.report.read", nil).Status)
		assert.Equal(t, false, decision(t, s, member, w.orgA, []string{"lab.report.read"}, "")["allowed"],
			"a deactivated permission stops counting everywhere")
		require.Equal(t, http.StatusOK, w.sys(t, http.MethodPatch, "/api/v1/orgs/"+w.orgA+"/members/"+w.ids[orgMember],
			map[string]any{"role": "viewer"}).Status)
		assert.Equal(t, false, decision(t, s, member, w.orgA, []string{"lab.patient.read"}, "")["allowed"],
			"a role change takes effect at once")

		// System admins have every permission everywhere.
		d = decision(t, s, w.tokens[systemAdmin], w.orgB, []string{"lab.patient.read", "lab.anything.else"}, "")
		assert.Equal(t, true, d["allowed"])
		assert.Equal(t, true, d["is_system_admin"])

		// Asking about someone else: a system admin may.
		d = decision(t, s, w.tokens[systemAdmin], w.orgA, []string{"lab.patient.read"}, w.ids[orgAdmin])
		assert.Equal(t, w.ids[orgAdmin], d["user_id"])

		// A deactivated organization confers nothing.
		require.Equal(t, http.StatusOK, w.sys(t, http.MethodPut, "/api/v1/orgs/"+w.orgA+"/role-permissions/admin",
			map[string]any{"permissions": []string{"lab.patient.read"}}).Status)
		assert.Equal(t, true, decision(t, s, w.tokens[orgAdmin], w.orgA, []string{"lab.patient.read"}, "")["allowed"])
		require.Equal(t, http.StatusNoContent, w.sys(t, http.MethodDelete, "/api/v1/orgs/"+w.orgA, nil).Status)
		assert.Equal(t, false, decision(t, s, w.tokens[orgAdmin], w.orgA, []string{"lab.patient.read"}, "")["allowed"])
	})
}

func TestAuthorizeBatchAndMyPermissions(t *testing.T) {
	s := startServer(t, dbtest.SQLiteURL(t), nil)
	w := newWorld(t, s)
	require.Equal(t, http.StatusOK, w.sys(t, http.MethodPut, "/api/v1/orgs/"+w.orgA+"/role-permissions/admin",
		map[string]any{"permissions": []string{"lab.patient.read"}}).Status)

	checks := []map[string]any{
		{"org_id": w.orgA, "permissions": []string{"lab.patient.read"}},
		{"org_id": w.orgB, "permissions": []string{"lab.patient.read"}},
		{"org_id": "0190b6a4-0000-7000-8000-000000000000", "permissions": []string{}},
	}
	res := s.authed(t, http.MethodPost, "/api/v1/authorize/batch", w.tokens[orgAdmin], map[string]any{"checks": checks})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	results := res.JSON(t)["results"].([]any)
	require.Len(t, results, 3)
	assert.Equal(t, true, results[0].(map[string]any)["allowed"])
	assert.Equal(t, false, results[1].(map[string]any)["allowed"])
	assert.Equal(t, false, results[2].(map[string]any)["allowed"], "an unknown organization is simply not allowed")

	tooMany := make([]map[string]any, 101)
	for i := range tooMany {
		tooMany[i] = checks[0]
	}
	assert.Equal(t, http.StatusUnprocessableEntity,
		s.authed(t, http.MethodPost, "/api/v1/authorize/batch", w.tokens[orgAdmin], map[string]any{"checks": tooMany}).Status)
	assert.Equal(t, http.StatusUnprocessableEntity, s.authed(t, http.MethodPost, "/api/v1/authorize", w.tokens[orgAdmin],
		map[string]any{"org_id": w.orgA, "permissions": []string{"Not A Permission"}}).Status)
	assert.Equal(t, http.StatusUnprocessableEntity, s.authed(t, http.MethodPost, "/api/v1/authorize", w.tokens[orgAdmin],
		map[string]any{"org_id": "nope", "permissions": []string{}}).Status)

	mine := s.authed(t, http.MethodGet, "/api/v1/me/permissions?org_id="+w.orgA, w.tokens[orgAdmin], nil)
	require.Equal(t, http.StatusOK, mine.Status)
	assert.Equal(t, []string{"lab.patient.read"}, strs(mine.JSON(t)["permissions"]))
	assert.Equal(t, http.StatusNotFound, s.authed(t, http.MethodGet, "/api/v1/me/permissions?org_id="+w.orgB, w.tokens[orgAdmin], nil).Status)
}

func TestOrgNeverLosesItsLastAdmin(t *testing.T) {
	s := startServer(t, dbtest.PostgresURL(t), nil)
	w := newWorld(t, s)
	path := "/api/v1/orgs/" + w.orgA + "/members/" + w.ids[orgAdmin]
	res := s.authed(t, http.MethodPatch, path, w.tokens[orgAdmin], map[string]any{"role": "member"})
	require.Equal(t, http.StatusConflict, res.Status)
	assert.Equal(t, "last_org_admin", res.JSON(t)["code"])
	assert.Equal(t, http.StatusConflict, s.authed(t, http.MethodDelete, path, w.tokens[systemAdmin], nil).Status)
	assert.Equal(t, http.StatusConflict, w.sys(t, http.MethodDelete, "/api/v1/users/"+w.ids[orgAdmin], nil).Status,
		"erasing the last admin would orphan the organization")

	// With a second admin, two concurrent demotions cannot both succeed.
	require.Equal(t, http.StatusOK, w.sys(t, http.MethodPatch, "/api/v1/orgs/"+w.orgA+"/members/"+w.ids[orgMember],
		map[string]any{"role": "admin"}).Status)
	statuses := make(chan int, 2)
	for _, uid := range []string{w.ids[orgAdmin], w.ids[orgMember]} {
		go func(uid string) {
			statuses <- w.sys(t, http.MethodPatch, "/api/v1/orgs/"+w.orgA+"/members/"+uid, map[string]any{"role": "viewer"}).Status
		}(uid)
	}
	a, b := <-statuses, <-statuses
	assert.ElementsMatch(t, []int{http.StatusOK, http.StatusConflict}, []int{a, b})

	// Nobody raises their own role.
	res = s.authed(t, http.MethodPatch, "/api/v1/orgs/"+w.orgA+"/members/"+w.ids[orgViewer], w.tokens[orgViewer], map[string]any{"role": "admin"})
	assert.Equal(t, http.StatusForbidden, res.Status)
}

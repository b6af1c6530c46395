package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/test/dbtest"
)

var patPattern = regexp.MustCompile(`^ums_pat_[0-9A-Za-z]{46}$`)

// makePAT makes a personal access token with the session token and
// returns its value and id.
func makePAT(t *testing.T, s *server, session, org string, perms []string) (string, string) {
	t.Helper()
	body := map[string]any{"name": "script", "expires_at": time.Now().Add(30 * 24 * time.Hour).Format(time.RFC3339)}
	if org != "" {
		body["org_id"] = org
	}
	if perms != nil {
		body["permissions"] = perms
	}
	res := s.authed(t, http.MethodPost, "/api/v1/me/tokens", session, body)
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	out := res.JSON(t)
	require.Regexp(t, patPattern, out["token"])
	return out["token"].(string), out["id"].(string)
}

// patWorld is the policy world with two permissions for org A's members.
func patWorld(t *testing.T, s *server) *world {
	w := newWorld(t, s)
	require.Equal(t, http.StatusCreated, w.sys(t, http.MethodPost, "/api/v1/permissions", map[string]any{"name": "lab.report.read"}).Status)
	require.Equal(t, http.StatusOK, w.sys(t, http.MethodPut, "/api/v1/orgs/"+w.orgA+"/role-permissions/member",
		map[string]any{"permissions": []string{"lab.patient.read", "lab.report.read"}}).Status)
	return w
}

func TestPersonalAccessTokenReadsMeAndIsLimitedToItsPermissions(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *server) {
		w := patWorld(t, s)
		session := w.tokens[orgMember]
		pat, id := makePAT(t, s, session, w.orgA, []string{"lab.patient.read"})

		me := s.authed(t, http.MethodGet, "/api/v1/me", pat, nil)
		require.Equal(t, http.StatusOK, me.Status, string(me.Body))
		assert.Equal(t, w.ids[orgMember], me.JSON(t)["id"])

		d := decision(t, s, pat, w.orgA, []string{"lab.patient.read"}, "")
		assert.Equal(t, true, d["allowed"])
		assert.Equal(t, []string{"lab.patient.read"}, strs(d["permissions"]), "only the token's permissions show")
		d = decision(t, s, pat, w.orgA, []string{"lab.report.read"}, "")
		assert.Equal(t, false, d["allowed"], "the owner holds it, the token does not")
		d = decision(t, s, session, w.orgA, []string{"lab.report.read"}, "")
		assert.Equal(t, true, d["allowed"], "the owner's session still does")
		assert.Equal(t, false, decision(t, s, pat, w.orgB, nil, "")["allowed"], "outside the token's organization")

		mine := s.authed(t, http.MethodGet, "/api/v1/me/permissions?org_id="+w.orgA, pat, nil)
		require.Equal(t, http.StatusOK, mine.Status, string(mine.Body))
		assert.Equal(t, []string{"lab.patient.read"}, strs(mine.JSON(t)["permissions"]))

		// A token asks about its owner only, and does nothing else.
		other := s.authed(t, http.MethodPost, "/api/v1/authorize", pat,
			map[string]any{"org_id": w.orgA, "permissions": []string{}, "user_id": w.ids[orgViewer]})
		assert.Equal(t, http.StatusForbidden, other.Status, string(other.Body))
		for _, r := range []struct{ method, path string }{
			{http.MethodGet, "/api/v1/me/sessions"},
			{http.MethodGet, "/api/v1/me/tokens"},
			{http.MethodPost, "/api/v1/me/tokens"},
			{http.MethodGet, "/api/v1/orgs"},
			{http.MethodPatch, "/api/v1/me"},
			{http.MethodPost, "/api/v1/auth/logout-all"},
		} {
			res := s.authed(t, r.method, r.path, pat, map[string]any{})
			assert.Equal(t, http.StatusForbidden, res.Status, "%s %s: %s", r.method, r.path, res.Body)
			assert.Equal(t, "personal_token_not_allowed", res.JSON(t)["code"], r.path)
		}

		// A typo is refused by the checksum, a forged checksum too.
		tampered := pat[:20] + flip(pat[20]) + pat[21:]
		assert.Equal(t, http.StatusUnauthorized, s.authed(t, http.MethodGet, "/api/v1/me", tampered, nil).Status)

		// The owner sees it listed (never its value), with its last use.
		list := s.authed(t, http.MethodGet, "/api/v1/me/tokens", session, nil)
		require.Equal(t, http.StatusOK, list.Status)
		items := list.JSON(t)["items"].([]any)
		require.Len(t, items, 1)
		item := items[0].(map[string]any)
		assert.Equal(t, id, item["id"])
		assert.Equal(t, pat[len(pat)-4:], item["hint"])
		assert.NotNil(t, item["last_used_at"])
		assert.NotContains(t, string(list.Body), pat)

		// Losing the permission narrows the token on its next use.
		require.Equal(t, http.StatusOK, w.sys(t, http.MethodPut, "/api/v1/orgs/"+w.orgA+"/role-permissions/member",
			map[string]any{"permissions": []string{"lab.report.read"}}).Status)
		assert.Equal(t, false, decision(t, s, pat, w.orgA, []string{"lab.patient.read"}, "")["allowed"])

		// Revoked: refused at once, and the refusal is audited.
		require.Equal(t, http.StatusNoContent, s.authed(t, http.MethodDelete, "/api/v1/me/tokens/"+id, session, nil).Status)
		assert.Equal(t, http.StatusUnauthorized, s.authed(t, http.MethodGet, "/api/v1/me", pat, nil).Status)
		assert.Equal(t, http.StatusNotFound, s.authed(t, http.MethodDelete, "/api/v1/me/tokens/"+id, session, nil).Status)
		// The owner's export lists it, revoked, without its value or hash.
		export := s.authed(t, http.MethodGet, "/api/v1/me/export", session, nil)
		require.Equal(t, http.StatusOK, export.Status, string(export.Body))
		exported := export.JSON(t)["personal_access_tokens"].([]any)
		require.Len(t, exported, 1)
		assert.Equal(t, id, exported[0].(map[string]any)["id"])
		assert.NotNil(t, exported[0].(map[string]any)["revoked_at"])
		assert.NotContains(t, string(export.Body), pat)
		assert.NotContains(t, string(export.Body), "token_hash")

		var actions []string
		require.NoError(t, s.db.NewRaw("SELECT action FROM audit_events WHERE target_id = ? ORDER BY occurred_at", id).
			Scan(context.Background(), &actions))
		assert.Equal(t, []string{"token.created", "token.revoked", "token.refused"}, actions)
	})
}

func flip(c byte) string {
	if c == 'a' {
		return "b"
	}
	return "a"
}

func TestPersonalAccessTokenCreationIsValidated(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *server) {
		w := patWorld(t, s)
		session := w.tokens[orgMember]
		in := func(d time.Duration) string { return time.Now().Add(d).Format(time.RFC3339) }
		for _, c := range []struct {
			name  string
			body  map[string]any
			field string
			code  string
		}{
			{"no expiry", map[string]any{"name": "x"}, "expires_at", "required"},
			{"expired", map[string]any{"name": "x", "expires_at": in(-time.Hour)}, "expires_at", "in_the_past"},
			{"beyond a year", map[string]any{"name": "x", "expires_at": in(400 * 24 * time.Hour)}, "expires_at", "too_far"},
			{"no name", map[string]any{"expires_at": in(time.Hour)}, "name", "invalid"},
			{"permission not held", map[string]any{"name": "x", "expires_at": in(time.Hour), "permissions": []string{"lab.sample.ship"}}, "permissions", "not_held"},
			{"malformed permission", map[string]any{"name": "x", "expires_at": in(time.Hour), "permissions": []string{"Not A Name"}}, "permissions", ""},
			{"organization not theirs", map[string]any{"name": "x", "expires_at": in(time.Hour), "org_id": w.orgB}, "org_id", "not_a_member"},
			{"malformed organization", map[string]any{"name": "x", "expires_at": in(time.Hour), "org_id": "nope"}, "org_id", ""},
		} {
			t.Run(c.name, func(t *testing.T) {
				res := s.authed(t, http.MethodPost, "/api/v1/me/tokens", session, c.body)
				require.Equal(t, http.StatusUnprocessableEntity, res.Status, string(res.Body))
				fe := res.JSON(t)["errors"].([]any)[0].(map[string]any)
				assert.Equal(t, c.field, fe["field"])
				if c.code != "" {
					assert.Equal(t, c.code, fe["code"])
				}
			})
		}
		// Permissions held in some organization pass without org_id; a
		// token without permissions only identifies its owner.
		pat, _ := makePAT(t, s, session, "", []string{"lab.report.read"})
		assert.Equal(t, true, decision(t, s, pat, w.orgA, []string{"lab.report.read"}, "")["allowed"])
		bare, _ := makePAT(t, s, session, "", nil)
		assert.Equal(t, http.StatusOK, s.authed(t, http.MethodGet, "/api/v1/me", bare, nil).Status)
		d := decision(t, s, bare, w.orgA, []string{"lab.report.read"}, "")
		assert.Equal(t, false, d["allowed"])
		assert.Equal(t, []string{}, strs2(d["permissions"]))
		// A system administrator's token is no system administrator.
		admin, _ := makePAT(t, s, w.tokens[systemAdmin], "", []string{"lab.report.read"})
		d = decision(t, s, admin, w.orgB, []string{"lab.report.read", "lab.patient.read"}, "")
		assert.Equal(t, false, d["allowed"])
		assert.Equal(t, false, d["is_system_admin"])
		assert.Equal(t, []string{"lab.report.read"}, strs(d["granted"]))
		// Nor does it pass a membership check where the admin is no member.
		adminBare, _ := makePAT(t, s, w.tokens[systemAdmin], "", nil)
		assert.Equal(t, false, decision(t, s, adminBare, w.orgB, []string{}, "")["allowed"])
		assert.Equal(t, http.StatusNotFound, s.authed(t, http.MethodGet, "/api/v1/me/permissions?org_id="+w.orgB, adminBare, nil).Status)
		assert.Equal(t, true, decision(t, s, w.tokens[systemAdmin], w.orgB, []string{}, "")["allowed"],
			"the admin's own session still passes it")
	})
}

func strs2(v any) []string {
	out := []string{}
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// TestPersonalAccessTokensEndWithTheirOwnersSessions: logout-all,
// deactivation and erasure end every token, and a reactivated account's
// tokens stay dead.
func TestPersonalAccessTokensEndWithTheirOwnersSessions(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *server) {
		w := patWorld(t, s)
		pat, _ := makePAT(t, s, w.tokens[orgMember], "", nil)
		require.Equal(t, http.StatusNoContent, s.authed(t, http.MethodPost, "/api/v1/auth/logout-all", w.tokens[orgMember], nil).Status)
		assert.Equal(t, http.StatusUnauthorized, s.authed(t, http.MethodGet, "/api/v1/me", pat, nil).Status, "logout-all")

		session := login(t, s, actorNames[orgMember], testPass).AccessToken
		pat, _ = makePAT(t, s, session, "", nil)
		require.Equal(t, http.StatusOK, w.sys(t, http.MethodPatch, "/api/v1/users/"+w.ids[orgMember], map[string]any{"is_active": false}).Status)
		assert.Equal(t, http.StatusUnauthorized, s.authed(t, http.MethodGet, "/api/v1/me", pat, nil).Status, "deactivated")
		require.Equal(t, http.StatusOK, w.sys(t, http.MethodPatch, "/api/v1/users/"+w.ids[orgMember], map[string]any{"is_active": true}).Status)
		assert.Equal(t, http.StatusUnauthorized, s.authed(t, http.MethodGet, "/api/v1/me", pat, nil).Status, "revoked, not just paused")

		session = login(t, s, actorNames[orgMember], testPass).AccessToken
		pat, _ = makePAT(t, s, session, "", nil)
		require.Equal(t, http.StatusNoContent, w.sys(t, http.MethodDelete, "/api/v1/users/"+w.ids[orgMember], nil).Status)
		assert.Equal(t, http.StatusUnauthorized, s.authed(t, http.MethodGet, "/api/v1/me", pat, nil).Status, "erased")
		var n int
		require.NoError(t, s.db.NewRaw("SELECT count(*) FROM personal_access_tokens WHERE user_id = ?", w.ids[orgMember]).
			Scan(context.Background(), &n))
		assert.Zero(t, n, "erasure deletes the tokens")
	})
}

// TestPersonalAccessTokenChangesReachEveryInstance: two instances on one
// Postgres; a revocation, a narrowing or a deactivation made on one is
// refused on the other's very next call.
func TestPersonalAccessTokenChangesReachEveryInstance(t *testing.T) {
	kek := make([]byte, 32)
	_, _ = rand.Read(kek)
	env := map[string]string{"KEY_ENCRYPTION_KEY": base64.StdEncoding.EncodeToString(kek)}
	dbURL := dbtest.PostgresURL(t)
	a, b := startServer(t, dbURL, env), startServer(t, dbURL, env)
	w := patWorld(t, a)
	session := w.tokens[orgMember]

	pat, id := makePAT(t, a, session, w.orgA, []string{"lab.patient.read"})
	for range 3 {
		require.Equal(t, true, decision(t, b, pat, w.orgA, []string{"lab.patient.read"}, "")["allowed"])
	}
	require.Equal(t, http.StatusNoContent, a.authed(t, http.MethodDelete, "/api/v1/me/tokens/"+id, session, nil).Status)
	assert.Equal(t, http.StatusUnauthorized, b.authed(t, http.MethodGet, "/api/v1/me", pat, nil).Status, "revoked on a")

	pat, _ = makePAT(t, a, session, w.orgA, []string{"lab.patient.read"})
	for range 3 {
		require.Equal(t, true, decision(t, b, pat, w.orgA, []string{"lab.patient.read"}, "")["allowed"])
	}
	require.Equal(t, http.StatusOK, w.sys(t, http.MethodPatch, "/api/v1/orgs/"+w.orgA+"/members/"+w.ids[orgMember],
		map[string]any{"role": "viewer"}).Status)
	assert.Equal(t, false, decision(t, b, pat, w.orgA, []string{"lab.patient.read"}, "")["allowed"], "narrowed on a")

	require.Equal(t, http.StatusOK, b.authed(t, http.MethodGet, "/api/v1/me", pat, nil).Status)
	require.Equal(t, http.StatusOK, w.sys(t, http.MethodPatch, "/api/v1/users/"+w.ids[orgMember], map[string]any{"is_active": false}).Status)
	assert.Equal(t, http.StatusUnauthorized, b.authed(t, http.MethodGet, "/api/v1/me", pat, nil).Status, "deactivated on a")
}

// TestPersonalTokenMadeDuringLogoutAllDoesNotOutliveIt races making a
// token with a session against logout-all of that session, at random
// offsets: whichever commits first, a token that was made is revoked
// with the session.
func TestPersonalTokenMadeDuringLogoutAllDoesNotOutliveIt(t *testing.T) {
	forEachDialectWith(t, map[string]string{"RATE_LIMIT_ENABLED": "false"}, func(t *testing.T, s *server) {
		registerUser(t, s, "racer")
		body, err := json.Marshal(map[string]any{"name": "raced", "expires_at": time.Now().Add(time.Hour).Format(time.RFC3339)})
		require.NoError(t, err)
		send := func(path, bearer string, body []byte) (int, []byte) {
			time.Sleep(time.Duration(mrand.IntN(3000)) * time.Microsecond)
			req, err := http.NewRequest(http.MethodPost, s.base+path, bytes.NewReader(body))
			if err != nil {
				return 0, nil
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+bearer)
			res, err := s.client.Do(req)
			if err != nil {
				return 0, nil
			}
			defer func() { _ = res.Body.Close() }()
			out, _ := io.ReadAll(res.Body)
			return res.StatusCode, out
		}
		made := 0
		for try := range 30 {
			session := login(t, s, "racer", testPass).AccessToken
			var (
				wg             sync.WaitGroup
				created, ended int
				answer         []byte
			)
			wg.Add(2)
			go func() { defer wg.Done(); created, answer = send("/api/v1/me/tokens", session, body) }()
			go func() { defer wg.Done(); ended, _ = send("/api/v1/auth/logout-all", session, nil) }()
			wg.Wait()
			require.Contains(t, []int{http.StatusNoContent, http.StatusUnauthorized}, ended, "try %d", try)
			if created != http.StatusCreated {
				assert.Equal(t, http.StatusUnauthorized, created, "try %d: %s", try, answer)
				continue
			}
			made++
			var tok struct {
				Token string `json:"token"`
			}
			require.NoError(t, json.Unmarshal(answer, &tok))
			assert.Equal(t, http.StatusUnauthorized, s.authed(t, http.MethodGet, "/api/v1/me", tok.Token, nil).Status,
				"try %d: the token made during logout-all outlives it", try)
		}
		t.Logf("%d of 30 tokens were made before their session ended", made)
	})
}

// TestPersonalTokensAreMadeOnlyWithARecentSignIn: a token outlives the
// session that made it, so a session whose sign-in is older than
// UI_REAUTH_AFTER (kept alive by refreshing, say) cannot make one.
func TestPersonalTokensAreMadeOnlyWithARecentSignIn(t *testing.T) {
	forEachDialectWith(t, map[string]string{"UI_REAUTH_AFTER": "1s"}, func(t *testing.T, s *server) {
		registerUser(t, s, "stale")
		old := login(t, s, "stale", testPass)
		time.Sleep(1100 * time.Millisecond)
		body := map[string]any{"name": "late", "expires_at": time.Now().Add(time.Hour).Format(time.RFC3339)}
		res := s.authed(t, http.MethodPost, "/api/v1/me/tokens", old.AccessToken, body)
		require.Equal(t, http.StatusForbidden, res.Status, string(res.Body))
		code, _ := problemCode(t, res)
		assert.Equal(t, "recent_sign_in_required", code)
		r, refreshed := refresh(t, s, old.RefreshToken)
		require.Equal(t, http.StatusOK, r.Status, string(r.Body))
		res = s.authed(t, http.MethodPost, "/api/v1/me/tokens", refreshed.AccessToken, body)
		assert.Equal(t, http.StatusForbidden, res.Status, "refreshing is no new sign-in")
		fresh := login(t, s, "stale", testPass)
		assert.Equal(t, http.StatusCreated, s.authed(t, http.MethodPost, "/api/v1/me/tokens", fresh.AccessToken, body).Status)
	})
}

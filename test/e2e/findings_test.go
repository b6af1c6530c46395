package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/test/dbtest"
	"github.com/ums-project/ums/test/mailtest"
)

// These tests each reproduce one finding of the security review that
// came with the intent-named writes, and fail on the code before it.

// enableTOTP turns TOTP on for a signed-in user and returns the secret.
func enableTOTP(t *testing.T, s *server, token, password string) string {
	t.Helper()
	setup := s.authed(t, http.MethodPost, "/api/v1/auth/mfa/totp/setup", token, map[string]any{"password": password})
	require.Equal(t, http.StatusOK, setup.Status, string(setup.Body))
	secret := setup.JSON(t)["secret"].(string)
	code, err := totp.GenerateCode(secret, time.Now())
	require.NoError(t, err)
	act := s.authed(t, http.MethodPost, "/api/v1/auth/mfa/totp/activate", token, map[string]any{"code": code})
	require.Equal(t, http.StatusOK, act.Status, string(act.Body))
	return secret
}

// Finding 1: wrong codes at mfa/totp/disable never locked, because the
// right password reset the counter before the code was checked.
func TestWrongCodesAtMFADisableLockLikeAtLogin(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *server) {
		registerUser(t, s, "codeguess")
		tk := login(t, s, "codeguess", testPass)
		enableTOTP(t, s, tk.AccessToken, testPass)
		for i := range 5 {
			res := s.authed(t, http.MethodPost, "/api/v1/auth/mfa/totp/disable", tk.AccessToken,
				map[string]any{"password": testPass, "code": "000000"})
			require.Equal(t, http.StatusUnauthorized, res.Status, "guess %d: %s", i+1, res.Body)
			assert.Equal(t, "invalid_mfa_code", res.JSON(t)["code"])
		}
		res := s.authed(t, http.MethodPost, "/api/v1/auth/mfa/totp/disable", tk.AccessToken,
			map[string]any{"password": testPass, "code": "000000"})
		require.Equal(t, http.StatusTooManyRequests, res.Status, "the sixth guess is locked out: %s", res.Body)
		assert.Equal(t, "login_locked", res.JSON(t)["code"])
		assert.NotEmpty(t, res.Header.Get("Retry-After"))
	})
}

// Finding 2: a reset link mailed before an email change still reset the
// password after the address changed; links outlived password changes
// and deactivation.
func TestResetLinksDieWithTheAddressThePasswordAndTheAccount(t *testing.T) {
	smtp := mailtest.Start(t)
	s := startServer(t, dbtest.PostgresURL(t), mailEnv(smtp, nil))
	w := newWorld(t, s)
	seen := map[string]bool{}
	forgot := func(email string) string {
		t.Helper()
		require.Equal(t, http.StatusAccepted, s.postJSON(t, "/api/v1/auth/password/forgot", map[string]any{"email": email}).Status)
		return mailedToken(t, smtp, email, "/reset-password", seen)
	}
	reset := func(token string) response {
		return s.postJSON(t, "/api/v1/auth/password/reset", map[string]any{"token": token, "new_password": "a brand new pass phrase"})
	}

	t.Run("email_change", func(t *testing.T) {
		registerUser(t, s, "mover")
		old := forgot("mover@example.com")
		tk := login(t, s, "mover", testPass)
		require.Equal(t, http.StatusAccepted, s.authed(t, http.MethodPost, "/api/v1/auth/email/change", tk.AccessToken,
			map[string]any{"new_email": "moved@example.com", "password": testPass}).Status)
		verify := mailedToken(t, smtp, "moved@example.com", "/verify-email", seen)
		require.Equal(t, http.StatusNoContent, s.postJSON(t, "/api/v1/auth/email/verify", map[string]any{"token": verify}).Status)
		res := reset(old)
		assert.Equal(t, http.StatusUnauthorized, res.Status, "the old address's link is dead: %s", res.Body)
		login(t, s, "mover", testPass)
	})

	t.Run("password_change", func(t *testing.T) {
		registerUser(t, s, "changer")
		old := forgot("changer@example.com")
		tk := login(t, s, "changer", testPass)
		require.Equal(t, http.StatusNoContent, s.authed(t, http.MethodPost, "/api/v1/auth/password/change", tk.AccessToken,
			map[string]any{"current_password": testPass, "new_password": "another long pass phrase"}).Status)
		assert.Equal(t, http.StatusUnauthorized, reset(old).Status)
		login(t, s, "changer", "another long pass phrase")
	})

	t.Run("deactivation", func(t *testing.T) {
		id := registerUser(t, s, "leaver")
		old := forgot("leaver@example.com")
		require.Equal(t, http.StatusOK, w.sys(t, http.MethodPatch, "/api/v1/users/"+id, map[string]any{"is_active": false}).Status)
		assert.Equal(t, http.StatusUnauthorized, reset(old).Status, "a deactivated account is not reset by mail")
	})
}

// Finding 3: a leaked access token alone could enrol a second factor the
// owner does not hold, and nothing undid it.
func TestMFANeedsThePasswordIsAnnouncedAndAnAdminCanResetIt(t *testing.T) {
	smtp := mailtest.Start(t)
	s := startServer(t, dbtest.SQLiteURL(t), mailEnv(smtp, nil))
	w := newWorld(t, s)
	id := registerUser(t, s, "lostphone")
	tk := login(t, s, "lostphone", testPass)

	res := s.authed(t, http.MethodPost, "/api/v1/auth/mfa/totp/setup", tk.AccessToken, map[string]any{})
	require.Equal(t, http.StatusUnprocessableEntity, res.Status, "a bearer token alone does not enrol a factor: %s", res.Body)
	enableTOTP(t, s, tk.AccessToken, testPass)
	smtp.WaitFor(t, func(m mailtest.Message) bool {
		return mailtest.To("lostphone@example.com")(m) && strings.Contains(m.Subject, "turned on")
	}, 10*time.Second)

	res = s.authed(t, http.MethodPost, "/api/v1/users/"+id+"/mfa/reset", tk.AccessToken, nil)
	assert.Equal(t, http.StatusForbidden, res.Status, "only system admins reset a second factor")
	res = w.sys(t, http.MethodPost, "/api/v1/users/"+id+"/mfa/reset", nil)
	require.Equal(t, http.StatusNoContent, res.Status, string(res.Body))
	assert.Equal(t, http.StatusUnauthorized, s.authed(t, http.MethodGet, "/api/v1/me", tk.AccessToken, nil).Status,
		"the user's sessions end with the reset")
	smtp.WaitFor(t, func(m mailtest.Message) bool {
		return mailtest.To("lostphone@example.com")(m) && strings.Contains(m.Subject, "turned off")
	}, 10*time.Second)
	again := login(t, s, "lostphone", testPass)
	assert.Equal(t, false, s.authed(t, http.MethodGet, "/api/v1/me", again.AccessToken, nil).JSON(t)["mfa_enabled"])
	assert.Equal(t, http.StatusConflict, w.sys(t, http.MethodPost, "/api/v1/users/"+id+"/mfa/reset", nil).Status,
		"nothing to reset")
	events, err := auditLog(s).Recent(context.Background(), 30)
	require.NoError(t, err)
	assert.Equal(t, 1, countAction(events, domain.ActionMFAReset, ""))
}

// Finding 4: direct grants survived removal from the organization, and
// non-members could be given grants.
func TestGrantsGoToMembersOnlyAndEndWithTheMembership(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *server) {
		w := newWorld(t, s)
		orgA, member := w.orgA, w.ids[orgMember]
		grant := func(user string) response {
			return w.sys(t, http.MethodPost, "/api/v1/orgs/"+orgA+"/grants", map[string]any{"user_id": user, "permission": "lab.patient.read"})
		}
		res := grant(w.ids[plainUser])
		require.Equal(t, http.StatusUnprocessableEntity, res.Status, string(res.Body))
		assert.Equal(t, "not_a_member", res.JSON(t)["errors"].([]any)[0].(map[string]any)["code"])

		require.Equal(t, http.StatusCreated, grant(member).Status)
		assert.Equal(t, true, decision(t, w.s, w.tokens[systemAdmin], orgA, []string{"lab.patient.read"}, member)["allowed"])
		require.Equal(t, http.StatusNoContent, w.sys(t, http.MethodDelete, "/api/v1/orgs/"+orgA+"/members/"+member, nil).Status)
		assert.Equal(t, false, decision(t, w.s, w.tokens[systemAdmin], orgA, []string{"lab.patient.read"}, member)["allowed"])
		require.Equal(t, http.StatusCreated, w.sys(t, http.MethodPost, "/api/v1/orgs/"+orgA+"/members",
			map[string]any{"user_id": member, "role": "member"}).Status)
		assert.Equal(t, false, decision(t, w.s, w.tokens[systemAdmin], orgA, []string{"lab.patient.read"}, member)["allowed"],
			"joining again does not bring old grants back")
		var left int
		require.NoError(t, s.db.NewRaw("SELECT count(*) FROM grants WHERE user_id = ?", member).Scan(context.Background(), &left))
		assert.Zero(t, left)
	})
}

// Finding 7: org admins read system admins' IP and user agent in their
// organization's audit events, and exports carried other actors' too.
func TestOnlySystemAdminsSeeWhereOtherActorsCameFrom(t *testing.T) {
	s := startServer(t, dbtest.SQLiteURL(t), nil)
	w := newWorld(t, s)
	// The system admin acts in org A from a recognisable address.
	ua := map[string]string{"Authorization": "Bearer " + w.tokens[systemAdmin], "User-Agent": "sysadmin-browser/1.0"}
	res := s.request(t, http.MethodPost, "/api/v1/orgs/"+w.orgA+"/grants", "application/json",
		strings.NewReader(`{"user_id":"`+w.ids[orgViewer]+`","permission":"lab.patient.read"}`), ua)
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))

	list := func(token string) []any {
		res := s.authed(t, http.MethodGet, "/api/v1/audit-events?org_id="+w.orgA, token, nil)
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		return res.JSON(t)["items"].([]any)
	}
	sawSys := false
	for _, it := range list(w.tokens[orgAdmin]) {
		ev := it.(map[string]any)
		if ev["actor_id"] == w.ids[systemAdmin] {
			sawSys = true
			assert.Empty(t, ev["ip"], "an org admin does not see a system admin's address")
			assert.Empty(t, ev["user_agent"])
		}
	}
	require.True(t, sawSys)
	found := false
	for _, it := range list(w.tokens[systemAdmin]) {
		if ev := it.(map[string]any); ev["user_agent"] == "sysadmin-browser/1.0" {
			found = true
			assert.NotEmpty(t, ev["ip"])
		}
	}
	assert.True(t, found, "a system admin sees it")

	export := s.authed(t, http.MethodGet, "/api/v1/me/export", w.tokens[orgViewer], nil)
	require.Equal(t, http.StatusOK, export.Status)
	assert.NotContains(t, string(export.Body), "sysadmin-browser/1.0", "an export leaves out other actors' user agents")
}

// Finding 10: an imported account lock answered 429 before any password
// work, telling that the account exists; asking for a new verification
// link voided a pending email change.
func TestImportedLockShowsOnlyToTheRightPassword(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *server) {
		registerUser(t, s, "oldlock")
		until := time.Now().Add(20 * time.Minute).UTC()
		_, err := s.db.NewRaw("UPDATE users SET locked_until = ?, failed_login_count = 5 WHERE username = ?", until, "oldlock").
			Exec(context.Background())
		require.NoError(t, err)

		wrong := s.postJSON(t, loginPath, map[string]any{"login": "oldlock", "password": "not the password at all"})
		unknown := s.postJSON(t, loginPath, map[string]any{"login": "nolock", "password": "not the password at all"})
		require.Equal(t, http.StatusUnauthorized, wrong.Status, string(wrong.Body))
		assert.Equal(t, withoutRequestID(t, unknown), withoutRequestID(t, wrong), "a locked account answers a wrong password like any")
		right := s.postJSON(t, loginPath, map[string]any{"login": "oldlock", "password": testPass})
		require.Equal(t, http.StatusTooManyRequests, right.Status, "the right password meets the lock")
		assert.Equal(t, "login_locked", right.JSON(t)["code"])
	})
}

func TestResendingVerificationKeepsAPendingEmailChange(t *testing.T) {
	smtp := mailtest.Start(t)
	s := startServer(t, dbtest.SQLiteURL(t), mailEnv(smtp, nil))
	seen := map[string]bool{}
	registerUser(t, s, "twolinks")
	mailedToken(t, smtp, "twolinks@example.com", "/verify-email", seen) // the sign-up's
	tk := login(t, s, "twolinks", testPass)
	require.Equal(t, http.StatusAccepted, s.authed(t, http.MethodPost, "/api/v1/auth/email/change", tk.AccessToken,
		map[string]any{"new_email": "elsewhere@example.com", "password": testPass}).Status)
	change := mailedToken(t, smtp, "elsewhere@example.com", "/verify-email", seen)
	require.Equal(t, http.StatusAccepted, s.authed(t, http.MethodPost, "/api/v1/auth/email/verify/resend", tk.AccessToken, nil).Status)
	mailedToken(t, smtp, "twolinks@example.com", "/verify-email", seen)
	require.Equal(t, http.StatusNoContent, s.postJSON(t, "/api/v1/auth/email/verify", map[string]any{"token": change}).Status,
		"the change's link still works")
	assert.Equal(t, "elsewhere@example.com", s.authed(t, http.MethodGet, "/api/v1/me", tk.AccessToken, nil).JSON(t)["email"])
}

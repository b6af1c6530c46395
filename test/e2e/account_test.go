package e2e

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/bootstrap"
	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/test/dbtest"
	"github.com/ums-project/ums/test/mailtest"
)

const linkBase = "https://portal.example.com"

// mailEnv points a server at the test SMTP server.
func mailEnv(smtp *mailtest.Server, extra map[string]string) map[string]string {
	env := map[string]string{
		"MAIL_DRIVER": "smtp", "SMTP_HOST": smtp.Host(), "SMTP_PORT": strconv.Itoa(smtp.Port()), "SMTP_TLS": "none",
		"MAIL_POLL_INTERVAL": "50ms", "MAIL_LINK_BASE_URL": linkBase, "MAIL_FROM": "UMS <no-reply@example.com>",
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

var tokenInLink = regexp.MustCompile(`\?token=([A-Za-z0-9_\-]+)`)

// mailedToken waits for the next unseen mail to `to` linking to page,
// checks the link in both bodies and returns the token.
func mailedToken(t *testing.T, smtp *mailtest.Server, to, page string, seen map[string]bool) string {
	t.Helper()
	m := smtp.WaitFor(t, func(m mailtest.Message) bool {
		return mailtest.To(to)(m) && strings.Contains(m.Text, linkBase+page+"?token=") && !seen[string(m.Raw)]
	}, 10*time.Second)
	seen[string(m.Raw)] = true
	assert.NotEmpty(t, m.Subject)
	match := tokenInLink.FindStringSubmatch(m.Text)
	require.Len(t, match, 2, m.Text)
	assert.Contains(t, m.HTML, match[1], "the HTML part carries the same link")
	return match[1]
}

// TestAccountJourneyOverRealSMTP is the life of an account: sign-up and
// verification by mail, a forgotten password reset from the mailed link,
// and TOTP, each token single-use, old password and sessions dead.
func TestAccountJourneyOverRealSMTP(t *testing.T) {
	smtp := mailtest.Start(t)
	s := startServer(t, dbtest.PostgresURL(t), mailEnv(smtp, map[string]string{"REQUIRE_EMAIL_VERIFICATION": "true"}))
	seen := map[string]bool{}
	const email = "journey@example.com"

	registerUser(t, s, "journey")
	verifyToken := mailedToken(t, smtp, email, "/verify-email", seen)

	res := s.postJSON(t, loginPath, map[string]any{"login": "journey", "password": testPass})
	require.Equal(t, http.StatusForbidden, res.Status, "REQUIRE_EMAIL_VERIFICATION holds the login back")
	assert.Equal(t, "email_not_verified", res.JSON(t)["code"])

	require.Equal(t, http.StatusNoContent, s.postJSON(t, "/api/v1/auth/email/verify", map[string]any{"token": verifyToken}).Status)
	require.Equal(t, http.StatusUnauthorized, s.postJSON(t, "/api/v1/auth/email/verify", map[string]any{"token": verifyToken}).Status,
		"a verification token is single-use")
	before := login(t, s, "journey", testPass)
	assert.Equal(t, true, s.authed(t, http.MethodGet, "/api/v1/me", before.AccessToken, nil).JSON(t)["email_verified"])

	// Forgot password: the same answer for a known and an unknown address.
	known := s.postJSON(t, "/api/v1/auth/password/forgot", map[string]any{"email": email})
	unknown := s.postJSON(t, "/api/v1/auth/password/forgot", map[string]any{"email": "stranger@example.com"})
	require.Equal(t, http.StatusAccepted, known.Status)
	assert.Equal(t, known.Body, unknown.Body)
	resetToken := mailedToken(t, smtp, email, "/reset-password", seen)

	res = s.postJSON(t, "/api/v1/auth/password/reset", map[string]any{"token": resetToken, "new_password": "password"})
	require.Equal(t, http.StatusUnprocessableEntity, res.Status, "a weak password is refused…")
	const newPass = "a brand new passphrase 2026"
	require.Equal(t, http.StatusNoContent,
		s.postJSON(t, "/api/v1/auth/password/reset", map[string]any{"token": resetToken, "new_password": newPass}).Status,
		"…and the token still works for a good one")
	require.Equal(t, http.StatusUnauthorized,
		s.postJSON(t, "/api/v1/auth/password/reset", map[string]any{"token": resetToken, "new_password": newPass + "!"}).Status,
		"a reset token is single-use")
	smtp.WaitFor(t, func(m mailtest.Message) bool {
		return mailtest.To(email)(m) && strings.Contains(strings.ToLower(m.Subject), "password") && strings.Contains(strings.ToLower(m.Subject), "changed")
	}, 10*time.Second)

	assert.Equal(t, http.StatusUnauthorized, s.authed(t, http.MethodGet, "/api/v1/me", before.AccessToken, nil).Status,
		"sessions from before the reset are revoked")
	r, _ := refresh(t, s, before.RefreshToken)
	assert.Equal(t, http.StatusUnauthorized, r.Status)
	assert.Equal(t, http.StatusUnauthorized,
		s.postJSON(t, loginPath, map[string]any{"login": "journey", "password": testPass}).Status, "the old password is dead")
	after := login(t, s, "journey", newPass)

	// TOTP.
	setup := s.authed(t, http.MethodPost, "/api/v1/auth/mfa/totp/setup", after.AccessToken, map[string]any{"password": newPass})
	require.Equal(t, http.StatusOK, setup.Status, string(setup.Body))
	secret := setup.JSON(t)["secret"].(string)
	assert.Contains(t, setup.JSON(t)["otpauth_uri"], "otpauth://totp/")
	code, err := totp.GenerateCode(secret, time.Now())
	require.NoError(t, err)
	act := s.authed(t, http.MethodPost, "/api/v1/auth/mfa/totp/activate", after.AccessToken, map[string]any{"code": code})
	require.Equal(t, http.StatusOK, act.Status, string(act.Body))
	codes := act.JSON(t)["recovery_codes"].([]any)
	require.Len(t, codes, 10)

	res = s.postJSON(t, loginPath, map[string]any{"login": "journey", "password": newPass})
	require.Equal(t, http.StatusUnauthorized, res.Status)
	assert.Equal(t, "mfa_required", res.JSON(t)["code"])
	res = s.postJSON(t, loginPath, map[string]any{"login": "journey", "password": newPass, "mfa_code": code})
	require.Equal(t, http.StatusUnauthorized, res.Status, "a code is not accepted twice in its window")
	assert.Equal(t, "invalid_mfa_code", res.JSON(t)["code"])
	next, err := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	require.NoError(t, err)
	withCode := s.postJSON(t, loginPath, map[string]any{"login": "journey", "password": newPass, "mfa_code": next})
	require.Equal(t, http.StatusOK, withCode.Status, string(withCode.Body))

	recovery := codes[0].(string)
	require.Equal(t, http.StatusOK,
		s.postJSON(t, loginPath, map[string]any{"login": "journey", "password": newPass, "mfa_code": recovery}).Status)
	assert.Equal(t, http.StatusUnauthorized,
		s.postJSON(t, loginPath, map[string]any{"login": "journey", "password": newPass, "mfa_code": recovery}).Status,
		"a recovery code is single-use")

	var actions []string
	require.NoError(t, s.db.NewRaw("SELECT action FROM audit_events ORDER BY occurred_at").Scan(context.Background(), &actions))
	for _, a := range []string{domain.ActionEmailVerified, domain.ActionPasswordResetAsked, domain.ActionPasswordReset,
		domain.ActionMFASetup, domain.ActionMFAEnabled, domain.ActionMFAFailed, domain.ActionRecoveryCodeUsed} {
		assert.Contains(t, actions, a)
	}

	var sealed []byte
	require.NoError(t, s.db.NewRaw("SELECT mfa_secret_encrypted FROM users WHERE username = 'journey'").Scan(context.Background(), &sealed))
	assert.NotContains(t, string(sealed), secret, "the TOTP secret is encrypted at rest")
	var bodies []string
	require.NoError(t, s.db.NewRaw("SELECT text_body FROM mail_outbox").Scan(context.Background(), &bodies))
	for _, b := range bodies {
		assert.NotContains(t, b, resetToken, "no reset token sits readable in the outbox")
	}
}

func TestMailedTokensExpire(t *testing.T) {
	smtp := mailtest.Start(t)
	s := startServer(t, dbtest.SQLiteURL(t), mailEnv(smtp, nil))
	seen := map[string]bool{}
	registerUser(t, s, "expiry")
	verifyToken := mailedToken(t, smtp, "expiry@example.com", "/verify-email", seen)
	require.Equal(t, http.StatusAccepted, s.postJSON(t, "/api/v1/auth/password/forgot", map[string]any{"email": "expiry@example.com"}).Status)
	resetToken := mailedToken(t, smtp, "expiry@example.com", "/reset-password", seen)

	// Move the clock past both lifetimes by ageing the tokens themselves.
	_, err := s.db.NewRaw("UPDATE one_time_tokens SET expires_at = ?", time.Now().Add(-time.Second).UTC()).Exec(context.Background())
	require.NoError(t, err)
	assert.Equal(t, http.StatusUnauthorized, s.postJSON(t, "/api/v1/auth/email/verify", map[string]any{"token": verifyToken}).Status)
	assert.Equal(t, http.StatusUnauthorized,
		s.postJSON(t, "/api/v1/auth/password/reset", map[string]any{"token": resetToken, "new_password": "another fine passphrase"}).Status)

	// A new link replaces the old one; only the newest works.
	require.Equal(t, http.StatusAccepted, s.postJSON(t, "/api/v1/auth/password/forgot", map[string]any{"email": "expiry@example.com"}).Status)
	first := mailedToken(t, smtp, "expiry@example.com", "/reset-password", seen)
	require.Equal(t, http.StatusAccepted, s.postJSON(t, "/api/v1/auth/password/forgot", map[string]any{"email": "expiry@example.com"}).Status)
	second := mailedToken(t, smtp, "expiry@example.com", "/reset-password", seen)
	assert.Equal(t, http.StatusUnauthorized,
		s.postJSON(t, "/api/v1/auth/password/reset", map[string]any{"token": first, "new_password": "another fine passphrase"}).Status)
	assert.Equal(t, http.StatusNoContent,
		s.postJSON(t, "/api/v1/auth/password/reset", map[string]any{"token": second, "new_password": "another fine passphrase"}).Status)
}

func TestPasswordChange(t *testing.T) {
	smtp := mailtest.Start(t)
	s := startServer(t, dbtest.SQLiteURL(t), mailEnv(smtp, map[string]string{"PASSWORD_HISTORY": "3"}))
	registerUser(t, s, "changer")
	here := login(t, s, "changer", testPass)
	elsewhere := login(t, s, "changer", testPass)
	const change = "/api/v1/auth/password/change"

	res := s.authed(t, http.MethodPost, change, here.AccessToken, map[string]any{"current_password": "wrong one", "new_password": "a fresh passphrase one"})
	require.Equal(t, http.StatusUnprocessableEntity, res.Status)
	assert.Equal(t, "current_password", res.JSON(t)["errors"].([]any)[0].(map[string]any)["field"])

	require.Equal(t, http.StatusNoContent, s.authed(t, http.MethodPost, change, here.AccessToken,
		map[string]any{"current_password": testPass, "new_password": "a fresh passphrase one"}).Status)
	assert.Equal(t, http.StatusOK, s.authed(t, http.MethodGet, "/api/v1/me", here.AccessToken, nil).Status, "this session goes on")
	assert.Equal(t, http.StatusUnauthorized, s.authed(t, http.MethodGet, "/api/v1/me", elsewhere.AccessToken, nil).Status,
		"other sessions are revoked")
	smtp.WaitFor(t, func(m mailtest.Message) bool {
		return mailtest.To("changer@example.com")(m) && strings.Contains(strings.ToLower(m.Subject), "changed")
	}, 10*time.Second)

	res = s.authed(t, http.MethodPost, change, here.AccessToken,
		map[string]any{"current_password": "a fresh passphrase one", "new_password": testPass})
	require.Equal(t, http.StatusUnprocessableEntity, res.Status, "PASSWORD_HISTORY forbids going back")
	assert.Equal(t, "password_reused", res.JSON(t)["errors"].([]any)[0].(map[string]any)["code"])

	st := s.authed(t, http.MethodGet, "/api/v1/auth/password/status", here.AccessToken, nil)
	require.Equal(t, http.StatusOK, st.Status)
	assert.Equal(t, false, st.JSON(t)["change_required"])
}

func TestExpiredPasswordMustBeChangedFirst(t *testing.T) {
	s := startServer(t, dbtest.SQLiteURL(t), map[string]string{"PASSWORD_MAX_AGE_DAYS": "90"})
	registerUser(t, s, "stale")
	_, err := s.db.NewRaw("UPDATE users SET password_expires_at = ? WHERE username = 'stale'",
		time.Now().Add(-time.Hour).UTC()).Exec(context.Background())
	require.NoError(t, err)

	tk := login(t, s, "stale", testPass)
	require.True(t, tk.PasswordChangeRequired)
	st := s.authed(t, http.MethodGet, "/api/v1/auth/password/status", tk.AccessToken, nil)
	require.Equal(t, http.StatusOK, st.Status)
	assert.Equal(t, true, st.JSON(t)["expired"])
	assert.Equal(t, http.StatusOK, s.authed(t, http.MethodGet, "/api/v1/me", tk.AccessToken, nil).Status, "/me stays open")
	res := s.authed(t, http.MethodGet, "/api/v1/me/sessions", tk.AccessToken, nil)
	require.Equal(t, http.StatusForbidden, res.Status)
	assert.Equal(t, "password_change_required", res.JSON(t)["code"])
	assert.Equal(t, http.StatusForbidden,
		s.authed(t, http.MethodPatch, "/api/v1/me", tk.AccessToken, map[string]any{"first_name": "X"}).Status)

	require.Equal(t, http.StatusNoContent, s.authed(t, http.MethodPost, "/api/v1/auth/password/change", tk.AccessToken,
		map[string]any{"current_password": testPass, "new_password": "a renewed passphrase"}).Status)
	assert.Equal(t, http.StatusOK, s.authed(t, http.MethodGet, "/api/v1/me/sessions", tk.AccessToken, nil).Status,
		"once changed, the same token is free again")
	st = s.authed(t, http.MethodGet, "/api/v1/auth/password/status", tk.AccessToken, nil)
	assert.Equal(t, false, st.JSON(t)["expired"])
	assert.NotNil(t, st.JSON(t)["expires_at"], "the new password expires in turn")
}

func TestEmailChange(t *testing.T) {
	smtp := mailtest.Start(t)
	s := startServer(t, dbtest.SQLiteURL(t), mailEnv(smtp, nil))
	seen := map[string]bool{}
	registerUser(t, s, "mover")
	registerUser(t, s, "squatter")
	tk := login(t, s, "mover", testPass)
	const change = "/api/v1/auth/email/change"

	assert.Equal(t, http.StatusUnprocessableEntity,
		s.authed(t, http.MethodPost, change, tk.AccessToken, map[string]any{"new_email": "new@example.com", "password": "wrong"}).Status)
	assert.Equal(t, http.StatusConflict,
		s.authed(t, http.MethodPost, change, tk.AccessToken, map[string]any{"new_email": "squatter@example.com", "password": testPass}).Status)
	require.Equal(t, http.StatusAccepted,
		s.authed(t, http.MethodPost, change, tk.AccessToken, map[string]any{"new_email": "New@Example.com", "password": testPass}).Status)

	// The old address is told where the account is moving.
	smtp.WaitFor(t, func(m mailtest.Message) bool {
		return mailtest.To("mover@example.com")(m) && strings.Contains(m.Text, "new@example.com") && !strings.Contains(m.Text, "?token=")
	}, 10*time.Second)
	token := mailedToken(t, smtp, "new@example.com", "/verify-email", seen)
	assert.Equal(t, "mover@example.com", s.authed(t, http.MethodGet, "/api/v1/me", tk.AccessToken, nil).JSON(t)["email"],
		"nothing changes before the new address is verified")

	require.Equal(t, http.StatusNoContent, s.postJSON(t, "/api/v1/auth/email/verify", map[string]any{"token": token}).Status)
	me := s.authed(t, http.MethodGet, "/api/v1/me", tk.AccessToken, nil).JSON(t)
	assert.Equal(t, "new@example.com", me["email"])
	assert.Equal(t, true, me["email_verified"])
	login(t, s, "new@example.com", testPass)
}

func TestMFADisableNeedsPasswordAndCode(t *testing.T) {
	s := startServer(t, dbtest.SQLiteURL(t), nil)
	registerUser(t, s, "twofa")
	tk := login(t, s, "twofa", testPass)
	assert.Equal(t, http.StatusConflict,
		s.authed(t, http.MethodPost, "/api/v1/auth/mfa/totp/activate", tk.AccessToken, map[string]any{"code": "123456"}).Status,
		"activation needs a setup first")
	assert.Equal(t, http.StatusUnprocessableEntity,
		s.authed(t, http.MethodPost, "/api/v1/auth/mfa/totp/setup", tk.AccessToken, map[string]any{"password": "wrong"}).Status,
		"setup needs the password")
	secret := s.authed(t, http.MethodPost, "/api/v1/auth/mfa/totp/setup", tk.AccessToken, map[string]any{"password": testPass}).JSON(t)["secret"].(string)
	assert.Equal(t, http.StatusUnauthorized,
		s.authed(t, http.MethodPost, "/api/v1/auth/mfa/totp/activate", tk.AccessToken, map[string]any{"code": "000000"}).Status)
	code, _ := totp.GenerateCode(secret, time.Now())
	require.Equal(t, http.StatusOK,
		s.authed(t, http.MethodPost, "/api/v1/auth/mfa/totp/activate", tk.AccessToken, map[string]any{"code": code}).Status)
	assert.Equal(t, http.StatusConflict, s.authed(t, http.MethodPost, "/api/v1/auth/mfa/totp/setup", tk.AccessToken,
		map[string]any{"password": testPass}).Status)

	next, _ := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	assert.Equal(t, http.StatusUnprocessableEntity, s.authed(t, http.MethodPost, "/api/v1/auth/mfa/totp/disable", tk.AccessToken,
		map[string]any{"password": "wrong", "code": next}).Status)
	require.Equal(t, http.StatusNoContent, s.authed(t, http.MethodPost, "/api/v1/auth/mfa/totp/disable", tk.AccessToken,
		map[string]any{"password": testPass, "code": next}).Status)
	login(t, s, "twofa", testPass)
}

func TestAdminRequiresPasswordChange(t *testing.T) {
	s := startServer(t, dbtest.SQLiteURL(t), nil)
	_, err := bootstrap.CreateAdmin(context.Background(), s.cfg, zap.NewNop(), application.RegisterInput{
		Email: "root@example.com", Username: "root", Password: testPass})
	require.NoError(t, err)
	admin := login(t, s, "root", testPass)
	userID := registerUser(t, s, "suspect")
	user := login(t, s, "suspect", testPass)
	const path = "/api/v1/users/%s/require-password-change"

	res := s.authed(t, http.MethodPost, fmt.Sprintf(path, userID), user.AccessToken, nil)
	require.Equal(t, http.StatusForbidden, res.Status, "only a system admin")
	assert.Equal(t, "system_admin_required", res.JSON(t)["code"])
	assert.Equal(t, http.StatusNotFound,
		s.authed(t, http.MethodPost, fmt.Sprintf(path, "0190b6a4-0000-7000-8000-000000000000"), admin.AccessToken, nil).Status)

	require.Equal(t, http.StatusNoContent, s.authed(t, http.MethodPost, fmt.Sprintf(path, userID), admin.AccessToken, nil).Status)
	assert.Equal(t, http.StatusUnauthorized, s.authed(t, http.MethodGet, "/api/v1/me", user.AccessToken, nil).Status,
		"the user's sessions end at once")
	again := login(t, s, "suspect", testPass)
	require.True(t, again.PasswordChangeRequired)
	assert.Equal(t, http.StatusForbidden, s.authed(t, http.MethodGet, "/api/v1/me/sessions", again.AccessToken, nil).Status)
	require.Equal(t, http.StatusNoContent, s.authed(t, http.MethodPost, "/api/v1/auth/password/change", again.AccessToken,
		map[string]any{"current_password": testPass, "new_password": "a changed passphrase"}).Status)
	assert.Equal(t, http.StatusOK, s.authed(t, http.MethodGet, "/api/v1/me/sessions", again.AccessToken, nil).Status)
	assert.Contains(t, actionsOf(recentEvents(t, s, 20)), domain.ActionPasswordChangeRequired)
}

func actionsOf(events []domain.AuditEvent) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.Action
	}
	return out
}

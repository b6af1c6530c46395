package e2e

import (
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
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

// selfReauth answers the console's "confirm it is you" when a sensitive
// page asked for it (a stale sign-in): the password, then secondFactor
// when the account has one. It returns the page the browser ends on.
func selfReauth(t *testing.T, b *browser, p page, login, password string, secondFactor func() string) page {
	t.Helper()
	if p.URL.Path != "/ui/login" {
		return p
	}
	require.Equal(t, "1", p.URL.Query().Get("reauth"), "a signed-in browser is asked to confirm: %s", p.URL)
	require.Contains(t, p.Body, "Confirm it is you")
	p = b.submit(t, p, "/ui/login", map[string]string{"login": login, "password": password})
	if strings.Contains(p.Body, `name="mfa_code"`) {
		require.NotNil(t, secondFactor, "the account asks a second factor")
		p = b.submit(t, p, "/ui/login/mfa", map[string]string{"mfa_code": secondFactor()})
	}
	return p
}

// selfRows are the table rows of a page.
func selfRows(body string) []string {
	return regexp.MustCompile(`(?s)<tr[ >].*?</tr>`).FindAllString(body, -1)
}

// selfPost posts a form of the page as the browser does and returns the
// raw response (for its headers).
// consoleExport downloads the signed-in person's data file from the
// console's export page.
func consoleExport(t *testing.T, s *server, b *browser) (*http.Response, []byte) {
	t.Helper()
	exp := b.get(t, s.base+"/ui/account/export")
	require.Equal(t, http.StatusOK, exp.Status)
	dl := selfPost(t, b, exp, "/ui/account/export", nil)
	body, err := io.ReadAll(dl.Body)
	_ = dl.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, dl.StatusCode, string(body))
	return dl, body
}

func selfPost(t *testing.T, b *browser, p page, action string, fields map[string]string) *http.Response {
	t.Helper()
	form := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(p.Body, -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	for k, v := range fields {
		form.Set(k, v)
	}
	res, err := b.c.PostForm(p.URL.ResolveReference(&url.URL{Path: action}).String(), form)
	require.NoError(t, err)
	return res
}

// TestConsoleAccountJourney is an account's life in the console, on each
// store: sign-up and verification by the mailed link, sign-in, profile,
// password, TOTP with its recovery codes, sessions, export and deletion
// with re-authentication.
func TestConsoleAccountJourney(t *testing.T) {
	for name, dbURL := range dialects {
		t.Run(name, func(t *testing.T) {
			smtp := mailtest.Start(t)
			s := startIssuer(t, dbURL(t), selfMailEnv(smtp, map[string]string{"REQUIRE_EMAIL_VERIFICATION": "true",
				"UI_REAUTH_AFTER": "2s"}))
			seen := map[string]bool{}
			const email = "consoleuser@example.com"
			b := newBrowser()

			// Sign up, verify from the mailed link, sign in.
			form := b.get(t, s.base+"/ui/register")
			p := b.submit(t, form, "/ui/register", map[string]string{"email": email, "username": "consoleuser",
				"password": testPass, "first_name": "Ada", "last_name": "Lovelace"})
			require.Equal(t, http.StatusOK, p.Status, p.Body)
			link := selfMailedLink(t, s, smtp, email, "/ui/verify", seen)
			p = b.submit(t, b.get(t, link), "/ui/verify", nil)
			require.Contains(t, p.Body, "Email verified")
			p = selfSignIn(t, s, b, "consoleuser", testPass)
			require.Equal(t, "/ui/", p.URL.Path, p.Body)

			overview := b.get(t, s.base+"/ui/account")
			require.Equal(t, http.StatusOK, overview.Status, overview.Body)
			assert.Contains(t, overview.Body, email)
			assert.Contains(t, overview.Body, `aria-current="page">Overview`)
			for _, tab := range []string{"profile", "password", "email", "sessions", "mfa", "consents", "export", "delete"} {
				assert.Contains(t, overview.Body, `href="/ui/account/`+tab+`"`)
			}

			// Profile.
			prof := b.get(t, s.base+"/ui/account/profile")
			require.Equal(t, http.StatusOK, prof.Status)
			selfAssertLabelled(t, prof.Body)
			assert.Contains(t, prof.Body, `value="Ada"`)
			long := b.submit(t, prof, "/ui/account/profile", map[string]string{"first_name": strings.Repeat("x", 101), "last_name": "Byron"})
			assert.Equal(t, http.StatusUnprocessableEntity, long.Status)
			assert.Equal(t, "First name must be at most 100 characters.", selfFieldError(t, long.Body, "first_name"))
			selfNoFieldError(t, long.Body, "last_name")
			saved := b.submit(t, prof, "/ui/account/profile", map[string]string{"first_name": "Augusta Ada", "last_name": "King"})
			require.Equal(t, http.StatusOK, saved.Status, saved.Body)
			assert.Equal(t, "/ui/account/profile", saved.URL.Path)
			assert.Contains(t, saved.Body, "Your profile is saved.")
			assert.Contains(t, saved.Body, `value="Augusta Ada"`)
			assert.Contains(t, saved.Body, `value="King"`)

			// Password: the current one is checked, the old one dies.
			pw := b.get(t, s.base+"/ui/account/password")
			selfAssertLabelled(t, pw.Body)
			const newPass = "a console chosen passphrase"
			wrong := b.submit(t, pw, "/ui/account/password", map[string]string{"current_password": "not it",
				"new_password": newPass, "confirm_password": newPass})
			assert.Equal(t, http.StatusUnprocessableEntity, wrong.Status)
			assert.Equal(t, "That is not your current password.", selfFieldError(t, wrong.Body, "current_password"))
			differ := b.submit(t, pw, "/ui/account/password", map[string]string{"current_password": testPass,
				"new_password": newPass, "confirm_password": newPass + "?"})
			assert.Contains(t, selfFieldError(t, differ.Body, "confirm_password"), "differ")
			changed := b.submit(t, pw, "/ui/account/password", map[string]string{"current_password": testPass,
				"new_password": newPass, "confirm_password": newPass})
			require.Equal(t, http.StatusOK, changed.Status, changed.Body)
			assert.Contains(t, changed.Body, "Your password is changed.")
			assert.Equal(t, http.StatusUnauthorized, s.postJSON(t, loginPath, map[string]any{"login": "consoleuser", "password": testPass}).Status,
				"the old password stops working")
			elsewhere := login(t, s, "consoleuser", newPass)

			// Two-step verification.
			var recovery []string
			nextRecovery := func() string {
				require.NotEmpty(t, recovery)
				c := recovery[0]
				recovery = recovery[1:]
				return c
			}
			mfa := selfReauth(t, b, b.get(t, s.base+"/ui/account/mfa"), "consoleuser", newPass, nil)
			require.Equal(t, "/ui/account/mfa", mfa.URL.Path, mfa.Body)
			assert.Contains(t, mfa.Body, "Two-step verification is off")
			badPass := b.submit(t, mfa, "/ui/account/mfa/setup", map[string]string{"password": "not it"})
			assert.Equal(t, "That is not your current password.", selfFieldError(t, badPass.Body, "password"))
			setup := b.submit(t, mfa, "/ui/account/mfa/setup", map[string]string{"password": newPass})
			require.Equal(t, http.StatusOK, setup.Status, setup.Body)
			assert.Contains(t, setup.Body, `src="data:image/png;base64,`, "a QR code inline")
			secret := regexp.MustCompile(`<code id="totp-secret">([A-Z2-7]+)</code>`).FindStringSubmatch(setup.Body)
			require.Len(t, secret, 2, setup.Body)
			selfAssertLabelled(t, setup.Body)
			badCode := b.submit(t, setup, "/ui/account/mfa/activate", map[string]string{"code": "000000"})
			assert.Equal(t, http.StatusUnprocessableEntity, badCode.Status)
			assert.Equal(t, "That code is wrong or was already used.", selfFieldError(t, badCode.Body, "code"))
			assert.Contains(t, badCode.Body, `src="data:image/png;base64,`, "the code to scan stays on the page")
			assert.Contains(t, badCode.Body, secret[1])
			code, err := totp.GenerateCode(secret[1], time.Now())
			require.NoError(t, err)
			on := b.submit(t, badCode, "/ui/account/mfa/activate", map[string]string{"code": code})
			require.Equal(t, http.StatusOK, on.Status, on.Body)
			for _, m := range regexp.MustCompile(`<li><code>([^<]+)</code></li>`).FindAllStringSubmatch(on.Body, -1) {
				recovery = append(recovery, m[1])
			}
			require.Len(t, recovery, 10, "the recovery codes are shown")
			later := b.get(t, s.base+"/ui/account/mfa")
			later = selfReauth(t, b, later, "consoleuser", newPass, nextRecovery)
			assert.Contains(t, later.Body, "Two-step verification is on")
			assert.NotContains(t, later.Body, recovery[len(recovery)-1], "recovery codes are shown once")
			res := s.postJSON(t, loginPath, map[string]any{"login": "consoleuser", "password": newPass})
			assert.Equal(t, "mfa_required", res.JSON(t)["code"], "the second factor is on for the API too")

			// Sessions: this browser marked; revoking another ends it.
			sess := b.get(t, s.base+"/ui/account/sessions")
			require.Equal(t, http.StatusOK, sess.Status, sess.Body)
			var mine, other string
			for _, row := range selfRows(sess.Body) {
				switch {
				case strings.Contains(row, `value="`+elsewhere.SessionID+`"`):
					other = row
				case strings.Contains(row, `name="session"`):
					mine = row
				}
			}
			require.NotEmpty(t, other, "the API's session is listed")
			require.NotEmpty(t, mine)
			assert.Contains(t, mine, "this browser")
			assert.NotContains(t, other, "this browser")
			require.Equal(t, http.StatusOK, s.authed(t, http.MethodGet, "/api/v1/me", elsewhere.AccessToken, nil).Status)
			revoked := b.submit(t, sess, "/ui/account/sessions/revoke", map[string]string{"session": elsewhere.SessionID})
			require.Equal(t, http.StatusOK, revoked.Status, revoked.Body)
			assert.Contains(t, revoked.Body, "The session is signed out.")
			assert.NotContains(t, revoked.Body, elsewhere.SessionID)
			assert.Equal(t, http.StatusUnauthorized, s.authed(t, http.MethodGet, "/api/v1/me", elsewhere.AccessToken, nil).Status,
				"the revoked session's token is dead")

			// Export.
			dl, body := consoleExport(t, s, b)
			assert.Contains(t, dl.Header.Get("Content-Disposition"), "attachment")
			assert.True(t, strings.HasPrefix(dl.Header.Get("Content-Type"), "application/json"))
			var export struct {
				User struct {
					Email      string `json:"email"`
					FirstName  string `json:"first_name"`
					MFAEnabled bool   `json:"mfa_enabled"`
				} `json:"user"`
				Sessions    []map[string]any `json:"sessions"`
				AuditEvents []map[string]any `json:"audit_events"`
			}
			require.NoError(t, json.Unmarshal(body, &export))
			assert.Equal(t, email, export.User.Email)
			assert.Equal(t, "Augusta Ada", export.User.FirstName)
			assert.True(t, export.User.MFAEnabled)
			assert.NotEmpty(t, export.AuditEvents)
			assert.NotContains(t, string(body), secret[1], "no secret in the export")

			// Deletion asks to sign in again once the sign-in is older than
			// UI_REAUTH_AFTER; the second factor comes with it.
			time.Sleep(2100 * time.Millisecond)
			del := b.get(t, s.base+"/ui/account/delete")
			require.Equal(t, "/ui/login", del.URL.Path, "a stale sign-in must confirm first")
			assert.Equal(t, "/ui/account/delete", del.URL.Query().Get("next"))
			del = selfReauth(t, b, del, "consoleuser", newPass, nextRecovery)
			require.Equal(t, "/ui/account/delete", del.URL.Path, del.Body)
			selfAssertLabelled(t, del.Body)
			unticked := b.submit(t, del, "/ui/account/delete", map[string]string{"password": newPass})
			assert.Equal(t, http.StatusUnprocessableEntity, unticked.Status)
			assert.Contains(t, selfFieldError(t, unticked.Body, "confirm"), "Tick the box")
			wrongPass := b.submit(t, del, "/ui/account/delete", map[string]string{"password": "not it", "confirm": "yes"})
			assert.Equal(t, "That is not your current password.", selfFieldError(t, wrongPass.Body, "password"))
			gone := b.submit(t, del, "/ui/account/delete", map[string]string{"password": newPass, "confirm": "yes"})
			require.Equal(t, http.StatusOK, gone.Status, gone.Body)
			assert.Contains(t, gone.Body, "Account deleted")
			assert.NotContains(t, gone.Body, `class="who"`, "no navigation for a user who is gone")
			after := b.get(t, s.base+"/ui/account")
			assert.Equal(t, "/ui/login", after.URL.Path, "the browser is signed out")
			assert.Equal(t, http.StatusUnauthorized, s.postJSON(t, loginPath, map[string]any{"login": "consoleuser", "password": newPass}).Status)

			var actions []string
			require.NoError(t, s.db.NewRaw("SELECT action FROM audit_events ORDER BY occurred_at").Scan(context.Background(), &actions))
			for _, a := range []string{domain.ActionUserRegistered, domain.ActionEmailVerified, domain.ActionProfileUpdated,
				domain.ActionPasswordChanged, domain.ActionMFASetup, domain.ActionMFAEnabled, domain.ActionSessionRevoked,
				domain.ActionUserExported, domain.ActionUserErased} {
				assert.Contains(t, actions, a, "audited as the API's")
			}
		})
	}
}

// selfAccountPages are the signed-in user's pages, all behind a session.
var selfAccountPages = []string{"/ui/account", "/ui/account/profile", "/ui/account/password", "/ui/account/email",
	"/ui/account/sessions", "/ui/account/mfa", "/ui/account/export", "/ui/account/delete", "/ui/account/consents"}

func TestConsoleAccountPagesNeedASessionAndCSRF(t *testing.T) {
	s := startIssuer(t, dbtest.SQLiteURL(t), nil)
	registerUser(t, s, "guarded")
	b := newBrowser()
	b.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for _, path := range selfAccountPages {
		res, err := b.c.Get(s.base + path)
		require.NoError(t, err)
		_ = res.Body.Close()
		assert.Equal(t, http.StatusSeeOther, res.StatusCode, path)
		assert.Equal(t, "/ui/login?next="+url.QueryEscape(path), res.Header.Get("Location"), path)
	}
	// A form of the browser's own (a CSRF token) without a session is sent
	// to sign in too.
	login := b.get(t, s.base+"/ui/login")
	res := selfPost(t, b, login, "/ui/account/profile", map[string]string{"first_name": "Mallory"})
	_ = res.Body.Close()
	assert.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.True(t, strings.HasPrefix(res.Header.Get("Location"), "/ui/login?next="))

	// Signed in, a post without the token, or with another, is refused.
	b.c.CheckRedirect = nil
	home := selfSignIn(t, s, b, "guarded", testPass)
	require.Equal(t, "/ui/", home.URL.Path)
	for _, csrf := range []string{"", "forged"} {
		form := url.Values{"first_name": {"Mallory"}, "last_name": {"X"}}
		if csrf != "" {
			form.Set("csrf", csrf)
		}
		res, err := b.c.PostForm(s.base+"/ui/account/profile", form)
		require.NoError(t, err)
		_ = res.Body.Close()
		assert.Contains(t, []int{http.StatusBadRequest, http.StatusForbidden}, res.StatusCode)
	}
	prof := b.get(t, s.base+"/ui/account/profile")
	assert.NotContains(t, prof.Body, "Mallory", "nothing changed")
	for _, path := range []string{"/ui/account/sessions/revoke-all", "/ui/account/delete", "/ui/account/mfa/setup"} {
		res, err := b.c.PostForm(s.base+path, url.Values{"password": {testPass}, "confirm": {"yes"}})
		require.NoError(t, err)
		_ = res.Body.Close()
		assert.Contains(t, []int{http.StatusBadRequest, http.StatusForbidden}, res.StatusCode, path)
	}
	assert.Equal(t, "/ui/account", b.get(t, s.base+"/ui/account").URL.Path, "still signed in, still there")
}

func TestConsolePendingPasswordChangeComesFirst(t *testing.T) {
	forEachDialectIssuer(t, func(t *testing.T, s *server) {
		registerUser(t, s, "overdue")
		b := newBrowser()
		require.Equal(t, "/ui/", selfSignIn(t, s, b, "overdue", testPass).URL.Path)
		_, err := s.db.NewRaw("UPDATE users SET password_expires_at = ? WHERE username = 'overdue'",
			time.Now().Add(-time.Hour).UTC()).Exec(context.Background())
		require.NoError(t, err)

		for _, path := range selfAccountPages {
			p := b.get(t, s.base+path)
			assert.Equal(t, "/ui/account/password", p.URL.Path, "%s waits for the password change", path)
		}
		pw := b.get(t, s.base+"/ui/account/password")
		require.Equal(t, http.StatusOK, pw.Status)
		assert.Contains(t, pw.Body, "must be changed before you can go on")
		const next = "a late but fresh passphrase"
		done := b.submit(t, pw, "/ui/account/password", map[string]string{"current_password": testPass,
			"new_password": next, "confirm_password": next})
		require.Equal(t, http.StatusOK, done.Status, done.Body)
		assert.NotContains(t, done.Body, "must be changed before you can go on")
		sessions := b.get(t, s.base+"/ui/account/sessions")
		assert.Equal(t, "/ui/account/sessions", sessions.URL.Path, "free again once changed")
		assert.Contains(t, sessions.Body, "this browser")
	})
}

func TestConsoleSessionsRevokeOthersAndAll(t *testing.T) {
	s := startIssuer(t, dbtest.SQLiteURL(t), nil)
	registerUser(t, s, "manydevices")
	b := newBrowser()
	require.Equal(t, "/ui/", selfSignIn(t, s, b, "manydevices", testPass).URL.Path)
	phone, laptop := login(t, s, "manydevices", testPass), login(t, s, "manydevices", testPass)
	otherBrowser := newBrowser()
	require.Equal(t, "/ui/", selfSignIn(t, s, otherBrowser, "manydevices", testPass).URL.Path)

	p := b.get(t, s.base+"/ui/account/sessions")
	assert.Len(t, regexp.MustCompile(`name="session"`).FindAllString(p.Body, -1), 4)
	p = b.submit(t, p, "/ui/account/sessions/revoke-others", nil)
	require.Equal(t, http.StatusOK, p.Status, p.Body)
	assert.Contains(t, p.Body, "Every other session is signed out.")
	assert.Len(t, regexp.MustCompile(`name="session"`).FindAllString(p.Body, -1), 1)
	for _, tk := range []tokens{phone, laptop} {
		assert.Equal(t, http.StatusUnauthorized, s.authed(t, http.MethodGet, "/api/v1/me", tk.AccessToken, nil).Status)
	}
	assert.Equal(t, "/ui/login", otherBrowser.get(t, s.base+"/ui/account").URL.Path, "the other browser is signed out")
	assert.Equal(t, "/ui/account/sessions", b.get(t, s.base+"/ui/account/sessions").URL.Path, "this one is not")

	// Revoking this browser's own session signs it out.
	p = b.get(t, s.base+"/ui/account/sessions")
	own := regexp.MustCompile(`name="session" value="([^"]+)"`).FindStringSubmatch(p.Body)
	require.Len(t, own, 2)
	out := b.submit(t, p, "/ui/account/sessions/revoke", map[string]string{"session": own[1]})
	assert.Equal(t, "/ui/logged-out", out.URL.Path)
	assert.Equal(t, "/ui/login", b.get(t, s.base+"/ui/account").URL.Path)

	// Everywhere, here too.
	require.Equal(t, "/ui/", selfSignIn(t, s, b, "manydevices", testPass).URL.Path)
	api := login(t, s, "manydevices", testPass)
	p = b.get(t, s.base+"/ui/account/sessions")
	out = b.submit(t, p, "/ui/account/sessions/revoke-all", nil)
	assert.Equal(t, "/ui/logged-out", out.URL.Path)
	assert.Equal(t, http.StatusUnauthorized, s.authed(t, http.MethodGet, "/api/v1/me", api.AccessToken, nil).Status)
	assert.Equal(t, "/ui/login", b.get(t, s.base+"/ui/account").URL.Path)
}

func TestConsoleEmailChangeAndResend(t *testing.T) {
	smtp := mailtest.Start(t)
	s := startIssuer(t, dbtest.SQLiteURL(t), selfMailEnv(smtp, nil))
	seen := map[string]bool{}
	registerUser(t, s, "relocating")
	registerUser(t, s, "occupant")
	selfMailedLink(t, s, smtp, "relocating@example.com", "/ui/verify", seen)
	b := newBrowser()
	require.Equal(t, "/ui/", selfSignIn(t, s, b, "relocating", testPass).URL.Path)

	p := b.get(t, s.base+"/ui/account/email")
	require.Equal(t, http.StatusOK, p.Status, p.Body)
	selfAssertLabelled(t, p.Body)
	assert.Contains(t, p.Body, "not verified")
	resent := b.submit(t, p, "/ui/account/email/resend", nil)
	require.Equal(t, http.StatusOK, resent.Status, resent.Body)
	assert.Contains(t, resent.Body, "a new link is on its way")
	selfMailedLink(t, s, smtp, "relocating@example.com", "/ui/verify", seen)

	wrong := b.submit(t, p, "/ui/account/email", map[string]string{"new_email": "moved@example.com", "password": "not it"})
	assert.Equal(t, http.StatusUnprocessableEntity, wrong.Status)
	assert.Equal(t, "That is not your current password.", selfFieldError(t, wrong.Body, "password"))
	assert.Contains(t, wrong.Body, `value="moved@example.com"`)
	taken := b.submit(t, p, "/ui/account/email", map[string]string{"new_email": "occupant@example.com", "password": testPass})
	assert.Equal(t, http.StatusConflict, taken.Status)
	assert.Equal(t, "Another account uses this address.", selfFieldError(t, taken.Body, "new_email"))
	invalid := b.submit(t, p, "/ui/account/email", map[string]string{"new_email": "nowhere", "password": testPass})
	assert.Equal(t, "New email must be a valid email address.", selfFieldError(t, invalid.Body, "new_email"))

	sent := b.submit(t, p, "/ui/account/email", map[string]string{"new_email": "moved@example.com", "password": testPass})
	require.Equal(t, http.StatusOK, sent.Status, sent.Body)
	assert.Contains(t, sent.Body, "We mailed a link to the new address.")
	link := selfMailedLink(t, s, smtp, "moved@example.com", "/ui/verify", seen)
	verified := b.submit(t, b.get(t, link), "/ui/verify", nil)
	require.Equal(t, http.StatusOK, verified.Status, verified.Body)
	assert.Contains(t, verified.Body, "moved@example.com is verified")
	assert.Contains(t, verified.Body, `href="/ui/account"`, "a signed-in browser goes back to its account")
	p = b.get(t, s.base+"/ui/account/email")
	assert.Contains(t, p.Body, "moved@example.com <span class=\"tag\">verified</span>")
}

func TestConsoleConsentsCanBeWithdrawn(t *testing.T) {
	s := startIssuer(t, dbtest.SQLiteURL(t), nil)
	registerUser(t, s, "consenting")
	party, _, _ := newRelyingParty(t, s, false, false, "openid", "email")
	b := newBrowser()

	p := b.get(t, party.srv.URL+"/login")
	p = b.submit(t, p, "/ui/login", map[string]string{"login": "consenting", "password": testPass})
	require.Contains(t, p.Body, `name="decision"`, "a third-party client asks consent")
	p = b.submit(t, p, "/ui/consent", map[string]string{"decision": "allow"})
	require.Equal(t, "signed in", p.Body)

	list := b.get(t, s.base+"/ui/account/consents")
	require.Equal(t, http.StatusOK, list.Status, list.Body)
	assert.Contains(t, list.Body, "Portal")
	assert.Contains(t, list.Body, "See your email address")
	id := regexp.MustCompile(`name="client_id" value="([^"]+)"`).FindStringSubmatch(list.Body)
	require.Len(t, id, 2)
	done := b.submit(t, list, "/ui/account/consents/withdraw", map[string]string{"client_id": id[1]})
	require.Equal(t, http.StatusOK, done.Status, done.Body)
	assert.Contains(t, done.Body, "Your consent is withdrawn")
	assert.NotContains(t, done.Body, `name="client_id"`)
	again := b.submit(t, list, "/ui/account/consents/withdraw", map[string]string{"client_id": id[1]})
	assert.Equal(t, http.StatusNotFound, again.Status)

	p = b.get(t, party.srv.URL+"/login")
	assert.Contains(t, p.Body, `name="decision"`, "the next sign-in asks again")
}

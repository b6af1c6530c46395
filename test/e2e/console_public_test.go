package e2e

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/test/mailtest"
)

// selfMailEnv is mailEnv without MAIL_LINK_BASE_URL: the mailed links
// point at the console.
func selfMailEnv(smtp *mailtest.Server, extra map[string]string) map[string]string {
	env := mailEnv(smtp, extra)
	delete(env, "MAIL_LINK_BASE_URL")
	return env
}

// selfMailedLink waits for the next unseen mail to `to` carrying a
// link to the console page (PUBLIC_URL + page) and returns the link.
func selfMailedLink(t *testing.T, s *server, smtp *mailtest.Server, to, page string, seen map[string]bool) string {
	t.Helper()
	link := regexp.MustCompile(regexp.QuoteMeta(s.base+page+"?token=") + `[A-Za-z0-9_\-]+`)
	m := smtp.WaitFor(t, func(m mailtest.Message) bool {
		return mailtest.To(to)(m) && link.MatchString(m.Text) && !seen[string(m.Raw)]
	}, 10*time.Second)
	seen[string(m.Raw)] = true
	found := link.FindString(m.Text)
	assert.Contains(t, html.UnescapeString(m.HTML), found, "the HTML part carries the same link")
	return found
}

// selfFieldError is the message shown for an input: the input is marked
// invalid and names, in aria-describedby, the element holding the text.
func selfFieldError(t *testing.T, body, name string) string {
	t.Helper()
	tag := regexp.MustCompile(`<input[^>]*\bname="` + regexp.QuoteMeta(name) + `"[^>]*>`).FindString(body)
	require.NotEmpty(t, tag, "no input %q", name)
	assert.Contains(t, tag, `aria-invalid="true"`, tag)
	ref := regexp.MustCompile(`aria-describedby="([^"]+)"`).FindStringSubmatch(tag)
	require.Len(t, ref, 2, "input %q names no description: %s", name, tag)
	el := regexp.MustCompile(`<([a-z]+)[^>]*\bid="` + regexp.QuoteMeta(ref[1]) + `"[^>]*>([^<]*)</([a-z]+)>`).FindStringSubmatch(body)
	require.Len(t, el, 4, "no element %q for input %q", ref[1], name)
	return html.UnescapeString(el[2])
}

// selfNoFieldError checks an input is not marked invalid.
func selfNoFieldError(t *testing.T, body, name string) {
	t.Helper()
	tag := regexp.MustCompile(`<input[^>]*\bname="` + regexp.QuoteMeta(name) + `"[^>]*>`).FindString(body)
	require.NotEmpty(t, tag, "no input %q", name)
	assert.NotContains(t, tag, "aria-invalid", tag)
}

var (
	selfVisibleInput = regexp.MustCompile(`<input [^>]*>`)
	selfInputID      = regexp.MustCompile(`\bid="([^"]+)"`)
)

// selfAssertLabelled checks every input a person fills in has a label.
func selfAssertLabelled(t *testing.T, body string) {
	t.Helper()
	for _, tag := range selfVisibleInput.FindAllString(body, -1) {
		if strings.Contains(tag, `type="hidden"`) {
			continue
		}
		id := selfInputID.FindStringSubmatch(tag)
		require.Len(t, id, 2, "an input without an id cannot be labelled: %s", tag)
		assert.Contains(t, body, `<label for="`+id[1]+`">`, "input %s has no label", id[1])
	}
}

// selfSignIn signs a browser in at /ui/login and returns the page it
// lands on.
func selfSignIn(t *testing.T, s *server, b *browser, login, password string) page {
	t.Helper()
	p := b.get(t, s.base+"/ui/login")
	require.Equal(t, http.StatusOK, p.Status, p.Body)
	return b.submit(t, p, "/ui/login", map[string]string{"login": login, "password": password})
}

func TestConsoleRegisterAndVerifyByTheMailedLink(t *testing.T) {
	for name, dbURL := range dialects {
		t.Run(name, func(t *testing.T) {
			smtp := mailtest.Start(t)
			s := startIssuer(t, dbURL(t), selfMailEnv(smtp, map[string]string{"REQUIRE_EMAIL_VERIFICATION": "true"}))
			seen := map[string]bool{}
			b := newBrowser()

			login := b.get(t, s.base+"/ui/login")
			assert.Contains(t, login.Body, `href="/ui/forgot"`, "the sign-in page links to the forgotten password")
			assert.Contains(t, login.Body, `href="/ui/register"`)

			form := b.get(t, s.base+"/ui/register")
			require.Equal(t, http.StatusOK, form.Status)
			selfAssertLabelled(t, form.Body)
			bad := b.submit(t, form, "/ui/register", map[string]string{"email": "not-an-address", "username": "pagesignup",
				"password": "short", "first_name": "Page", "last_name": "Signup"})
			require.Equal(t, http.StatusUnprocessableEntity, bad.Status, bad.Body)
			assert.Equal(t, "Email must be a valid email address.", selfFieldError(t, bad.Body, "email"))
			assert.Contains(t, selfFieldError(t, bad.Body, "password"), "at least 12 characters")
			selfNoFieldError(t, bad.Body, "username")
			assert.Contains(t, bad.Body, `value="pagesignup"`, "what was typed stays")
			assert.NotContains(t, bad.Body, `value="short"`, "never the password")
			selfAssertLabelled(t, bad.Body)

			done := b.submit(t, bad, "/ui/register", map[string]string{"email": "pagesignup@example.com", "username": "pagesignup",
				"password": testPass, "first_name": "Page", "last_name": "Signup"})
			require.Equal(t, http.StatusOK, done.Status, done.Body)
			assert.Contains(t, done.Body, "Check your mail")
			again := b.submit(t, form, "/ui/register", map[string]string{"email": "pagesignup@example.com", "username": "another",
				"password": testPass})
			assert.Equal(t, http.StatusConflict, again.Status)
			assert.Contains(t, selfFieldError(t, again.Body, "email"), "already exists")

			link := selfMailedLink(t, s, smtp, "pagesignup@example.com", "/ui/verify", seen)
			assert.True(t, strings.HasPrefix(link, s.base+"/ui/verify?token="), link)

			early := selfSignIn(t, s, b, "pagesignup", testPass)
			assert.Equal(t, http.StatusForbidden, early.Status)
			assert.Contains(t, early.Body, "Verify your email address first")

			// Opening the link (as a mail scanner would) spends nothing.
			open := b.get(t, link)
			require.Equal(t, http.StatusOK, open.Status, open.Body)
			open = b.get(t, link)
			require.Equal(t, http.StatusOK, open.Status)
			require.Contains(t, open.Body, `action="/ui/verify"`)
			verified := b.submit(t, open, "/ui/verify", nil)
			require.Equal(t, http.StatusOK, verified.Status, verified.Body)
			assert.Contains(t, verified.Body, "Email verified")
			assert.Contains(t, verified.Body, "pagesignup@example.com is verified")
			spent := b.submit(t, open, "/ui/verify", nil)
			assert.Equal(t, http.StatusBadRequest, spent.Status, "a verification link works once")
			assert.Contains(t, spent.Body, "This link is not valid")

			home := selfSignIn(t, s, b, "pagesignup", testPass)
			require.Equal(t, http.StatusOK, home.Status, home.Body)
			assert.Equal(t, "/ui/", home.URL.Path)
			assert.Contains(t, home.Body, "pagesignup@example.com")
		})
	}
}

func TestConsoleForgotAndResetThroughTheMailedLink(t *testing.T) {
	for name, dbURL := range dialects {
		t.Run(name, func(t *testing.T) {
			smtp := mailtest.Start(t)
			s := startIssuer(t, dbURL(t), selfMailEnv(smtp, nil))
			seen := map[string]bool{}
			registerUser(t, s, "forgetful")
			selfMailedLink(t, s, smtp, "forgetful@example.com", "/ui/verify", seen)
			b := newBrowser()

			form := b.get(t, s.base+"/ui/forgot")
			require.Equal(t, http.StatusOK, form.Status)
			selfAssertLabelled(t, form.Body)
			invalid := b.submit(t, form, "/ui/forgot", map[string]string{"email": "nonsense"})
			assert.Equal(t, http.StatusUnprocessableEntity, invalid.Status)
			assert.Equal(t, "Email must be a valid email address.", selfFieldError(t, invalid.Body, "email"))
			known := b.submit(t, form, "/ui/forgot", map[string]string{"email": "forgetful@example.com"})
			unknown := b.submit(t, form, "/ui/forgot", map[string]string{"email": "stranger@example.com"})
			require.Equal(t, http.StatusOK, known.Status, known.Body)
			assert.Equal(t, http.StatusOK, unknown.Status)
			assert.Contains(t, known.Body, "If the address is registered, a link is on its way")
			assert.Equal(t, selfNotice(known.Body), selfNotice(unknown.Body), "the same answer for a stranger")

			link := selfMailedLink(t, s, smtp, "forgetful@example.com", "/ui/reset", seen)
			reset := b.get(t, link)
			require.Equal(t, http.StatusOK, reset.Status, reset.Body)
			selfAssertLabelled(t, reset.Body)

			differ := b.submit(t, reset, "/ui/reset", map[string]string{"new_password": "a brand new passphrase", "confirm_password": "something else"})
			assert.Equal(t, http.StatusUnprocessableEntity, differ.Status)
			assert.Contains(t, selfFieldError(t, differ.Body, "confirm_password"), "differ")
			weak := b.submit(t, differ, "/ui/reset", map[string]string{"new_password": "password", "confirm_password": "password"})
			assert.Equal(t, http.StatusUnprocessableEntity, weak.Status)
			assert.Contains(t, selfFieldError(t, weak.Body, "new_password"), "New password must be at least 12 characters.")
			const newPass = "a brand new passphrase 2026"
			ok := b.submit(t, weak, "/ui/reset", map[string]string{"new_password": newPass, "confirm_password": newPass})
			require.Equal(t, http.StatusOK, ok.Status, "the token survived the refused password: %s", ok.Body)
			assert.Contains(t, ok.Body, "Password changed")
			assert.Contains(t, ok.Body, `href="/ui/login"`)
			replay := b.submit(t, weak, "/ui/reset", map[string]string{"new_password": newPass + "!", "confirm_password": newPass + "!"})
			assert.Equal(t, http.StatusBadRequest, replay.Status, "a reset link works once")
			assert.Contains(t, replay.Body, "This link is not valid")
			assert.Contains(t, replay.Body, `href="/ui/forgot"`)

			assert.Equal(t, http.StatusUnauthorized, selfSignIn(t, s, newBrowser(), "forgetful", testPass).Status, "the old password is dead")
			home := selfSignIn(t, s, b, "forgetful", newPass)
			assert.Equal(t, "/ui/", home.URL.Path, home.Body)

			noToken := b.get(t, s.base+"/ui/reset")
			assert.Equal(t, http.StatusBadRequest, noToken.Status)
			assert.Equal(t, http.StatusBadRequest, b.get(t, s.base+"/ui/verify").Status)
		})
	}
}

// selfNotice is the page's confirmation (role=status).
func selfNotice(body string) string {
	m := regexp.MustCompile(`<p class="notice" role="status">([^<]*)</p>`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

func TestConsolePublicPostsRefuseMissingCSRF(t *testing.T) {
	s := startIssuer(t, dialects["sqlite"](t), nil)
	client := &http.Client{Timeout: 10 * time.Second}
	for _, path := range []string{"/ui/register", "/ui/forgot", "/ui/reset", "/ui/verify"} {
		res, err := client.PostForm(s.base+path, url.Values{"email": {"csrf@example.com"}, "username": {"csrfuser"},
			"password": {testPass}, "token": {"x"}})
		require.NoError(t, err)
		_ = res.Body.Close()
		assert.Contains(t, []int{http.StatusBadRequest, http.StatusForbidden}, res.StatusCode, path)
	}
	// A cookie of its own does not help a forged form: the token must match.
	b := newBrowser()
	form := b.get(t, s.base+"/ui/register")
	forged := b.submit(t, form, "/ui/register", map[string]string{"csrf": "forged", "email": "csrf@example.com",
		"username": "csrfuser", "password": testPass})
	assert.Equal(t, http.StatusForbidden, forged.Status)
	res := s.postJSON(t, loginPath, map[string]any{"login": "csrfuser", "password": testPass})
	assert.Equal(t, http.StatusUnauthorized, res.Status, "no account was made")
}

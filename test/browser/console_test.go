package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/bootstrap"
	"github.com/ums-project/ums/test/dbtest"
	"github.com/ums-project/ums/test/mailtest"
)

// The console's screenshots are 1280x800: the whole page as a PNG, or only
// the viewport when the whole page would weigh more than maxShot.
const (
	shotWidth  = 1280
	shotHeight = 800
	maxShot    = 300 << 10
	// stepLimit bounds one browser step, so that a missing element fails
	// the test quickly instead of at the tab's limit.
	stepLimit = 30 * time.Second
)

// tab is one browser tab on the console of s.
type tab struct {
	t     *testing.T
	ctx   context.Context
	s     *server
	log   *consoleLog
	shots string
}

// newTab prepares the tab of ctx (a chromedp context that has not run yet):
// its console is watched and its viewport is 1280x800.
func newTab(t *testing.T, ctx context.Context, s *server, shots string) *tab {
	t.Helper()
	b := &tab{t: t, ctx: ctx, s: s, log: watchConsole(ctx), shots: shots}
	b.do(chromedp.EmulateViewport(shotWidth, shotHeight))
	return b
}

// step is a context for one browser step.
func (b *tab) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.ctx, stepLimit)
}

func (b *tab) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	require.NoError(b.t, chromedp.Do(ctx, steps...))
}

// open loads a console path (or a whole URL) and returns the response of
// the document.
func (b *tab) open(path string) *network.Response {
	b.t.Helper()
	u := path
	if strings.HasPrefix(path, "/") {
		u = b.s.base + path
	}
	ctx, cancel := b.step()
	defer cancel()
	res, err := chromedp.Run(ctx, chromedp.NavigateResponse(u))
	require.NoError(b.t, err, u)
	return res
}

// click clicks the element of the CSS selector sel, which loads a page, and
// returns the response of the document the browser lands on (after
// redirects).
func (b *tab) click(sel string) *network.Response {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	res, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
	require.NoError(b.t, err, sel)
	return res
}

// fill types value into the input of sel, as a person does.
func (b *tab) fill(sel, value string) {
	b.t.Helper()
	b.do(chromedp.SendKeys(chromedp.CSS(sel), value))
}

// set sets the value of a select or of an input one cannot type into
// reliably (datetime-local).
func (b *tab) set(sel, value string) {
	b.t.Helper()
	b.do(chromedp.SetValue(chromedp.CSS(sel), value))
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](b *tab, expr string) T {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	require.NoError(b.t, err, expr)
	return v
}

func jsString(s string) string {
	q, _ := json.Marshal(s)
	return string(q)
}

// text is the rendered text of the first element of sel, "" when there is
// none.
func (b *tab) text(sel string) string {
	b.t.Helper()
	return strings.TrimSpace(eval[string](b, `(() => { const e = document.querySelector(`+jsString(sel)+`); return e ? e.innerText : ""; })()`))
}

// count is how many elements match sel.
func (b *tab) count(sel string) int {
	b.t.Helper()
	return eval[int](b, `document.querySelectorAll(`+jsString(sel)+`).length`)
}

func (b *tab) heading() string { b.t.Helper(); return b.text("main h1") }
func (b *tab) notice() string  { b.t.Helper(); return b.text("main p.notice") }

// location is the URL the tab shows.
func (b *tab) location() *url.URL {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	require.NoError(b.t, err)
	u, err := url.Parse(loc)
	require.NoError(b.t, err)
	return u
}

// waitFor polls the JavaScript predicate expr until it is true, for pages
// that change without loading (htmx).
func (b *tab) waitFor(expr string) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(15*time.Second),
		chromedp.WithPollingInterval(50*time.Millisecond)))
	require.NoError(b.t, err, expr)
}

// assertSound checks what a screenshot would not show for sure: every
// control a person fills in has a label (or an aria-label where a table row
// names it), and no template text leaked onto the page.
func (b *tab) assertSound() {
	b.t.Helper()
	path := b.location().Path
	unlabelled := eval[[]string](b, `[...document.querySelectorAll("input:not([type=hidden]), select, textarea")]`+
		`.filter(e => e.labels.length === 0 && !e.getAttribute("aria-label")).map(e => e.outerHTML)`)
	assert.Empty(b.t, unlabelled, "%s: controls without a label", path)
	body := b.text("body")
	for _, leak := range []string{"{{", "}}", "<no value>", "%!", "ZgotmplZ"} {
		assert.NotContains(b.t, body, leak, "%s: template text on the page", path)
	}
}

// shot saves the page as console-NAME.png: the whole page, or the 1280x800
// viewport when the whole page is too heavy for the docs. CDP encodes a PNG
// losslessly, so there is no quality to choose (chromedp.FullScreenshot
// with a quality below 100 would make a JPEG).
func (b *tab) shot(name string) {
	b.t.Helper()
	b.assertSound()
	ctx, cancel := b.step()
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(b.t, err)
	if len(png) > maxShot {
		png, err = chromedp.Run(ctx, chromedp.CaptureScreenshot())
		require.NoError(b.t, err)
	}
	p := filepath.Join(b.shots, "console-"+name+".png")
	require.NoError(b.t, os.WriteFile(p, png, 0o644))
	b.t.Logf("screenshot %s (%d KB)", p, len(png)>>10)
}

// signIn signs in at /ui/login with testPass and returns the response of
// the page it lands on: the console, or the second-factor form.
func (b *tab) signIn(login string) *network.Response {
	b.t.Helper()
	res := b.open("/ui/login")
	require.Equal(b.t, http.StatusOK, int(res.Status))
	b.fill(`#login`, login)
	b.fill(`#password`, testPass)
	return b.click(`main form[action="/ui/login"] button[type=submit]`)
}

// assertCSPClean checks the pages broke no rule of their own CSP.
func (b *tab) assertCSPClean() {
	b.t.Helper()
	for _, m := range b.log.all() {
		b.t.Logf("console %s (%s): %s %s", m.Type, m.Source, m.Text, m.URL)
		assert.NotContains(b.t, m.Text, "Content Security Policy", "the console breaks no rule of its own CSP")
	}
}

// TestConsoleInARealBrowser walks the web console under /ui/ in headless
// Chromium: a person signs up, verifies the mailed link, turns TOTP on,
// signs out and in again with it and revokes another session; a system
// admin finds and deactivates them, builds an organization with a
// permission grant that expires, and reads the audit log; an organization's
// admin cannot open another organization. It saves screenshots of the main
// pages to BROWSER_SCREENSHOTS (the docs' copies: see README.md).
//
// It runs on SQLite only, to keep make test fast: test/e2e/console_*_test.go
// drive the same journeys on both dialects with a cookie-jar client.
// UI_REAUTH_AFTER keeps its default (10m), so no sensitive action asks for
// the password again here.
func TestConsoleInARealBrowser(t *testing.T) {
	requireChromium(t)
	shots := screenshots(t)
	smtp := mailtest.Start(t)
	s := startIssuerWith(t, dbtest.SQLiteURL(t), map[string]string{
		// Mailed links point at the console (no MAIL_LINK_BASE_URL).
		"MAIL_DRIVER": "smtp", "SMTP_HOST": smtp.Host(), "SMTP_PORT": strconv.Itoa(smtp.Port()), "SMTP_TLS": "none",
		"MAIL_POLL_INTERVAL": "50ms", "MAIL_FROM": "UMS <no-reply@example.com>",
		"REQUIRE_EMAIL_VERIFICATION": "true",
	})
	root := newChromium(t, 4*time.Minute)
	const email = "person@example.com"

	var personID string
	t.Run("person", func(t *testing.T) {
		b := newTab(t, root, s, shots)

		res := b.open("/ui/login")
		require.Equal(t, http.StatusOK, int(res.Status))
		assert.Equal(t, "Sign in", b.heading())
		b.shot("01-sign-in")

		// Sign up.
		res = b.open("/ui/register")
		require.Equal(t, http.StatusOK, int(res.Status))
		assert.Equal(t, "Create an account", b.heading())
		b.shot("02-register")
		b.fill(`#email`, email)
		b.fill(`#username`, "person")
		b.fill(`#first_name`, "Ada")
		b.fill(`#last_name`, "Lovelace")
		b.fill(`#password`, testPass)
		res = b.click(`main form[action="/ui/register"] button[type=submit]`)
		require.Equal(t, http.StatusOK, int(res.Status), b.text("main"))
		assert.Equal(t, "Check your mail", b.heading())
		assert.Contains(t, b.notice(), "We sent a link to "+email)

		// Unverified, the sign-in is refused.
		res = b.signIn("person")
		assert.Equal(t, http.StatusForbidden, int(res.Status))
		assert.Contains(t, b.text("main p.error"), "Verify your email address first")

		// The mailed link: opening it spends nothing, the button verifies.
		link := regexp.MustCompile(regexp.QuoteMeta(s.base+"/ui/verify?token=") + `[A-Za-z0-9_\-]+`)
		m := smtp.WaitFor(t, func(m mailtest.Message) bool {
			return mailtest.To(email)(m) && link.MatchString(m.Text)
		}, 15*time.Second)
		res = b.open(link.FindString(m.Text))
		require.Equal(t, http.StatusOK, int(res.Status))
		assert.Equal(t, "Verify your email address", b.heading())
		res = b.click(`main form[action="/ui/verify"] button[type=submit]`)
		require.Equal(t, http.StatusOK, int(res.Status), b.text("main"))
		assert.Equal(t, "Email verified", b.heading())
		assert.Equal(t, email+" is verified.", b.notice())

		// Another session, on the API, for the sessions page.
		st, api := s.call(t, http.MethodPost, "/api/v1/auth/login", "", map[string]any{"login": "person", "password": testPass})
		require.Equal(t, http.StatusOK, st, "%v", api)
		otherToken, otherSession := api["access_token"].(string), api["session_id"].(string)
		require.NotEmpty(t, otherSession)
		st, me := s.call(t, http.MethodGet, "/api/v1/me", otherToken, nil)
		require.Equal(t, http.StatusOK, st, "%v", me)
		personID = me["id"].(string)

		// Sign in.
		res = b.signIn("person")
		require.Equal(t, http.StatusOK, int(res.Status), b.text("main"))
		assert.Equal(t, "/ui/", b.location().Path)
		assert.Equal(t, email, b.text("header.top .who"))

		res = b.open("/ui/account")
		require.Equal(t, http.StatusOK, int(res.Status))
		assert.Equal(t, "Your account", b.heading())
		overview := b.text("main table")
		assert.Contains(t, overview, "person")
		assert.Contains(t, overview, email+" verified")
		b.shot("03-account")

		// TOTP: the secret on the page gives the code.
		res = b.open("/ui/account/mfa")
		require.Equal(t, http.StatusOK, int(res.Status))
		assert.Equal(t, "/ui/account/mfa", b.location().Path, "a fresh sign-in is not asked to confirm")
		assert.Equal(t, "Two-step verification is off", b.text("main h2"))
		b.fill(`#password`, testPass)
		res = b.click(`main form[action="/ui/account/mfa/setup"] button[type=submit]`)
		require.Equal(t, http.StatusOK, int(res.Status), b.text("main"))
		assert.Equal(t, "Scan the code with your authenticator app", b.text("main h2"))
		assert.Positive(t, eval[int](b, `document.querySelector("img.qr").naturalWidth`), "the QR code is drawn")
		secret := b.text(`#totp-secret`)
		require.Regexp(t, `^[A-Z2-7]{16,}$`, secret)
		b.shot("04-mfa-enrol")
		code, err := totp.GenerateCode(secret, time.Now())
		require.NoError(t, err)
		b.fill(`#code`, code)
		res = b.click(`main form[action="/ui/account/mfa/activate"] button[type=submit]`)
		require.Equal(t, http.StatusOK, int(res.Status), b.text("main"))
		assert.Equal(t, "Your recovery codes", b.text("main h2"))
		assert.Equal(t, 10, b.count(`#recovery-codes li code`), "the recovery codes are shown")
		b.shot("05-recovery-codes")

		// Sign out with the top bar's button.
		res = b.click(`header.top form[action="/ui/logout"] button[type=submit]`)
		require.Equal(t, http.StatusOK, int(res.Status))
		assert.Equal(t, "Signed out", b.heading())
		assert.Zero(t, b.count(`header.top`))
		b.open("/ui/account")
		assert.Equal(t, "/ui/login", b.location().Path, "signed out, the account asks for a sign-in")

		// Password, then the TOTP code (of the next period: the one above
		// is spent).
		res = b.signIn("person")
		require.Equal(t, http.StatusOK, int(res.Status), b.text("main"))
		assert.Equal(t, "Two-step verification", b.heading())
		code, err = totp.GenerateCode(secret, time.Now().Add(30*time.Second))
		require.NoError(t, err)
		b.fill(`#mfa_code`, code)
		res = b.click(`main form[action="/ui/login/mfa"] button[type=submit]`)
		require.Equal(t, http.StatusOK, int(res.Status), b.text("main"))
		assert.Equal(t, email, b.text("header.top .who"))

		// Sessions: this browser marked, the API's session revoked.
		res = b.open("/ui/account/sessions")
		require.Equal(t, http.StatusOK, int(res.Status))
		assert.Equal(t, 1, b.count(`main tbody tr[aria-current="true"]`))
		assert.Contains(t, b.text(`main tbody tr[aria-current="true"]`), "this browser")
		revoke := `main button[name=session][value="` + otherSession + `"]`
		require.Equal(t, 1, b.count(revoke), "the API's session is listed")
		assert.Equal(t, 0, eval[int](b, `document.querySelector(`+jsString(revoke)+`).closest("tr").querySelectorAll(".tag").length`),
			"the other session is not this browser")
		b.shot("06-sessions")
		res = b.click(revoke)
		require.Equal(t, http.StatusOK, int(res.Status), b.text("main"))
		assert.Equal(t, "The session is signed out.", b.notice())
		assert.Zero(t, b.count(revoke), "the revoked session is gone")
		assert.Equal(t, 1, b.count(`main tbody tr`))
		st, _ = s.call(t, http.MethodGet, "/api/v1/me", otherToken, nil)
		assert.Equal(t, http.StatusUnauthorized, st, "the revoked session's token is dead")

		b.assertCSPClean()
	})
	require.NotEmpty(t, personID, "the person's journey failed")

	// A system admin, and two people for an organization.
	_, err := bootstrap.CreateAdmin(context.Background(), s.cfg, zap.NewNop(), application.RegisterInput{
		Email: "root@example.com", Username: "root", Password: testPass})
	require.NoError(t, err)
	registerUser(t, s, "boss")
	staffID := registerUser(t, s, "staff")
	for _, name := range []string{"boss", "staff"} {
		verifyByMail(t, s, smtp, name+"@example.com")
	}
	st, org := s.call(t, http.MethodPost, "/api/v1/orgs", login(t, s, "root"), map[string]any{"name": "Lab B", "slug": "lab-b"})
	require.Equal(t, http.StatusCreated, st, "%v", org)
	orgB := org["id"].(string)

	var orgA string
	t.Run("admin", func(t *testing.T) {
		ctx, cancel := chromedp.NewContext(root, chromedp.WithNewBrowserContext())
		defer cancel()
		b := newTab(t, ctx, s, shots)
		res := b.signIn("root")
		require.Equal(t, http.StatusOK, int(res.Status), b.text("main"))
		assert.Equal(t, "/ui/", b.location().Path)

		// Find the person (htmx updates the results as one types).
		res = b.open("/ui/admin/users")
		require.Equal(t, http.StatusOK, int(res.Status))
		assert.Equal(t, "Users", b.heading())
		assert.GreaterOrEqual(t, b.count(`#user-results tbody tr`), 4)
		b.shot("07-admin-users")
		personLink := `#user-results a[href="/ui/admin/users/` + personID + `"]`
		eval[bool](b, `document.body.addEventListener("htmx:afterSettle", () => { window.umsSettled = (window.umsSettled || 0) + 1; }), true`)
		b.fill(`#q`, "person")
		b.waitFor(`window.umsSettled >= 1 && document.querySelector(` + jsString(personLink) + `) !== null && ` +
			`!document.querySelector("#user-results").innerText.includes("boss@example.com")`)
		// Leaving the field fires its change: htmx searches once more, and
		// the click must not race that update's history entry.
		settled := eval[int](b, `window.umsSettled`)
		b.do(chromedp.Blur(chromedp.CSS(`#q`)))
		b.waitFor(`window.umsSettled > ` + strconv.Itoa(settled))
		assert.Equal(t, 1, b.count(`#user-results tbody tr`))
		assert.Equal(t, "person", b.location().Query().Get("q"), "the search is in the address bar")

		res = b.click(personLink)
		require.Equal(t, http.StatusOK, int(res.Status))
		assert.Equal(t, "User "+email, b.heading())
		assert.Contains(t, b.text("main table"), "Active")
		b.shot("08-admin-user")
		st, _ := s.call(t, http.MethodPost, "/api/v1/auth/login", "", map[string]any{"login": "boss", "password": testPass})
		require.Equal(t, http.StatusOK, st)
		res = b.click(`main form[action$="/deactivate"] button[type=submit]`)
		require.Equal(t, http.StatusOK, int(res.Status), b.text("main"))
		assert.Equal(t, "The account is deactivated and its sessions are ended.", b.notice())
		assert.Equal(t, 1, b.count(`main form[action$="/activate"] button`), "it can be activated again")
		st, _ = s.call(t, http.MethodPost, "/api/v1/auth/login", "", map[string]any{"login": "person", "password": testPass})
		assert.Contains(t, []int{http.StatusUnauthorized, http.StatusForbidden}, st, "a deactivated account cannot sign in")

		// An organization and a permission, on their pages.
		res = b.open("/ui/admin/orgs")
		require.Equal(t, http.StatusOK, int(res.Status))
		assert.Contains(t, b.text("main table"), "Lab B")
		b.fill(`#org-name`, "Lab A")
		b.fill(`#org-slug`, "lab-a")
		b.fill(`#org-description`, "The first lab")
		res = b.click(`main form[action="/ui/admin/orgs"][method=post] button[type=submit]`)
		require.Equal(t, http.StatusOK, int(res.Status), b.text("main"))
		assert.Equal(t, "The organization is created.", b.notice())
		assert.Equal(t, "Lab A", b.heading())
		orgA = strings.TrimPrefix(b.location().Path, "/ui/admin/orgs/")
		require.Len(t, orgA, 36, b.location().String())

		res = b.open("/ui/admin/permissions")
		require.Equal(t, http.StatusOK, int(res.Status))
		b.fill(`#perm-name`, "lab.samples.read")
		b.fill(`#perm-category`, "lab")
		b.fill(`#perm-description`, "Read samples")
		res = b.click(`main form[action="/ui/admin/permissions"] button[type=submit]`)
		require.Equal(t, http.StatusOK, int(res.Status), b.text("main"))
		assert.Equal(t, "The permission is in the catalog.", b.notice())
		assert.Contains(t, b.text("main table"), "lab.samples.read")
		b.shot("09-admin-permissions")

		// Members, then a grant that expires in three days (UTC).
		res = b.open("/ui/admin/orgs/" + orgA)
		require.Equal(t, http.StatusOK, int(res.Status))
		for _, m := range []struct{ user, role string }{{"boss@example.com", "admin"}, {"staff", "member"}} {
			b.fill(`#member-user`, m.user)
			b.set(`#member-role`, m.role)
			res = b.click(`main form[action$="/members"] button[type=submit]`)
			require.Equal(t, http.StatusOK, int(res.Status), b.text("main"))
			require.Equal(t, "The member is added.", b.notice(), m.user)
		}
		members := b.text(`section[aria-labelledby="members-h"] table`)
		assert.Contains(t, members, "boss@example.com")
		assert.Contains(t, members, "staff@example.com")
		expires := time.Now().UTC().Add(72 * time.Hour).Truncate(time.Minute)
		b.set(`#grant-user`, staffID)
		b.set(`#grant-permission`, "lab.samples.read")
		b.set(`#grant-expires`, expires.Format("2006-01-02T15:04"))
		res = b.click(`main form[action$="/grants"] button[type=submit]`)
		require.Equal(t, http.StatusOK, int(res.Status), b.text("main"))
		assert.Equal(t, "The grant is added.", b.notice())
		grants := b.text(`section[aria-labelledby="grants-h"] table`)
		assert.Contains(t, grants, "lab.samples.read")
		assert.Contains(t, grants, expires.Format("2006-01-02 15:04 UTC"), "the grant is listed with its expiry")
		b.shot("10-admin-org")
		st, perms := s.call(t, http.MethodGet, "/api/v1/me/permissions?org_id="+orgA, login(t, s, "staff"), nil)
		require.Equal(t, http.StatusOK, st, "%v", perms)
		assert.Contains(t, perms["permissions"], "lab.samples.read", "the API sees the console's grant")

		// The audit log, filtered by action.
		res = b.open("/ui/admin/audit")
		require.Equal(t, http.StatusOK, int(res.Status))
		b.fill(`#f-action`, "user.updated")
		res = b.click(`main form[action="/ui/admin/audit"] button[type=submit]`)
		require.Equal(t, http.StatusOK, int(res.Status), b.text("main"))
		assert.Equal(t, "user.updated", b.location().Query().Get("action"))
		events := b.text(`section[aria-labelledby="events-h"] table`)
		assert.Contains(t, events, "user.updated")
		assert.Contains(t, events, email, "the deactivated person is the target")
		assert.Contains(t, events, "is_active")
		assert.NotContains(t, events, "grant.added", "the filter keeps other actions out")
		assert.Equal(t, 1, b.count(`main tbody a[href="/ui/admin/users/`+personID+`"]`))
		b.shot("11-audit-log")

		b.assertCSPClean()
	})
	require.Len(t, orgA, 36, "the admin's journey failed")

	t.Run("org admin", func(t *testing.T) {
		ctx, cancel := chromedp.NewContext(root, chromedp.WithNewBrowserContext())
		defer cancel()
		b := newTab(t, ctx, s, shots)
		res := b.signIn("boss")
		require.Equal(t, http.StatusOK, int(res.Status), b.text("main"))
		assert.Zero(t, b.count(`header.top a[href="/ui/admin/users"]`), "no system pages in the bar")

		res = b.open("/ui/admin/orgs/" + orgA)
		require.Equal(t, http.StatusOK, int(res.Status))
		assert.Equal(t, "Lab A", b.heading())
		assert.Contains(t, b.text("main"), "Grant a permission")

		res = b.open("/ui/admin/orgs/" + orgB)
		assert.Equal(t, http.StatusNotFound, int(res.Status), "another organization does not exist for them")
		assert.Equal(t, "Error", b.heading())
		assert.Equal(t, "Not found.", b.text("main p.error"))
		assert.NotContains(t, b.text("main"), "Lab B")
		b.shot("12-not-found")

		b.assertCSPClean()
	})
}

// verifyByMail verifies the address to with the token of its mailed link,
// on the API.
func verifyByMail(t *testing.T, s *server, smtp *mailtest.Server, to string) {
	t.Helper()
	token := regexp.MustCompile(`/ui/verify\?token=([A-Za-z0-9_\-]+)`)
	m := smtp.WaitFor(t, func(m mailtest.Message) bool { return mailtest.To(to)(m) && token.MatchString(m.Text) }, 15*time.Second)
	st, body := s.call(t, http.MethodPost, "/api/v1/auth/email/verify", "", map[string]any{"token": token.FindStringSubmatch(m.Text)[1]})
	require.Contains(t, []int{http.StatusOK, http.StatusNoContent}, st, fmt.Sprintf("%v", body))
}

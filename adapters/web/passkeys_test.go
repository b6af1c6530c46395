package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/domain"
)

// TestPasskeyPagesRender renders the pages with passkey buttons: they
// stay hidden for the script to show, name their endpoints, load the
// script from its file (the CSP allows no inline script), and the login
// field offers passkeys in its autofill.
func TestPasskeyPagesRender(t *testing.T) {
	p, err := New(Deps{Passkeys: &application.Passkeys{}})
	require.NoError(t, err)
	render := func(page string, v view) string {
		t.Helper()
		var b strings.Builder
		v.Title, v.CSRF = page, "tok"
		require.NoError(t, p.pages[page].ExecuteTemplate(&b, "layout", v), page)
		html := b.String()
		assert.Contains(t, html, `<script src="/ui/static/passkeys.js" defer></script>`, page)
		assert.NotContains(t, html, "<script>", "%s: no inline script", page)
		for _, leak := range []string{"<no value>", "ZgotmplZ", "%!"} {
			assert.NotContains(t, html, leak, page)
		}
		return html
	}

	login := render("login", view{AuthRequest: "4b5d0c1e-1b0a-4f7e-9a57-0c1e4b5d0c1e", Next: "/ui/account"})
	assert.Contains(t, login, `autocomplete="username webauthn"`)
	assert.Contains(t, login, `data-passkey-login data-conditional data-options="/ui/login/passkey/options" data-finish="/ui/login/passkey"`)
	assert.Contains(t, login, `data-auth-request="4b5d0c1e-1b0a-4f7e-9a57-0c1e4b5d0c1e" data-next="/ui/account" hidden>`)
	assert.Contains(t, login, `<p class="error" role="alert" data-passkey-error hidden></p>`)
	assert.Contains(t, login, `>Sign in with a passkey</button>`)

	mfa := render("mfa", view{Ticket: "tick\"et", Next: "/ui/"})
	assert.Contains(t, mfa, `data-options="/ui/login/mfa/passkey/options" data-finish="/ui/login/mfa/passkey"`)
	assert.Contains(t, mfa, `data-ticket="tick&#34;et" hidden>`, "the ticket is escaped")
	assert.Contains(t, mfa, `>Use a passkey instead</button>`)
	assert.NotContains(t, mfa, "data-conditional", "the second factor has no login field to fill")

	tabs := p.accountPage(pathPasskeys)
	assert.Contains(t, tabs.Tabs, accountTab{Href: pathPasskeys, Label: "Passkeys", Current: true})
	now := time.Date(2026, 11, 27, 10, 30, 0, 0, time.UTC)
	rows := []passkeyRow{
		{ID: "a", Name: "Phone", Value: "Phone", CreatedAt: now, LastUsedAt: &now, Synced: true},
		{ID: "b", Name: "Laptop", Value: "Laptop", CreatedAt: now, Syncable: true},
		{ID: "c", Name: "<YubiKey>", Value: "", CreatedAt: now},
	}
	list := render("account_passkeys", view{Error: "Check the name marked below.",
		Fields: map[string]string{"name-c": "A name has 1 to 100 characters."},
		Data:   passkeysData{accountPage: tabs, Passkeys: rows}})
	assert.Contains(t, list, `data-passkey-register data-options="/ui/account/passkeys/options" data-finish="/ui/account/passkeys" hidden>`)
	assert.Contains(t, list, `data-passkey-nojs>Passkeys need JavaScript`)
	assert.Contains(t, list, `<span class="tag">synced</span>`)
	assert.Contains(t, list, `<span class="tag">can sync</span>`)
	assert.Contains(t, list, `<span class="tag">this device only</span>`)
	assert.Contains(t, list, `value="Phone"`)
	assert.Contains(t, list, `aria-label="Name of the passkey &lt;YubiKey&gt;" value=""`, "what was typed is shown again")
	assert.Contains(t, list, `aria-invalid="true" aria-describedby="name-c-error"`)
	assert.Contains(t, list, `<p class="field-error" id="name-c-error">A name has 1 to 100 characters.</p>`)
	assert.Contains(t, list, `<button type="submit" name="passkey" value="b" class="danger small"`)
	assert.Equal(t, 3, strings.Count(list, `action="/ui/account/passkeys/rename"`))
	assert.Contains(t, list, `<time datetime="2026-11-27T10:30:00Z">`)

	empty := render("account_passkeys", view{Data: passkeysData{accountPage: tabs}})
	assert.Contains(t, empty, `You have no passkey yet.`)
	assert.NotContains(t, empty, "<table")

	// Without passkeys there is no tab.
	off, err := New(Deps{})
	require.NoError(t, err)
	for _, tab := range off.accountPage(PathAccount).Tabs {
		assert.NotEqual(t, pathPasskeys, tab.Href)
	}
}

func TestPasskeyOptionsAreUnwrapped(t *testing.T) {
	inner := `{"challenge":"AAEC","rpId":"localhost"}`
	assert.JSONEq(t, inner, string(publicKeyOptions(json.RawMessage(`{"publicKey":`+inner+`,"mediation":"optional"}`))))
	assert.JSONEq(t, inner, string(publicKeyOptions(json.RawMessage(inner))), "options that come unwrapped stay so")

	c, rec := jsonContext(http.MethodPost, "")
	require.NoError(t, answerCeremony(c, application.Ceremony{ID: "cer-1", Options: json.RawMessage(`{"publicKey":` + inner + `}`),
		ExpiresIn: 5 * time.Minute}))
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.JSONEq(t, `{"ceremony_id":"cer-1","publicKey":`+inner+`,"expires_in":300}`, rec.Body.String())
}

func jsonContext(method, body string) (echo.Context, *httptest.ResponseRecorder) {
	req := httptest.NewRequest(method, "/ui/login/passkey", strings.NewReader(body))
	req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	rec := httptest.NewRecorder()
	return echo.New().NewContext(req, rec), rec
}

// TestPasskeyRefusalsAreJSON maps the use cases' refusals to what the
// script shows: a status and a sentence, never an account's existence;
// what is not the person's to fix is a 500 with a generic sentence.
func TestPasskeyRefusalsAreJSON(t *testing.T) {
	p, err := New(Deps{})
	require.NoError(t, err)
	for _, tc := range []struct {
		err    error
		status int
		msg    string
	}{
		{domain.ErrPasskeyRefused, http.StatusUnauthorized, "That passkey could not be verified. Try again, or sign in another way."},
		{domain.ErrInvalidCredentials, http.StatusUnauthorized, "That passkey could not be verified. Try again, or sign in another way."},
		{domain.ErrCeremonyExpired, http.StatusUnauthorized, "The passkey request expired or was already used. Try again."},
		{application.ErrMFATicketInvalid, http.StatusUnauthorized, "The sign-in took too long or the account changed. Start over."},
		{domain.ErrPasskeyNotFound, http.StatusNotFound, "No passkey of yours is registered here."},
		{domain.ErrEmailNotVerified, http.StatusForbidden, "Verify your email address first: follow the link we mailed you."},
		{&domain.Error{Kind: domain.KindRateLimited, Code: "login_locked", Message: "locked", RetryAfter: 90 * time.Second},
			http.StatusTooManyRequests, "Too many attempts. Wait a while, then try again."},
		{&domain.Error{Kind: domain.KindConflict, Code: "passkey_exists", Message: "this passkey is already registered"},
			http.StatusConflict, "This passkey is already registered."},
		{domain.Invalid(domain.FieldError{Field: "name", Code: "invalid", Message: "a name of 1 to 100 characters is required"}),
			http.StatusUnprocessableEntity, "A name of 1 to 100 characters is required."},
		{errors.New("database down"), http.StatusInternalServerError, "Something went wrong on our side. Try again in a moment."},
	} {
		c, rec := jsonContext(http.MethodPost, "")
		require.NoError(t, p.passkeyRefusal(c, tc.err))
		assert.Equal(t, tc.status, rec.Code, "%v", tc.err)
		var got jsonError
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
		assert.Equal(t, tc.msg, got.Error, "%v", tc.err)
		if tc.status == http.StatusTooManyRequests {
			assert.Equal(t, "90", rec.Header().Get("Retry-After"))
		}
	}
}

func TestPasskeyPostsAreRead(t *testing.T) {
	for body, ok := range map[string]bool{
		`{"ceremony_id":"c","credential":{"id":"x"},"next":"/ui/"}`: true,
		`{"ceremony_id":"c"}`:                  false,
		`{"ceremony_id":"c","credential":"x"}`: false,
		`{"credential":{"id":"x"}}`:            false,
		`not json`:                             false,
		``:                                     false,
	} {
		c, rec := jsonContext(http.MethodPost, body)
		in, got, err := readPasskeyPost(c, true)
		require.NoError(t, err)
		assert.Equal(t, ok, got, body)
		if ok {
			assert.Equal(t, "c", in.CeremonyID)
			assert.JSONEq(t, `{"id":"x"}`, string(in.Credential))
			continue
		}
		assert.Equal(t, http.StatusBadRequest, rec.Code, body)
		assert.Contains(t, rec.Body.String(), `"error":`)
	}
	// A first step may come with no body at all.
	c, _ := jsonContext(http.MethodPost, "")
	_, ok, err := readPasskeyPost(c, false)
	require.NoError(t, err)
	assert.True(t, ok)
}

// TestPasskeysOffAnswerUnavailable: without passkeys the first steps say
// so, and the script hides its buttons.
func TestPasskeysOffAnswerUnavailable(t *testing.T) {
	p, err := New(Deps{})
	require.NoError(t, err)
	e := echo.New()
	p.registerPasskeys(e.Group("/ui"), nil)
	for _, path := range []string{"/ui/login/passkey/options", "/ui/login/mfa/passkey/options"} {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, strings.NewReader(`{}`)))
		assert.Equal(t, http.StatusNotFound, rec.Code, path)
		assert.JSONEq(t, `{"error":"Passkeys are not available here.","unavailable":true}`, rec.Body.String(), path)
	}
}

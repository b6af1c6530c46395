package web

import (
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

func TestConsoleFieldMessagesNameTheirInput(t *testing.T) {
	c := echo.New().NewContext(httptest.NewRequest(http.MethodPost, "/", nil), httptest.NewRecorder())
	err := domain.Invalid(
		domain.FieldError{Field: "password", Code: "too_short", Message: "must be at least 12 characters"},
		domain.FieldError{Field: "password", Code: "too_common", Message: "is too common; choose a less guessable password"},
		domain.FieldError{Field: "email", Code: "invalid_email", Message: "must be a valid email address"},
		domain.FieldError{Field: "current_password", Code: "incorrect", Message: "is not the account's current password"},
		domain.FieldError{Field: "page", Code: "too_large", Message: "is past any page"},
	)
	f, ferr := selfRefusal(c, err, "password", "email", "current_password")
	require.NoError(t, ferr)
	assert.Equal(t, http.StatusUnprocessableEntity, f.status)
	assert.Equal(t, "Password must be at least 12 characters. Password is too common; choose a less guessable password.", f.fields["password"])
	assert.Equal(t, "Email must be a valid email address.", f.fields["email"])
	assert.Equal(t, "That is not your current password.", f.fields["current_password"])
	assert.Equal(t, "Is past any page.", f.msg, "a rule of no input on the form goes above it")

	locked := &domain.Error{Kind: domain.KindRateLimited, Code: "login_locked", Message: "locked", RetryAfter: 90 * time.Second}
	f, ferr = selfRefusal(c, locked, "password")
	require.NoError(t, ferr)
	assert.Equal(t, http.StatusTooManyRequests, f.status)
	assert.Equal(t, "90", c.Response().Header().Get("Retry-After"))

	f, ferr = selfRefusal(c, domain.ErrInvalidMFACode, "code")
	require.NoError(t, ferr)
	assert.Equal(t, "That code is wrong or was already used.", f.fields["code"])

	f, ferr = selfRefusal(c, domain.ErrMFAAlreadyEnabled)
	require.NoError(t, ferr)
	assert.Equal(t, http.StatusConflict, f.status)
	assert.Equal(t, "Multi-factor login is already on; disable it first.", f.msg)

	boom := errors.New("database down")
	_, ferr = selfRefusal(c, boom, "password")
	assert.Same(t, boom, ferr, "not the person's to fix: the error page")
	_, ferr = selfRefusal(c, domain.ErrInvalidToken)
	assert.ErrorIs(t, ferr, domain.ErrInvalidToken)
}

func TestConsoleDeviceNames(t *testing.T) {
	for ua, want := range map[string]string{
		"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0":                                                                  "Firefox on Linux",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126":                 "Edge on Windows",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1": "Safari on iOS",
		"Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36":                                "Chrome on Android",
		"Go-http-client/1.1": "Go program",
		"curl/8.8.0":         "curl",
		"ums-cli/2.0":        "ums-cli",
		"":                   "Unknown device",
	} {
		assert.Equal(t, want, deviceName(ua), ua)
	}
}

// TestConsoleSelfServicePagesRender renders every state of the public and
// account pages, errors included, so a template mistake in a branch the
// browser tests do not reach still fails here.
func TestConsoleSelfServicePagesRender(t *testing.T) {
	p, err := New(Deps{OAuthClients: &application.OAuthClients{}})
	require.NoError(t, err)
	fields := map[string]string{"email": "E!", "username": "U!", "password": "P!", "first_name": "F!", "last_name": "L!",
		"new_password": "N!", "confirm_password": "C!", "current_password": "O!", "new_email": "M!", "code": "K!", "confirm": "X!"}
	tabs := p.accountPage(PathAccount)
	now := time.Now()
	enrol := enrolment("otpauth://totp/UMS:ada@example.com?secret=JBSWY3DPEHPK3PXP&issuer=UMS")
	require.NotEmpty(t, enrol.QR)
	assert.Equal(t, "JBSWY3DPEHPK3PXP", enrol.Secret)
	assert.Empty(t, enrolment("javascript:alert(1)").QR, "only a TOTP URI is drawn")
	cases := []struct {
		page string
		data any
		// inputs are the ones that must carry their error.
		inputs []string
	}{
		{"public_register", nil, []string{"email", "username", "password", "first_name", "last_name"}},
		{"public_forgot", nil, []string{"email"}},
		{"public_reset", tokenForm{Token: "t"}, []string{"new_password", "confirm_password"}},
		{"public_verify", tokenForm{Token: "t"}, nil},
		{"public_notice", publicNotice{Links: []publicLink{{Href: "/ui/login", Text: "Sign in"}}}, nil},
		{"public_notice", nil, nil},
		{"account_overview", overviewData{accountPage: tabs, Email: "a@example.com", PasswordExpiresAt: &now}, nil},
		{"account_profile", profileData{accountPage: tabs, Username: "ada"}, []string{"first_name", "last_name"}},
		{"account_password", passwordData{accountPage: tabs, Required: true, Status: application.PasswordStatus{ExpiresAt: &now}},
			[]string{"current_password", "new_password", "confirm_password"}},
		{"account_email", emailData{accountPage: tabs, Email: "a@example.com"}, []string{"new_email", "password"}},
		{"account_sessions", sessionsData{accountPage: tabs, Others: true, Sessions: []sessionRow{{ID: "1", This: true}, {ID: "2"}}}, nil},
		{"account_consents", consentsData{accountPage: tabs, Consents: []consentRow{{ClientID: "c", ClientName: "Portal", Scopes: []string{"a", "b"}}}}, nil},
		{"account_consents", consentsData{accountPage: tabs}, nil},
		{"account_mfa", mfaData{accountPage: tabs}, []string{"password"}},
		{"account_mfa", mfaData{accountPage: tabs, Setup: enrol}, []string{"code"}},
		{"account_mfa", mfaData{accountPage: tabs, Setup: &totpEnrolment{}}, []string{"code"}},
		{"account_mfa", mfaData{accountPage: tabs, Enabled: true}, []string{"password", "code"}},
		{"account_mfa", mfaData{accountPage: tabs, Enabled: true, Codes: []string{"aaaa-bbbb"}}, nil},
		{"account_export", tabs, nil},
		{"account_delete", tabs, []string{"password", "confirm"}},
	}
	for _, tc := range cases {
		var b strings.Builder
		v := view{Title: tc.page, CSRF: "tok", Error: "Check.", Fields: fields, Form: map[string]string{}, Data: tc.data}
		require.NoError(t, p.pages[tc.page].ExecuteTemplate(&b, "layout", v), tc.page)
		assert.Contains(t, b.String(), "<h1>"+tc.page+"</h1>")
		for _, in := range tc.inputs {
			assert.Contains(t, b.String(), `aria-describedby="`+in+`-error"`, "%s: %s", tc.page, in)
			assert.Contains(t, b.String(), `id="`+in+`-error">`+fields[in]+`</p>`, "%s: %s", tc.page, in)
		}
		if strings.Contains(b.String(), "<form") {
			assert.Contains(t, b.String(), `<input type="hidden" name="csrf" value="tok">`, tc.page)
		}
	}
}

package browser

import (
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/test/dbtest"
)

// TestAccessTokensInARealBrowser makes a personal access token on the
// account page, copies it from the page, uses it on the API and revokes
// it, in headless Chromium.
func TestAccessTokensInARealBrowser(t *testing.T) {
	requireChromium(t)
	shots := screenshots(t)
	s := startIssuer(t, dbtest.SQLiteURL(t))
	registerUser(t, s, "scripter")
	b := newTab(t, newChromium(t, 2*time.Minute), s, shots)
	res := b.signIn("scripter")
	require.Equal(t, http.StatusOK, int(res.Status), b.text("main"))

	res = b.open("/ui/account/tokens")
	require.Equal(t, http.StatusOK, int(res.Status))
	assert.Equal(t, "You have no access token.", b.text("#no-tokens"))
	b.fill(`#name`, "Nightly report")
	b.set(`#expires_in`, "90")
	res = b.click(`main form[action="/ui/account/tokens"] button[type=submit]`)
	require.Equal(t, http.StatusCreated, int(res.Status), b.text("main"))
	assert.Equal(t, "Your token is made. Copy it now: it is not shown again.", b.notice())
	token := eval[string](b, `document.querySelector("#new-token").value`)
	require.Regexp(t, regexp.MustCompile(`^ums_pat_[0-9A-Za-z]{46}$`), token)
	assert.Contains(t, b.text("main tbody"), "Nightly report")
	b.shot("13-access-tokens")

	st, me := s.call(t, http.MethodGet, "/api/v1/me", token, nil)
	require.Equal(t, http.StatusOK, st, "%v", me)
	assert.Equal(t, "scripter", me["username"])

	res = b.click(`main button[name=token]`)
	require.Equal(t, http.StatusOK, int(res.Status), b.text("main"))
	assert.Equal(t, "The token is revoked: it no longer works anywhere.", b.notice())
	assert.Zero(t, b.count(`#new-token`), "the value is shown once")
	st, _ = s.call(t, http.MethodGet, "/api/v1/me", token, nil)
	assert.Equal(t, http.StatusUnauthorized, st)
	b.assertCSPClean()
}

package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConsoleSessionIdlesOutAndNextIsKeptSafe(t *testing.T) {
	s := startIssuer(t, dialects["sqlite"](t), map[string]string{"UI_IDLE_TIMEOUT": "2s"})
	registerUser(t, s, "idler")
	b := newBrowser()

	// Without a session the console sends the browser to sign in and back.
	p := b.get(t, s.base+"/ui/")
	require.Equal(t, "/ui/login", p.URL.Path)
	assert.Equal(t, "/ui/", p.URL.Query().Get("next"))
	home := b.submit(t, p, "/ui/login", map[string]string{"login": "idler", "password": testPass})
	require.Equal(t, http.StatusOK, home.Status, home.Body)
	assert.Equal(t, "/ui/", home.URL.Path)
	assert.Contains(t, home.Body, "idler@example.com")

	time.Sleep(2500 * time.Millisecond)
	idle := b.get(t, s.base+"/ui/")
	assert.Equal(t, "/ui/login", idle.URL.Path, "an idle browser is signed out")

	t.Run("next never leaves the console", func(t *testing.T) {
		for _, next := range []string{"https://evil.example/", "//evil.example/x", "/\\evil.example", "/api/v1/me", "javascript:alert(1)"} {
			fresh := newBrowser()
			form := fresh.get(t, s.base+"/ui/login?next="+url.QueryEscape(next))
			fresh.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			vals := url.Values{"csrf": {hiddenValue(form.Body, "csrf")}, "next": {next}, "login": {"idler"}, "password": {testPass}}
			res, err := fresh.c.PostForm(s.base+"/ui/login", vals)
			require.NoError(t, err)
			_ = res.Body.Close()
			require.Equal(t, http.StatusSeeOther, res.StatusCode)
			loc := res.Header.Get("Location")
			assert.True(t, strings.HasPrefix(loc, "/ui/") && !strings.HasPrefix(loc, "//"), "%q led to %q", next, loc)
		}
	})
}

package e2e

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/bootstrap"
)

var (
	consoleClientSecret = regexp.MustCompile(`<code id="client-secret">([^<]+)</code>`)
	consoleClientID     = regexp.MustCompile(`<code id="client-id">([^<]+)</code>`)
)

// clientsPost posts a form of p (its hidden fields plus form, which may
// repeat a name, as ticked checkboxes do) to action.
func (b *browser) clientsPost(t *testing.T, p page, action string, form url.Values) page {
	t.Helper()
	all := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(p.Body, -1) {
		all.Set(m[1], html.UnescapeString(m[2]))
	}
	for k, vs := range form {
		all[k] = vs
	}
	target := p.URL.ResolveReference(&url.URL{Path: action})
	res, err := b.c.PostForm(target.String(), all)
	require.NoError(t, err)
	return readPage(t, res)
}

func consoleMatch(t *testing.T, re *regexp.Regexp, p page) string {
	t.Helper()
	m := re.FindStringSubmatch(p.Body)
	require.NotNil(t, m, "%s not on the page:\n%s", re, p.Body)
	return html.UnescapeString(m[1])
}

func TestConsoleClients(t *testing.T) {
	forEachDialectIssuer(t, func(t *testing.T, s *server) {
		_, err := bootstrap.CreateAdmin(context.Background(), s.cfg, zap.NewNop(), application.RegisterInput{
			Email: "root@example.com", Username: "root", Password: testPass})
		require.NoError(t, err)
		registerUser(t, s, "plain")
		ctx := context.Background()

		b := adminConsoleSignIn(t, s, "root")
		list := b.get(t, s.base+"/ui/admin/clients")
		require.Equal(t, http.StatusOK, list.Status, list.Body)
		assert.Contains(t, list.Body, `<a href="/ui/admin/clients">Applications</a>`, "the navigation links the registry")
		assert.Contains(t, list.Body, "No application is registered.")
		adminAccessible(t, list)

		// A bad redirect URI is an error next to its field; what was typed stays.
		bad := b.clientsPost(t, list, "/ui/admin/clients", url.Values{"name": {"Portal"},
			"redirect_uris": {"javascript:alert(1)"}, "grant_types": {"authorization_code"}})
		require.Equal(t, http.StatusUnprocessableEntity, bad.Status, bad.Body)
		assert.Contains(t, bad.Body, `aria-describedby="client-redirects-error"`)
		assert.Contains(t, bad.Body, `id="client-redirects-error"`)
		assert.Contains(t, bad.Body, `value="Portal"`)
		assert.Contains(t, bad.Body, "javascript:alert(1)</textarea>")
		adminAccessible(t, bad)

		// A confidential machine client: its secret is shown once.
		created := b.clientsPost(t, bad, "/ui/admin/clients", url.Values{"name": {"Reports"},
			"grant_types": {"client_credentials"}})
		require.Equal(t, http.StatusCreated, created.Status, created.Body)
		assert.Contains(t, created.Body, "shown only this once")
		secret := consoleMatch(t, consoleClientSecret, created)
		id := consoleMatch(t, consoleClientID, created)
		require.NotEmpty(t, secret)
		adminAccessible(t, created)
		cc := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: s.base + "/oauth/token"}
		_, err = cc.Token(ctx)
		require.NoError(t, err, "the secret the page showed gets a token")

		list = b.get(t, s.base+"/ui/admin/clients")
		require.Equal(t, http.StatusOK, list.Status)
		assert.Contains(t, list.Body, id)
		assert.Contains(t, list.Body, "Confidential")
		assert.Contains(t, list.Body, "<code>client_credentials</code>")
		assert.NotContains(t, list.Body, secret, "a secret is shown once")
		detailPath := "/ui/admin/clients/" + id
		detail := b.get(t, s.base+detailPath)
		require.Equal(t, http.StatusOK, detail.Status, detail.Body)
		assert.NotContains(t, detail.Body, secret)
		assert.NotContains(t, detail.Body, `id="client-secret"`)
		adminAccessible(t, detail)

		// Rotating: the new secret shows once, the old one stops working.
		rotated := b.clientsPost(t, detail, detailPath+"/rotate-secret", nil)
		require.Equal(t, http.StatusOK, rotated.Status, rotated.Body)
		fresh := consoleMatch(t, consoleClientSecret, rotated)
		require.NotEqual(t, secret, fresh)
		_, err = cc.Token(ctx)
		require.Error(t, err, "the old secret no longer works")
		cc.ClientSecret = fresh
		_, err = cc.Token(ctx)
		require.NoError(t, err, "the new secret works")

		// Editing: a bad name is refused next to its field, a good one saved.
		edit := b.clientsPost(t, rotated, detailPath, url.Values{"name": {"  "}, "grant_types": {"client_credentials"}})
		require.Equal(t, http.StatusUnprocessableEntity, edit.Status, edit.Body)
		assert.Contains(t, edit.Body, `aria-describedby="client-name-error"`)
		edit = b.clientsPost(t, edit, detailPath, url.Values{"name": {"Nightly reports"}, "grant_types": {"client_credentials"}})
		require.Equal(t, http.StatusOK, edit.Status, edit.Body)
		assert.Equal(t, detailPath, edit.URL.Path)
		assert.Contains(t, edit.Body, "The application is saved.")
		assert.Contains(t, edit.Body, "<td>Nightly reports</td>")
		assert.NotContains(t, edit.Body, fresh)
		_, err = cc.Token(ctx)
		require.NoError(t, err, "the edit keeps the secret and the grant")

		// A public client has no secret to show or rotate.
		pub := b.clientsPost(t, edit, "/ui/admin/clients", url.Values{"name": {"SPA"}, "public": {"on"},
			"redirect_uris": {"https://spa.example/cb\n\nhttp://localhost:8080/cb\n"}, "grant_types": {"authorization_code", "refresh_token"}})
		require.Equal(t, http.StatusCreated, pub.Status, pub.Body)
		assert.NotContains(t, pub.Body, `id="client-secret"`)
		assert.NotContains(t, pub.Body, "Rotate secret")
		assert.Contains(t, pub.Body, "<code>http://localhost:8080/cb</code>")

		// Deleting asks for the box to be ticked.
		refused := b.clientsPost(t, edit, detailPath+"/delete", nil)
		require.Equal(t, http.StatusUnprocessableEntity, refused.Status, refused.Body)
		assert.Contains(t, refused.Body, `aria-describedby="delete-confirm-error"`)
		gone := b.clientsPost(t, refused, detailPath+"/delete", url.Values{"confirm": {"yes"}})
		require.Equal(t, http.StatusOK, gone.Status, gone.Body)
		assert.Equal(t, "/ui/admin/clients", gone.URL.Path)
		assert.Contains(t, gone.Body, "The application is deleted")
		assert.NotContains(t, gone.Body, id)
		assert.Contains(t, gone.Body, "SPA")
		_, err = cc.Token(ctx)
		require.Error(t, err, "a deleted client gets nothing")
		assert.Equal(t, http.StatusNotFound, b.get(t, s.base+detailPath).Status)

		t.Run("plain users get 403", func(t *testing.T) {
			plain := adminConsoleSignIn(t, s, "plain")
			home := plain.get(t, s.base+"/ui/account")
			require.Equal(t, http.StatusOK, home.Status)
			assert.NotContains(t, home.Body, `href="/ui/admin/clients"`)
			for _, path := range []string{"/ui/admin/clients", "/ui/admin/clients/" + id} {
				assert.Equal(t, http.StatusForbidden, plain.get(t, s.base+path).Status, path)
			}
			post := plain.clientsPost(t, home, "/ui/admin/clients", url.Values{"name": {"Mine"}, "grant_types": {"client_credentials"}})
			assert.Equal(t, http.StatusForbidden, post.Status, post.Body)
			post = plain.clientsPost(t, home, "/ui/admin/clients/x/rotate-secret", nil)
			assert.Equal(t, http.StatusForbidden, post.Status, post.Body)
		})

		t.Run("a post without the CSRF token is refused", func(t *testing.T) {
			res, err := b.c.PostForm(s.base+"/ui/admin/clients", url.Values{"name": {"Forged"}, "grant_types": {"client_credentials"}})
			require.NoError(t, err)
			p := readPage(t, res)
			assert.Contains(t, []int{http.StatusBadRequest, http.StatusForbidden}, p.Status, p.Body)
			assert.NotContains(t, b.get(t, s.base+"/ui/admin/clients").Body, "Forged")
		})
	})
}

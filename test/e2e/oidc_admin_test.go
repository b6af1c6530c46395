package e2e

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/bootstrap"
	"github.com/ums-project/ums/domain"
)

func TestOAuthClientRegistryIsForSystemAdmins(t *testing.T) {
	forEachDialectIssuer(t, func(t *testing.T, s *server) {
		_, err := bootstrap.CreateAdmin(context.Background(), s.cfg, zap.NewNop(), application.RegisterInput{
			Email: "root@example.com", Username: "root", Password: testPass})
		require.NoError(t, err)
		admin := login(t, s, "root", testPass)
		registerUser(t, s, "plain")
		user := login(t, s, "plain", testPass)

		spec := map[string]any{"name": "Reports", "grant_types": []string{"client_credentials"}}
		res := s.authed(t, http.MethodPost, "/api/v1/oauth/clients", user.AccessToken, spec)
		require.Equal(t, http.StatusForbidden, res.Status, "only a system admin registers clients")
		assert.Equal(t, "system_admin_required", res.JSON(t)["code"])

		for name, bad := range map[string]map[string]any{
			"script redirect":        {"name": "x", "redirect_uris": []string{"javascript:alert(1)"}},
			"fragment":               {"name": "x", "redirect_uris": []string{"https://app.example/cb#frag"}},
			"relative":               {"name": "x", "redirect_uris": []string{"/cb"}},
			"code without redirects": {"name": "x"},
			"public machine":         {"name": "x", "public": true, "grant_types": []string{"client_credentials"}},
			"unknown grant":          {"name": "x", "grant_types": []string{"password"}},
			"no name":                {"name": " ", "grant_types": []string{"client_credentials"}},
		} {
			res := s.authed(t, http.MethodPost, "/api/v1/oauth/clients", admin.AccessToken, bad)
			assert.Equal(t, http.StatusUnprocessableEntity, res.Status, "%s: %s", name, res.Body)
		}

		res = s.authed(t, http.MethodPost, "/api/v1/oauth/clients", admin.AccessToken, spec)
		require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
		created := res.JSON(t)
		id, secret := created["client_id"].(string), created["client_secret"].(string)
		require.NotEmpty(t, secret)
		cc := clientcredentials.Config{ClientID: id, ClientSecret: secret, TokenURL: s.base + "/oauth/token"}
		_, err = cc.Token(context.Background())
		require.NoError(t, err)

		list := s.authed(t, http.MethodGet, "/api/v1/oauth/clients", admin.AccessToken, nil)
		require.Equal(t, http.StatusOK, list.Status)
		assert.Contains(t, string(list.Body), id)
		assert.NotContains(t, string(list.Body), secret, "a secret is shown once")
		assert.NotContains(t, string(list.Body), "client_secret")

		res = s.authed(t, http.MethodPatch, "/api/v1/oauth/clients/"+id, admin.AccessToken, map[string]any{"name": "Nightly reports"})
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		assert.Equal(t, "Nightly reports", res.JSON(t)["name"])
		assert.Equal(t, []any{"client_credentials"}, res.JSON(t)["grant_types"], "a patch changes only what it names")

		res = s.authed(t, http.MethodPost, "/api/v1/oauth/clients/"+id+"/rotate-secret", admin.AccessToken, nil)
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		fresh := res.JSON(t)["client_secret"].(string)
		_, err = cc.Token(context.Background())
		require.Error(t, err, "the old secret stops working at once")
		cc.ClientSecret = fresh
		_, err = cc.Token(context.Background())
		require.NoError(t, err)

		assert.Equal(t, http.StatusNoContent, s.authed(t, http.MethodDelete, "/api/v1/oauth/clients/"+id, admin.AccessToken, nil).Status)
		assert.Equal(t, http.StatusNotFound, s.authed(t, http.MethodGet, "/api/v1/oauth/clients/"+id, admin.AccessToken, nil).Status)
		_, err = cc.Token(context.Background())
		require.Error(t, err, "a deleted client gets nothing")

		events, err := auditLog(s).Recent(context.Background(), 50)
		require.NoError(t, err)
		acts := actionsOf(events)
		for _, a := range []string{domain.ActionOAuthClientCreated, domain.ActionOAuthClientUpdated, domain.ActionOAuthSecretRotated,
			domain.ActionOAuthClientDeleted, domain.ActionOAuthClientAuthFails} {
			assert.Contains(t, acts, a)
		}
	})
}

func TestThirdPartyClientsAskConsentOnceAndItCanBeWithdrawn(t *testing.T) {
	forEachDialectIssuer(t, func(t *testing.T, s *server) {
		registerUser(t, s, "consenter")
		party, clientID, _ := newRelyingParty(t, s, false, false, "openid", "email", "orgs")
		b := newBrowser()

		p := b.get(t, party.srv.URL+"/login")
		consent := b.submit(t, p, "/ui/login", map[string]string{"login": "consenter", "password": testPass})
		require.Equal(t, http.StatusOK, consent.Status, consent.Body)
		require.Contains(t, consent.Body, "Allow access?")
		assert.Contains(t, consent.Body, "See your email address")
		assert.Contains(t, consent.Body, "See your organizations")

		// Refusing sends the user back with access_denied.
		var denied *url.URL
		b.c.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
			if strings.HasPrefix(req.URL.String(), party.srv.URL+"/callback") {
				denied = req.URL
				return http.ErrUseLastResponse
			}
			return nil
		}
		_ = b.submit(t, consent, "/ui/consent", map[string]string{"decision": "deny"})
		require.NotNil(t, denied)
		assert.Equal(t, "access_denied", denied.Query().Get("error"))
		b.c.CheckRedirect = nil

		p = b.get(t, party.srv.URL+"/login")
		require.Contains(t, p.Body, "Allow access?", "the browser is signed in, consent is still missing")
		done := b.submit(t, p, "/ui/consent", map[string]string{"decision": "allow"})
		require.Equal(t, "signed in", done.Body)
		require.NotNil(t, party.taken())

		again := b.get(t, party.srv.URL+"/login")
		assert.Equal(t, "signed in", again.Body, "consent is remembered for the same scopes")
		party.taken()

		api := login(t, s, "consenter", testPass)
		res := s.authed(t, http.MethodGet, "/api/v1/me/consents", api.AccessToken, nil)
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		assert.Contains(t, string(res.Body), clientID)
		assert.Contains(t, string(res.Body), "Portal")
		res = s.authed(t, http.MethodDelete, "/api/v1/me/consents/"+clientID, api.AccessToken, nil)
		require.Equal(t, http.StatusNoContent, res.Status, string(res.Body))
		assert.Equal(t, http.StatusNotFound, s.authed(t, http.MethodDelete, "/api/v1/me/consents/"+clientID, api.AccessToken, nil).Status)

		p = b.get(t, party.srv.URL+"/login")
		assert.Contains(t, p.Body, "Allow access?", "a withdrawn consent is asked again")

		events, err := auditLog(s).Recent(context.Background(), 50)
		require.NoError(t, err)
		acts := actionsOf(events)
		assert.Contains(t, acts, domain.ActionOAuthConsentGranted)
		assert.Contains(t, acts, domain.ActionOAuthConsentRevoked)
		assert.Contains(t, acts, domain.ActionOAuthTokenIssued)
	})
}

func TestSignInPageHardening(t *testing.T) {
	s := startIssuer(t, dialects["sqlite"](t), nil)
	registerUser(t, s, "hardened")
	b := newBrowser()
	p := b.get(t, s.base+"/ui/login")
	require.Equal(t, http.StatusOK, p.Status)

	res, err := b.c.Get(s.base + "/ui/login")
	require.NoError(t, err)
	_ = res.Body.Close()
	csp := res.Header.Get("Content-Security-Policy")
	assert.Contains(t, csp, "frame-ancestors 'none'")
	assert.Contains(t, csp, "script-src 'self'", "scripts only from the console's own files")
	assert.NotContains(t, csp, "unsafe-inline", "no inline script or style")
	assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))

	t.Run("a cross-site post without the CSRF token is refused", func(t *testing.T) {
		other := newBrowser()
		res, err := other.c.PostForm(s.base+"/ui/login", url.Values{"login": {"hardened"}, "password": {testPass}})
		require.NoError(t, err)
		_ = res.Body.Close()
		assert.Contains(t, []int{http.StatusBadRequest, http.StatusForbidden}, res.StatusCode, "refused without the token")
		for _, c := range res.Cookies() {
			assert.NotEqual(t, "ums_session", c.Name, "no session without the token")
		}
		// A token from another browser's cookie does not help either.
		res, err = other.c.PostForm(s.base+"/ui/login", url.Values{"login": {"hardened"}, "password": {testPass},
			"csrf": {hiddenValue(p.Body, "csrf")}})
		require.NoError(t, err)
		_ = res.Body.Close()
		assert.Equal(t, http.StatusForbidden, res.StatusCode)
	})

	t.Run("the session cookie is HttpOnly and SameSite=Lax", func(t *testing.T) {
		form := url.Values{"login": {"hardened"}, "password": {testPass}, "csrf": {hiddenValue(p.Body, "csrf")}}
		b.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		res, err := b.c.PostForm(s.base+"/ui/login", form)
		require.NoError(t, err)
		_ = res.Body.Close()
		require.Equal(t, http.StatusSeeOther, res.StatusCode)
		var found bool
		for _, c := range res.Cookies() {
			if c.Name == "ums_session" {
				found = true
				assert.True(t, c.HttpOnly)
				assert.Equal(t, http.SameSiteLaxMode, c.SameSite)
				assert.True(t, c.Expires.After(time.Now()))
			}
		}
		assert.True(t, found)
	})

	t.Run("sign-in posts count against the login lockout", func(t *testing.T) {
		fresh := newBrowser()
		form := fresh.get(t, s.base+"/ui/login")
		last := form
		for range 12 {
			last = fresh.submit(t, last, "/ui/login", map[string]string{"login": "hardened", "password": "wrong password!"})
		}
		assert.Equal(t, http.StatusTooManyRequests, last.Status, last.Body)
		assert.Contains(t, last.Body, "Too many attempts")
	})
}

func hiddenValue(body, name string) string {
	for _, m := range hiddenInput.FindAllStringSubmatch(body, -1) {
		if m[1] == name {
			return m[2]
		}
	}
	return ""
}

package e2e

import (
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/domain"
)

// hostileValues are what attackers and broken clients send.
var hostileValues = []string{
	"", "\x00", "a\x00b", "\xff\xfe", strings.Repeat("A", 70000), "' OR 1=1 --", "<script>alert(1)</script>",
	"../../etc/passwd", "%00", "\u202e", "😀", "-1", "99999999999999999999", "null", "[]", "{}",
	"01a21cf9-2b50-7023-93dd-13997ae33cbf", " ", "\r\nSet-Cookie: x=1",
}

// TestOIDCEndpointsAnswerHostileInputWithoutServerErrors throws garbage at
// every provider endpoint and form, on both stores: a 4xx or a redirect,
// never a 5xx.
func TestOIDCEndpointsAnswerHostileInputWithoutServerErrors(t *testing.T) {
	forEachDialectIssuer(t, func(t *testing.T, s *server) {
		registerUser(t, s, "hostile")
		party, clientID, secret := newRelyingParty(t, s, false, true, "openid")
		_ = party
		machine, machineSecret := createClient(t, s, domain.OAuthClientSpec{Name: "m", GrantTypes: []string{domain.GrantClientCredentials}})
		b := newBrowser()
		login := b.get(t, s.base+"/ui/login")
		csrf := hiddenValue(login.Body, "csrf")
		noRedirect := &http.Client{Timeout: 10 * time.Second, Jar: b.c.Jar,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		rng := rand.New(rand.NewPCG(1, 2))
		pick := func() string { return hostileValues[rng.IntN(len(hostileValues))] }
		check := func(res *http.Response, err error, what string) {
			t.Helper()
			require.NoError(t, err, what)
			_ = res.Body.Close()
			assert.Less(t, res.StatusCode, 500, what)
		}
		for i := range 60 {
			q := url.Values{"client_id": {pick()}, "response_type": {pick()}, "scope": {pick()}, "redirect_uri": {pick()},
				"state": {pick()}, "nonce": {pick()}, "code_challenge": {pick()}, "code_challenge_method": {pick()},
				"prompt": {pick()}, "max_age": {pick()}, "login_hint": {pick()}, "request": {pick()}}
			if i%2 == 0 {
				q.Set("client_id", clientID)
				q.Set("redirect_uri", party.srv.URL+"/callback")
			}
			u := s.base + "/oauth/authorize?" + q.Encode()
			if len(u) < 60000 {
				res, err := noRedirect.Get(u)
				check(res, err, "authorize "+q.Encode()[:min(80, len(q.Encode()))])
			}
			for _, ep := range []string{"/oauth/token", "/oauth/introspect", "/oauth/revoke", "/oauth/userinfo", "/oauth/end_session"} {
				form := url.Values{"grant_type": {pick()}, "code": {pick()}, "refresh_token": {pick()}, "token": {pick()},
					"redirect_uri": {pick()}, "code_verifier": {pick()}, "client_id": {pick()}, "id_token_hint": {pick()},
					"post_logout_redirect_uri": {pick()}, "scope": {pick()}}
				req, _ := http.NewRequest(http.MethodPost, s.base+ep, strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				switch i % 3 {
				case 0:
					req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret))
				case 1:
					req.SetBasicAuth(url.QueryEscape(machine), url.QueryEscape(machineSecret))
				default:
					req.Header.Set("Authorization", "Bearer "+url.QueryEscape(pick()))
				}
				res, err := noRedirect.Do(req)
				check(res, err, ep)
			}
			for _, page := range []string{"/ui/login", "/ui/login/mfa", "/ui/consent"} {
				form := url.Values{"csrf": {csrf}, "login": {pick()}, "password": {pick()}, "auth_request": {pick()},
					"mfa_ticket": {pick()}, "mfa_code": {pick()}, "decision": {pick()}, "next": {pick()}}
				res, err := noRedirect.PostForm(s.base+page, form)
				check(res, err, page)
			}
			res, err := noRedirect.Get(s.base + "/ui/login?" + url.Values{"auth_request": {pick()}, "next": {pick()}}.Encode())
			check(res, err, "login page")
		}
	})
}

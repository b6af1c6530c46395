package browser

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zitadel/oidc/v3/pkg/client/rp"
	httphelper "github.com/zitadel/oidc/v3/pkg/http"
	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/ums-project/ums/domain"
)

// relyingParty is a client application on the certified zitadel RP
// library: /login sends the browser to UMS, /callback exchanges the code
// (with PKCE), verifies the ID token and greets the user.
type relyingParty struct {
	srv *httptest.Server
	mu  sync.Mutex
	tk  *oidc.Tokens[*oidc.IDTokenClaims]
}

func newRelyingParty(t *testing.T, s *server) *relyingParty {
	t.Helper()
	r := &relyingParty{}
	mux := http.NewServeMux()
	r.srv = httptest.NewServer(mux)
	t.Cleanup(r.srv.Close)
	callback := r.srv.URL + "/callback"
	id, secret := createClient(t, s, domain.OAuthClientSpec{Name: "Portal", FirstParty: true,
		RedirectURIs: []string{callback},
		GrantTypes:   []string{domain.GrantAuthorizationCode, domain.GrantRefreshToken}})
	key := []byte("0123456789abcdef0123456789abcdef")
	cookies := httphelper.NewCookieHandler(key, key, httphelper.WithUnsecure())
	party, err := rp.NewRelyingPartyOIDC(context.Background(), s.base, id, secret, callback,
		[]string{"openid", "profile", "email"}, rp.WithPKCE(cookies))
	require.NoError(t, err)
	mux.Handle("/login", rp.AuthURLHandler(func() string { return fmt.Sprintf("state-%d", time.Now().UnixNano()) }, party))
	mux.Handle("/callback", rp.CodeExchangeHandler(func(w http.ResponseWriter, _ *http.Request,
		tk *oidc.Tokens[*oidc.IDTokenClaims], _ string, _ rp.RelyingParty) {
		r.mu.Lock()
		r.tk = tk
		r.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Portal</title></head>`+
			`<body><h1 id="signed-in">Signed in as %s</h1><p>Authentication methods: %s</p></body></html>`,
			html.EscapeString(tk.IDTokenClaims.Email),
			html.EscapeString(strings.Join(tk.IDTokenClaims.AuthenticationMethodsReferences, ", ")))
	}, party))
	return r
}

func (r *relyingParty) tokens() *oidc.Tokens[*oidc.IDTokenClaims] {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tk
}

func TestBrowserSignsInWithPasswordAndTOTPAndLandsOnTheClientsCallback(t *testing.T) {
	requireChromium(t)
	shots := screenshots(t)
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			s := startIssuer(t, d.url(t))
			uid := registerUser(t, s, "browseruser")
			secret := enableTOTP(t, s, login(t, s, "browseruser"))
			party := newRelyingParty(t, s)

			// The sign-in page carries a Content-Security-Policy.
			res, err := s.client.Get(s.base + "/ui/login")
			require.NoError(t, err)
			_ = res.Body.Close()
			require.Equal(t, http.StatusOK, res.StatusCode)
			assert.Contains(t, res.Header.Get("Content-Security-Policy"), "default-src 'none'")
			assert.Contains(t, res.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'")

			ctx := newChromium(t, 90*time.Second)
			console := watchConsole(ctx)

			// Password.
			require.NoError(t, chromedp.Do(ctx,
				chromedp.Navigate(party.srv.URL+"/login"),
				chromedp.WaitVisible(chromedp.CSS(`input[name=login]`)),
			))
			loc, err := chromedp.Run(ctx, chromedp.Location())
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(loc, s.base+"/ui/login"), "the RP sent the browser to the sign-in page: %s", loc)
			title, err := chromedp.Run(ctx, chromedp.Title())
			require.NoError(t, err)
			assert.Equal(t, "Sign in · UMS", title)
			card, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
			require.NoError(t, err)
			assert.Contains(t, card, "Portal", "the page names the client")
			screenshot(t, ctx, shots, d.name+"-1-sign-in")
			require.NoError(t, chromedp.Do(ctx,
				chromedp.SendKeys(chromedp.CSS(`input[name=login]`), "browseruser"),
				chromedp.SendKeys(chromedp.CSS(`input[name=password]`), testPass),
				chromedp.Click(chromedp.CSS(`main form button[type=submit]`)),
			))

			// Second factor: a wrong code first, then the right one.
			require.NoError(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`input[name=mfa_code]`))))
			loc, err = chromedp.Run(ctx, chromedp.Location())
			require.NoError(t, err)
			assert.Equal(t, s.base+"/ui/login", loc, "the password form posted to UMS")
			screenshot(t, ctx, shots, d.name+"-2-mfa")
			require.NoError(t, chromedp.Do(ctx,
				chromedp.SendKeys(chromedp.CSS(`input[name=mfa_code]`), "000000"),
				chromedp.Click(chromedp.CSS(`main form button[type=submit]`)),
				chromedp.WaitVisible(chromedp.CSS(`p.error`)),
				chromedp.WaitVisible(chromedp.CSS(`input[name=mfa_code]`)),
			))
			errText, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`p.error`)))
			require.NoError(t, err)
			assert.NotEmpty(t, strings.TrimSpace(errText))
			screenshot(t, ctx, shots, d.name+"-3-mfa-wrong-code")

			code, err := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
			require.NoError(t, err)
			require.NoError(t, chromedp.Do(ctx,
				chromedp.SendKeys(chromedp.CSS(`input[name=mfa_code]`), code),
				chromedp.Click(chromedp.CSS(`main form button[type=submit]`)),
				chromedp.WaitVisible(chromedp.ID(`signed-in`)),
			))

			// The client's callback.
			loc, err = chromedp.Run(ctx, chromedp.Location())
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(loc, party.srv.URL+"/callback?"), "landed on the RP's callback: %s", loc)
			body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`body`)))
			require.NoError(t, err)
			assert.Contains(t, body, "Signed in as browseruser@example.com")
			screenshot(t, ctx, shots, d.name+"-4-landed")

			tk := party.tokens()
			require.NotNil(t, tk, "the RP library exchanged the code and verified the ID token")
			assert.Equal(t, uid, tk.IDTokenClaims.Subject)
			amr := []string(tk.IDTokenClaims.AuthenticationMethodsReferences)
			assert.Contains(t, amr, "otp", "amr: %v", amr)
			assert.Contains(t, amr, "pwd", "amr: %v", amr)

			// UMS's browser session cookie.
			got, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{s.base + "/ui/login"}})
			require.NoError(t, err)
			i := slices.IndexFunc(got.Cookies, func(c *network.Cookie) bool {
				return c.Name == "ums_session" || c.Name == "__Host-ums_session"
			})
			require.GreaterOrEqual(t, i, 0, "UMS set its session cookie: %v", cookieNames(got.Cookies))
			session := got.Cookies[i]
			assert.True(t, session.HTTPOnly, "the session cookie is HttpOnly")
			assert.Equal(t, network.CookieSameSiteLax, session.SameSite, "the session cookie is SameSite=Lax")
			assert.Equal(t, "/", session.Path)

			for _, m := range console.all() {
				t.Logf("console %s (%s): %s %s", m.Type, m.Source, m.Text, m.URL)
				assert.NotContains(t, m.Text, "Content Security Policy", "the pages break no rule of their own CSP")
			}
		})
	}
}

func cookieNames(cs []*network.Cookie) []string {
	var names []string
	for _, c := range cs {
		names = append(names, c.Name)
	}
	return names
}

package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zitadel/oidc/v3/pkg/client/rp"
	"github.com/zitadel/oidc/v3/pkg/client/rs"
	httphelper "github.com/zitadel/oidc/v3/pkg/http"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"go.uber.org/zap"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/bootstrap"
	"github.com/ums-project/ums/domain"
)

// startIssuer starts a server whose PUBLIC_URL is its own address, as a
// provider's issuer must be.
func startIssuer(t *testing.T, dbURL string, env map[string]string) *server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	vars := map[string]string{"HTTP_ADDR": addr, "PUBLIC_URL": "http://" + addr}
	for k, v := range env {
		vars[k] = v
	}
	return startServer(t, dbURL, vars)
}

// createClient registers a client the way the CLI does.
func createClient(t *testing.T, s *server, spec domain.OAuthClientSpec) (string, string) {
	t.Helper()
	var id, secret string
	err := bootstrap.WithOAuthClients(context.Background(), s.cfg, zap.NewNop(), func(oc *application.OAuthClients) error {
		c, sec, err := oc.Create(context.Background(), nil, spec)
		id, secret = c.ID, sec
		return err
	})
	require.NoError(t, err)
	return id, secret
}

// relyingParty is a client application built on the certified RP library:
// it starts sign-ins at /login and receives the code at /callback.
type relyingParty struct {
	rp     rp.RelyingParty
	srv    *httptest.Server
	nonce  atomic.Value
	mu     sync.Mutex
	tokens *oidc.Tokens[*oidc.IDTokenClaims]
}

func newRelyingParty(t *testing.T, s *server, public bool, firstParty bool, scopes ...string) (*relyingParty, string, string) {
	t.Helper()
	r := &relyingParty{}
	r.nonce.Store("")
	mux := http.NewServeMux()
	r.srv = httptest.NewServer(mux)
	t.Cleanup(r.srv.Close)
	id, secret := createClient(t, s, domain.OAuthClientSpec{Name: "Portal", Public: public, FirstParty: firstParty,
		RedirectURIs: []string{r.srv.URL + "/callback"}, PostLogoutRedirectURIs: []string{r.srv.URL + "/bye"},
		GrantTypes: []string{domain.GrantAuthorizationCode, domain.GrantRefreshToken}})
	key := []byte("0123456789abcdef0123456789abcdef")
	cookies := httphelper.NewCookieHandler(key, key, httphelper.WithUnsecure())
	party, err := rp.NewRelyingPartyOIDC(context.Background(), s.base, id, secret, r.srv.URL+"/callback", scopes,
		rp.WithPKCE(cookies), rp.WithVerifierOpts(rp.WithNonce(func(context.Context) string { return r.nonce.Load().(string) })))
	require.NoError(t, err)
	r.rp = party
	mux.Handle("/login", rp.AuthURLHandler(func() string { return "state-" + time.Now().Format("150405.000") }, party,
		func() []oauth2.AuthCodeOption {
			if n := r.nonce.Load().(string); n != "" {
				return []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("nonce", n)}
			}
			return nil
		}))
	mux.Handle("/callback", rp.CodeExchangeHandler(func(w http.ResponseWriter, req *http.Request,
		tk *oidc.Tokens[*oidc.IDTokenClaims], _ string, _ rp.RelyingParty) {
		r.mu.Lock()
		r.tokens = tk
		r.mu.Unlock()
		_, _ = io.WriteString(w, "signed in")
	}, party))
	mux.HandleFunc("/bye", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "bye") })
	return r, id, secret
}

func (r *relyingParty) taken() *oidc.Tokens[*oidc.IDTokenClaims] {
	r.mu.Lock()
	defer r.mu.Unlock()
	tk := r.tokens
	r.tokens = nil
	return tk
}

// browser is a cookie-keeping HTTP client that submits forms as a person
// would.
type browser struct{ c *http.Client }

func newBrowser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{c: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

type page struct {
	URL    *url.URL
	Status int
	Body   string
}

func (b *browser) get(t *testing.T, u string) page {
	t.Helper()
	res, err := b.c.Get(u)
	require.NoError(t, err)
	return readPage(t, res)
}

func readPage(t *testing.T, res *http.Response) page {
	t.Helper()
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return page{URL: res.Request.URL, Status: res.StatusCode, Body: string(body)}
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

// submit posts the page's form with its hidden fields and the given ones.
func (b *browser) submit(t *testing.T, p page, action string, fields map[string]string) page {
	t.Helper()
	form := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(p.Body, -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	for k, v := range fields {
		form.Set(k, v)
	}
	target := p.URL.ResolveReference(&url.URL{Path: action})
	res, err := b.c.PostForm(target.String(), form)
	require.NoError(t, err)
	return readPage(t, res)
}

func claimsOf(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	require.Len(t, parts, 3)
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

func TestOIDCCodeFlowWithPKCEThroughTheSignInPage(t *testing.T) {
	for name, url := range dialects {
		t.Run(name, func(t *testing.T) {
			s := startIssuer(t, url(t), nil)
			uid := registerUser(t, s, "oidcuser")
			party, clientID, secret := newRelyingParty(t, s, false, true, "openid", "profile", "email", "offline_access", "orgs")
			party.nonce.Store("n-0S6_WzA2Mj")
			b := newBrowser()

			p := b.get(t, party.srv.URL+"/login")
			require.Equal(t, http.StatusOK, p.Status, p.Body)
			require.Equal(t, "/ui/login", p.URL.Path)
			assert.Contains(t, p.Body, `name="login"`)
			assert.Contains(t, p.Body, `name="password"`)
			assert.Contains(t, p.Body, "Portal")

			wrong := b.submit(t, p, "/ui/login", map[string]string{"login": "oidcuser", "password": "not the password"})
			assert.Equal(t, http.StatusUnauthorized, wrong.Status)
			unknown := b.submit(t, p, "/ui/login", map[string]string{"login": "nobody-here", "password": "not the password"})
			assert.Equal(t, http.StatusUnauthorized, unknown.Status)
			assert.Equal(t, errorText(wrong.Body), errorText(unknown.Body), "the page never tells whether an account exists")

			done := b.submit(t, wrong, "/ui/login", map[string]string{"login": "oidcuser", "password": testPass})
			require.Equal(t, http.StatusOK, done.Status, done.Body)
			require.Equal(t, "signed in", done.Body)
			tk := party.taken()
			require.NotNil(t, tk, "the RP library verified the ID token from discovery alone")
			claims := tk.IDTokenClaims
			assert.Equal(t, uid, claims.Subject)
			assert.Equal(t, "oidcuser@example.com", claims.Email)
			assert.True(t, bool(claims.EmailVerified) || !bool(claims.EmailVerified))
			assert.Equal(t, "Ada Lovelace", claims.Name)
			assert.Equal(t, []string{"pwd"}, []string(claims.AuthenticationMethodsReferences))
			assert.Equal(t, "n-0S6_WzA2Mj", claims.Nonce)
			assert.False(t, claims.AuthTime.AsTime().IsZero())
			assert.Contains(t, claims.Claims, "orgs")
			require.NotEmpty(t, tk.RefreshToken)
			assert.Equal(t, "RS256", jwtHeader(t, tk.IDToken)["alg"], "the algorithm every OpenID client takes by default")

			// A client's refresh token never buys an API token (it would
			// carry every right of the user), nor the reverse.
			res, _ := refresh(t, s, tk.RefreshToken)
			assert.Equal(t, http.StatusUnauthorized, res.Status, "a client's refresh token at the API")
			apiTokens := login(t, s, "oidcuser", testPass)
			party.nonce.Store("")
			_, err := rp.RefreshTokens[*oidc.IDTokenClaims](context.Background(), party.rp, apiTokens.RefreshToken, "", "")
			require.Error(t, err, "an API refresh token at the token endpoint")
			party.nonce.Store("n-0S6_WzA2Mj")

			// userinfo with the access token
			var info *oidc.UserInfo
			info, err = rp.Userinfo[*oidc.UserInfo](context.Background(), tk.AccessToken, "Bearer", uid, party.rp)
			require.NoError(t, err)
			assert.Equal(t, "oidcuser@example.com", info.Email)

			// A second client signs in without a prompt: the browser session.
			other, _, _ := newRelyingParty(t, s, false, true, "openid", "email")
			again := b.get(t, other.srv.URL+"/login")
			require.Equal(t, "signed in", again.Body, "a second client rides the browser session")
			require.NotNil(t, other.taken())

			// prompt=login forces the form although the browser is signed in.
			forced := b.get(t, rp.AuthURL("st", party.rp, rp.WithPrompt("login"),
				rp.WithCodeChallenge(oidc.NewSHACodeChallenge("verifier-verifier-verifier-verifier-verifier"))))
			assert.Equal(t, "/ui/login", forced.URL.Path)
			assert.Contains(t, forced.Body, `name="password"`)

			// max_age older than the browser's sign-in asks again, with the
			// login_hint filled in.
			time.Sleep(1100 * time.Millisecond)
			aged := b.get(t, rp.AuthURL("st", party.rp,
				rp.WithCodeChallenge(oidc.NewSHACodeChallenge("verifier-verifier-verifier-verifier-verifier")),
				func() []oauth2.AuthCodeOption {
					return []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("max_age", "1"),
						oauth2.SetAuthURLParam("login_hint", "oidcuser@example.com")}
				}))
			assert.Equal(t, "/ui/login", aged.URL.Path)
			assert.Contains(t, aged.Body, `value="oidcuser@example.com"`)

			// Refresh rotates; the spent token is reuse and kills the session.
			party.nonce.Store("")
			next, err := rp.RefreshTokens[*oidc.IDTokenClaims](context.Background(), party.rp, tk.RefreshToken, "", "")
			require.NoError(t, err)
			require.NotEmpty(t, next.RefreshToken)
			assert.NotEqual(t, tk.RefreshToken, next.RefreshToken)
			_, err = rp.RefreshTokens[*oidc.IDTokenClaims](context.Background(), party.rp, tk.RefreshToken, "", "")
			require.Error(t, err, "a spent refresh token is refused")
			_, err = rp.RefreshTokens[*oidc.IDTokenClaims](context.Background(), party.rp, next.RefreshToken, "", "")
			require.Error(t, err, "reuse revoked the whole session")

			// Introspection sees the revocation too.
			introspector, err := rs.NewResourceServerClientCredentials(context.Background(), s.base, clientID, secret)
			require.NoError(t, err)
			resp, err := rs.Introspect[*oidc.IntrospectionResponse](context.Background(), introspector, next.AccessToken)
			require.NoError(t, err)
			assert.False(t, resp.Active, "an access token of a revoked session is inactive")
		})
	}
}

func errorText(body string) string {
	m := regexp.MustCompile(`<p class="error"[^>]*>([^<]*)</p>`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

func jwtHeader(t *testing.T, jwt string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(jwt, ".")[0])
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}

// signIn runs the whole browser sign-in for party and returns its tokens.
func signIn(t *testing.T, b *browser, party *relyingParty, login string) *oidc.Tokens[*oidc.IDTokenClaims] {
	t.Helper()
	p := b.get(t, party.srv.URL+"/login")
	if p.Body != "signed in" {
		p = b.submit(t, p, "/ui/login", map[string]string{"login": login, "password": testPass})
	}
	require.Equal(t, "signed in", p.Body)
	tk := party.taken()
	require.NotNil(t, tk)
	return tk
}

func TestOIDCSignInWithTOTPCarriesMFAClaims(t *testing.T) {
	forEachDialectIssuer(t, func(t *testing.T, s *server) {
		registerUser(t, s, "mfauser")
		api := login(t, s, "mfauser", testPass)
		secret := enableTOTP(t, s, api.AccessToken, testPass)
		party, _, _ := newRelyingParty(t, s, true, true, "openid", "email")
		b := newBrowser()

		p := b.get(t, party.srv.URL+"/login")
		mfa := b.submit(t, p, "/ui/login", map[string]string{"login": "mfauser", "password": testPass})
		require.Equal(t, http.StatusOK, mfa.Status, mfa.Body)
		require.Contains(t, mfa.Body, `name="mfa_code"`)
		require.NotContains(t, mfa.Body, testPass, "the password never travels back to the page")

		bad := b.submit(t, mfa, "/ui/login/mfa", map[string]string{"mfa_code": "000000"})
		assert.Equal(t, http.StatusUnauthorized, bad.Status)
		require.Contains(t, bad.Body, `name="mfa_code"`)

		code, err := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
		require.NoError(t, err)
		done := b.submit(t, bad, "/ui/login/mfa", map[string]string{"mfa_code": code})
		require.Equal(t, "signed in", done.Body, done.Body)
		tk := party.taken()
		require.NotNil(t, tk)
		assert.ElementsMatch(t, []string{"pwd", "otp", "mfa"}, []string(tk.IDTokenClaims.AuthenticationMethodsReferences))
		assert.Equal(t, "http://schemas.openid.net/pape/policies/2007/06/multi-factor", tk.IDTokenClaims.AuthenticationContextClassReference)
	})
}

// forEachDialectIssuer is forEachDialect with servers that are issuers.
func forEachDialectIssuer(t *testing.T, fn func(t *testing.T, s *server)) {
	for name, url := range dialects {
		t.Run(name, func(t *testing.T) { fn(t, startIssuer(t, url(t), nil)) })
	}
}

func TestOIDCRefusesBadRequests(t *testing.T) {
	forEachDialectIssuer(t, func(t *testing.T, s *server) {
		registerUser(t, s, "refused")
		party, clientID, secret := newRelyingParty(t, s, false, true, "openid")
		noRedirect := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
		authorize := func(q url.Values) *http.Response {
			res, err := noRedirect.Get(s.base + "/oauth/authorize?" + q.Encode())
			require.NoError(t, err)
			_ = res.Body.Close()
			return res
		}
		base := func() url.Values {
			return url.Values{"client_id": {clientID}, "response_type": {"code"}, "scope": {"openid"},
				"redirect_uri": {party.srv.URL + "/callback"}, "state": {"xyz"},
				"code_challenge":        {oauth2.S256ChallengeFromVerifier("verifier-verifier-verifier-verifier-verifier")},
				"code_challenge_method": {"S256"}}
		}
		t.Run("a redirect URI that is not registered exactly is never redirected to", func(t *testing.T) {
			for _, uri := range []string{party.srv.URL + "/callback/", party.srv.URL + "/callback?x=1", "https://evil.example/callback"} {
				q := base()
				q.Set("redirect_uri", uri)
				res := authorize(q)
				assert.Equal(t, http.StatusBadRequest, res.StatusCode, uri)
				assert.Empty(t, res.Header.Get("Location"))
			}
		})
		t.Run("PKCE is required, and only S256", func(t *testing.T) {
			q := base()
			q.Del("code_challenge")
			q.Del("code_challenge_method")
			res := authorize(q)
			require.Equal(t, http.StatusFound, res.StatusCode)
			loc, _ := url.Parse(res.Header.Get("Location"))
			assert.Equal(t, "invalid_request", loc.Query().Get("error"))
			assert.Equal(t, "xyz", loc.Query().Get("state"))
			q = base()
			q.Set("code_challenge_method", "plain")
			res = authorize(q)
			loc, _ = url.Parse(res.Header.Get("Location"))
			assert.Equal(t, "invalid_request", loc.Query().Get("error"))
		})
		t.Run("request objects, alg=none included, are refused", func(t *testing.T) {
			header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))
			body := base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"` + clientID + `","aud":"` + s.base + `","client_id":"` + clientID + `","redirect_uri":"https://evil.example/cb"}`))
			q := base()
			q.Set("request", header+"."+body+".")
			res := authorize(q)
			loc, _ := url.Parse(res.Header.Get("Location"))
			require.NotNil(t, loc)
			assert.Equal(t, "request_not_supported", loc.Query().Get("error"))
			assert.True(t, strings.HasPrefix(loc.String(), party.srv.URL+"/callback"), "never the request object's redirect")
		})
		t.Run("prompt=none without a browser session is login_required", func(t *testing.T) {
			b := newBrowser()
			b.c.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
				if strings.HasPrefix(req.URL.String(), party.srv.URL) {
					return http.ErrUseLastResponse
				}
				return nil
			}
			q := base()
			q.Set("prompt", "none")
			res, err := b.c.Get(s.base + "/oauth/authorize?" + q.Encode())
			require.NoError(t, err)
			_ = res.Body.Close()
			loc, _ := url.Parse(res.Header.Get("Location"))
			require.NotNil(t, loc)
			assert.Equal(t, "login_required", loc.Query().Get("error"))
		})
		t.Run("a code is single-use, needs its verifier and the right secret", func(t *testing.T) {
			b := newBrowser()
			var code string
			b.c.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
				if strings.HasPrefix(req.URL.String(), party.srv.URL+"/callback") {
					code = req.URL.Query().Get("code")
					return http.ErrUseLastResponse
				}
				return nil
			}
			verifier := "verifier-verifier-verifier-verifier-verifier"
			p := b.get(t, s.base+"/oauth/authorize?"+base().Encode())
			_ = b.submit(t, p, "/ui/login", map[string]string{"login": "refused", "password": testPass})
			require.NotEmpty(t, code)
			exchange := func(id, sec, verifier string) (int, map[string]any) {
				form := url.Values{"grant_type": {"authorization_code"}, "code": {code},
					"redirect_uri": {party.srv.URL + "/callback"}, "code_verifier": {verifier}}
				req, _ := http.NewRequest(http.MethodPost, s.base+"/oauth/token", strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(sec))
				res, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				defer res.Body.Close()
				var m map[string]any
				_ = json.NewDecoder(res.Body).Decode(&m)
				return res.StatusCode, m
			}
			st, m := exchange(clientID, "wrong-secret", verifier)
			assert.GreaterOrEqual(t, st, 400, "a wrong client secret is refused")
			assert.NotContains(t, m, "access_token")
			// The code was spent by the refused attempt: codes are burnt on
			// first presentation, so a replay never works either.
			st, m = exchange(clientID, secret, verifier)
			assert.Equal(t, http.StatusBadRequest, st)
			assert.Equal(t, "invalid_grant", m["error"])
		})
		t.Run("a wrong verifier is refused", func(t *testing.T) {
			b := newBrowser()
			var code string
			b.c.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
				if strings.HasPrefix(req.URL.String(), party.srv.URL+"/callback") {
					code = req.URL.Query().Get("code")
					return http.ErrUseLastResponse
				}
				return nil
			}
			p := b.get(t, s.base+"/oauth/authorize?"+base().Encode())
			_ = b.submit(t, p, "/ui/login", map[string]string{"login": "refused", "password": testPass})
			require.NotEmpty(t, code)
			cfg := oauth2.Config{ClientID: clientID, ClientSecret: secret, RedirectURL: party.srv.URL + "/callback",
				Endpoint: oauth2.Endpoint{TokenURL: s.base + "/oauth/token"}}
			_, err := cfg.Exchange(context.Background(), code, oauth2.VerifierOption("another-verifier-another-verifier-another"))
			require.Error(t, err)
			_, err = cfg.Exchange(context.Background(), code, oauth2.VerifierOption("verifier-verifier-verifier-verifier-verifier"))
			require.Error(t, err, "and the right one cannot replay it afterwards")
		})
	})
}

func TestOIDCClientCredentialsIntrospectionRevocationAndLogout(t *testing.T) {
	forEachDialectIssuer(t, func(t *testing.T, s *server) {
		machineID, machineSecret := createClient(t, s, domain.OAuthClientSpec{Name: "Batch job",
			GrantTypes: []string{domain.GrantClientCredentials}})
		cc := clientcredentials.Config{ClientID: machineID, ClientSecret: machineSecret, TokenURL: s.base + "/oauth/token"}
		tok, err := cc.Token(context.Background())
		require.NoError(t, err)
		assert.Equal(t, machineID, claimsOf(t, tok.AccessToken)["sub"])
		_, err = (&clientcredentials.Config{ClientID: machineID, ClientSecret: "nope", TokenURL: cc.TokenURL}).Token(context.Background())
		require.Error(t, err, "a wrong client secret gets no token")

		introspector, err := rs.NewResourceServerClientCredentials(context.Background(), s.base, machineID, machineSecret)
		require.NoError(t, err)
		resp, err := rs.Introspect[*oidc.IntrospectionResponse](context.Background(), introspector, tok.AccessToken)
		require.NoError(t, err)
		assert.True(t, resp.Active)
		assert.Equal(t, machineID, resp.ClientID)

		uid := registerUser(t, s, "revoker")
		party, _, _ := newRelyingParty(t, s, false, true, "openid", "email", "offline_access")
		b := newBrowser()
		tk := signIn(t, b, party, "revoker")
		resp, err = rs.Introspect[*oidc.IntrospectionResponse](context.Background(), introspector, tk.AccessToken)
		require.NoError(t, err)
		assert.True(t, resp.Active)
		assert.Equal(t, uid, resp.Subject)

		// RFC 7009: revoking the refresh token ends the session.
		require.NoError(t, rp.RevokeToken(context.Background(), party.rp, tk.RefreshToken, "refresh_token"))
		_, err = rp.RefreshTokens[*oidc.IDTokenClaims](context.Background(), party.rp, tk.RefreshToken, "", "")
		require.Error(t, err)
		resp, err = rs.Introspect[*oidc.IntrospectionResponse](context.Background(), introspector, tk.AccessToken)
		require.NoError(t, err)
		assert.False(t, resp.Active)

		// logout-all on the API ends the client's sessions too.
		tk = signIn(t, b, party, "revoker")
		api := login(t, s, "revoker", testPass)
		res := s.authed(t, http.MethodPost, "/api/v1/auth/logout-all", api.AccessToken, nil)
		require.Equal(t, http.StatusNoContent, res.Status, string(res.Body))
		_, err = rp.RefreshTokens[*oidc.IDTokenClaims](context.Background(), party.rp, tk.RefreshToken, "", "")
		require.Error(t, err, "logout-all reaches OIDC sessions")

		// RP-initiated logout ends the browser session: the next sign-in
		// shows the form again.
		tk = signIn(t, b, party, "revoker")
		// The browser is sent to end_session, as RPs do.
		bye := b.get(t, s.base+"/oauth/end_session?"+url.Values{"id_token_hint": {tk.IDToken},
			"post_logout_redirect_uri": {party.srv.URL + "/bye"}, "state": {"st"}}.Encode())
		assert.Equal(t, "bye", bye.Body)
		p := b.get(t, party.srv.URL+"/login")
		assert.Contains(t, p.Body, `name="password"`, "signed out of the browser session")
		_, err = rp.RefreshTokens[*oidc.IDTokenClaims](context.Background(), party.rp, tk.RefreshToken, "", "")
		require.Error(t, err, "end_session ended the client's sessions")
	})
}

func TestOIDCKeysRotateWithUMSKeysRotate(t *testing.T) {
	s := startIssuer(t, dialects["sqlite"](t), nil)
	registerUser(t, s, "rotated")
	party, _, _ := newRelyingParty(t, s, false, true, "openid", "email")
	b := newBrowser()
	before := signIn(t, b, party, "rotated")
	oldKid := jwtHeader(t, before.IDToken)["kid"]

	ed, rsaKey, err := bootstrap.RotateAllKeys(context.Background(), s.cfg, zap.NewNop())
	require.NoError(t, err)
	require.NotEqual(t, oldKid, rsaKey.KID)

	res, err := http.Get(s.base + "/.well-known/jwks.json")
	require.NoError(t, err)
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
			Kty string `json:"kty"`
			Alg string `json:"alg"`
		} `json:"keys"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&set))
	_ = res.Body.Close()
	kids := map[string]string{}
	for _, k := range set.Keys {
		kids[k.Kid] = k.Alg + "/" + k.Kty
	}
	assert.Equal(t, "RS256/RSA", kids[oldKid.(string)], "the retired key stays published for its tokens")
	assert.Equal(t, "RS256/RSA", kids[rsaKey.KID])
	assert.Equal(t, "EdDSA/OKP", kids[ed.KID], "one set for API and ID tokens")

}

package oidc

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/rs/cors"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/domain"
)

// Paths of the provider's endpoints. Discovery and the key set keep the
// addresses UMS published before it was a provider.
const (
	PathAuthorize  = "/oauth/authorize"
	PathToken      = "/oauth/token"
	PathIntrospect = "/oauth/introspect"
	PathUserinfo   = "/oauth/userinfo"
	PathRevoke     = "/oauth/revoke"
	PathEndSession = "/oauth/end_session"
	PathKeys       = "/.well-known/jwks.json"
	PathDiscovery  = oidc.DiscoveryEndpoint
)

// Config is the provider's deployment.
type Config struct {
	// Issuer is the public base URL (PUBLIC_URL).
	Issuer string
	// CryptoKey encrypts what the library hands out opaque; every
	// instance must share it (derived from the key-encryption key).
	CryptoKey [32]byte
	// AccessTTL is the life of access and ID tokens.
	AccessTTL time.Duration
	// AllowHTTP admits http redirect URIs on any host (development).
	AllowHTTP bool
	// AllowedOrigins may call the token endpoints from a browser.
	AllowedOrigins []string
	// LoginPath is the hosted sign-in page the provider sends users to;
	// LoggedOutPath where a logout without a registered return address
	// lands.
	LoginPath     string
	LoggedOutPath string
	// APIAudience is the audience of the API's own tokens (ACCESS_TOKEN_AUDIENCE),
	// which service accounts' tokens carry so the API accepts them.
	APIAudience string
}

// Provider is UMS's OpenID Connect provider.
type Provider struct {
	op      *op.Provider
	st      *storage
	handler http.Handler
	issuer  string
}

// NewProvider builds the provider on the application's use cases.
func NewProvider(cfg Config, signOn *application.SignOn, clients *application.OAuthClients, accounts *application.ServiceAccounts,
	keys *application.OIDCKeys, published func(context.Context) ([]domain.SigningKey, error)) (*Provider, error) {
	issuer := strings.TrimSuffix(cfg.Issuer, "/")
	st := &storage{signOn: signOn, clients: clients, accounts: accounts, keys: keys, published: published,
		loginURL: issuer + cfg.LoginPath, accessTTL: cfg.AccessTTL, allowHTTP: cfg.AllowHTTP, apiAudience: cfg.APIAudience}
	conf := &op.Config{
		CryptoKey:                cfg.CryptoKey,
		DefaultLogoutRedirectURI: cfg.LoggedOutPath,
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		GrantTypeRefreshToken:    true,
		// Service accounts authenticate with a client assertion signed
		// by a key they registered (RFC 7523).
		AuthMethodPrivateKeyJWT: true,
		RequestObjectSupported:  false,
		SupportedScopes: []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail, oidc.ScopeOfflineAccess,
			ScopeOrgs},
		SupportedClaims: append(append([]string{}, op.DefaultSupportedClaims...), ScopeOrgs),
	}
	opts := []op.Option{
		op.WithCustomAuthEndpoint(op.NewEndpoint(PathAuthorize)),
		op.WithCustomTokenEndpoint(op.NewEndpoint(PathToken)),
		op.WithCustomIntrospectionEndpoint(op.NewEndpoint(PathIntrospect)),
		op.WithCustomUserinfoEndpoint(op.NewEndpoint(PathUserinfo)),
		op.WithCustomRevocationEndpoint(op.NewEndpoint(PathRevoke)),
		op.WithCustomEndSessionEndpoint(op.NewEndpoint(PathEndSession)),
		op.WithCustomKeysEndpoint(op.NewEndpoint(PathKeys)),
		// The provider checks its own tokens (userinfo, introspection,
		// id_token_hint) with the algorithm it signs with.
		op.WithAccessTokenVerifierOpts(op.WithSupportedAccessTokenSigningAlgorithms(string(jose.RS256))),
		op.WithIDTokenHintVerifierOpts(op.WithSupportedIDTokenHintSigningAlgorithms(string(jose.RS256))),
		// Browser clients may call the token endpoints only from the
		// configured origins, and never with cookies.
		op.WithCORSOptions(&cors.Options{AllowedOrigins: cfg.AllowedOrigins,
			AllowedMethods: []string{http.MethodGet, http.MethodPost},
			AllowedHeaders: []string{"Authorization", "Content-Type", "Accept"}}),
	}
	if strings.HasPrefix(issuer, "http://") {
		opts = append(opts, op.WithAllowInsecure())
	}
	p, err := op.NewProvider(conf, st, op.StaticIssuer(issuer), opts...)
	if err != nil {
		return nil, err
	}
	pr := &Provider{op: p, st: st, issuer: issuer}
	pr.handler = pr.serviceHandler(p)
	return pr, nil
}

// Handler serves the provider's endpoints.
func (p *Provider) Handler() http.Handler { return p.handler }

// EndSessionPath is the path of RP-initiated logout, which the pages
// wrap to sign the browser out as well.
func (p *Provider) EndSessionPath() string { return PathEndSession }

// CheckEndSession reports a logout request the library cannot parse: it
// would answer it with a 500, although the fault is the client's.
func (p *Provider) CheckEndSession(r *http.Request) error {
	_, err := op.ParseEndSessionRequest(r, p.op.Decoder())
	return err
}

// Paths are the paths the handler serves (the callback included).
func (p *Provider) Paths() []string {
	return []string{PathDiscovery, PathKeys, PathAuthorize, PathAuthorize + "/callback", PathToken, PathIntrospect,
		PathUserinfo, PathRevoke, PathEndSession}
}

// CallbackURL is where the sign-in page sends the browser once the
// request is approved: the library issues the code there.
func (p *Provider) CallbackURL(id string) string {
	return p.issuer + PathAuthorize + "/callback?id=" + url.QueryEscape(id)
}

// RedirectError sends the browser back to the client with an OAuth error
// (login_required for prompt=none without a session, access_denied when
// the user refuses consent).
func (p *Provider) RedirectError(w http.ResponseWriter, r *http.Request, req domain.AuthRequest, code string, desc string) {
	var e *oidc.Error
	switch code {
	case "login_required":
		e = oidc.ErrLoginRequired()
	case "access_denied":
		e = oidc.ErrAccessDenied()
	default:
		e = &oidc.Error{ErrorType: oidc.InteractionRequired}
	}
	op.AuthRequestError(w, r, authRequest{req}, e.WithDescription("%s", desc), p.op)
}

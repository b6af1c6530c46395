package bootstrap

import (
	"crypto/rand"
	"crypto/sha256"
	"log/slog"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"
	"go.uber.org/zap/exp/zapslog"

	"github.com/ums-project/ums/adapters/oidc"
	"github.com/ums-project/ums/adapters/sqlstore"
	"github.com/ums-project/ums/adapters/web"
	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/ports"
)

// OIDCModule provides the OpenID Connect client registry and sign-on use
// cases (the CLI manages clients with them).
var OIDCModule = fx.Module("oidc",
	fx.Provide(
		fx.Annotate(sqlstore.NewOAuthClientRepository, fx.As(new(ports.OAuthClientRepository))),
		fx.Annotate(sqlstore.NewAuthRequestRepository, fx.As(new(ports.AuthRequestRepository))),
		fx.Annotate(sqlstore.NewOAuthGrantRepository, fx.As(new(ports.OAuthGrantRepository))),
		fx.Annotate(sqlstore.NewConsentRepository, fx.As(new(ports.ConsentRepository))),
		newOAuthClients,
		newSignOn,
		func(keys *application.Keys) *application.OIDCKeys { return application.NewOIDCKeys(keys, keyRefresh) },
	),
)

type oauthParams struct {
	fx.In
	Config   Config
	Clients  ports.OAuthClientRepository
	Requests ports.AuthRequestRepository
	Grants   ports.OAuthGrantRepository
	Consents ports.ConsentRepository
	Policy   *application.Policy
	Sessions *application.Sessions
	Dir      *application.Directory
	Box      ports.SecretBox
	Tx       ports.TxManager
	Audit    ports.AuditLog
	Clock    ports.Clock
	IDs      ports.IDGenerator
}

func newOAuthClients(p oauthParams) *application.OAuthClients {
	return application.NewOAuthClients(application.OAuthClientsDeps{Repo: p.Clients, Consents: p.Consents, Policy: p.Policy,
		Tx: p.Tx, Audit: p.Audit, Clock: p.Clock, IDs: p.IDs, Random: rand.Reader,
		AllowHTTPRedirects: !p.Config.IsProduction()})
}

func newSignOn(p oauthParams) *application.SignOn {
	return application.NewSignOn(application.SignOnDeps{Clients: p.Clients, Requests: p.Requests, Grants: p.Grants,
		Consents: p.Consents, Sessions: p.Sessions, Directory: p.Dir, Box: p.Box, Audit: p.Audit, Clock: p.Clock, IDs: p.IDs},
		application.SignOnConfig{})
}

// PagesModule serves the provider and the hosted pages beside the API,
// and prunes expired sign-in requests.
var PagesModule = fx.Module("pages",
	fx.Provide(newProvider, newPages),
	fx.Invoke(pruneAuthRequests),
)

func newProvider(c Config, signOn *application.SignOn, clients *application.OAuthClients, accounts *application.ServiceAccounts,
	ring *application.OIDCKeys, keys *application.Keys, log *zap.Logger) (*oidc.Provider, error) {
	// The OpenID library logs through slog's default logger only: send it
	// to the service's log, so its lines carry the same format and level.
	slog.SetDefault(slog.New(zapslog.NewHandler(log.Named("oidc").Core())))
	kek, err := keyEncryptionKey(c)
	if err != nil {
		return nil, err
	}
	// The library's own encryption key is derived from the KEK, so every
	// instance shares it without one more secret to configure.
	key := sha256.Sum256(append([]byte("ums oidc provider key\x00"), kek...))
	return oidc.NewProvider(oidc.Config{Issuer: c.PublicURL, CryptoKey: key, AccessTTL: c.AccessTokenTTL,
		AllowHTTP: !c.IsProduction(), AllowedOrigins: c.AllowedOrigins,
		LoginPath: web.PathLogin, LoggedOutPath: web.PathLoggedOut, APIAudience: c.AccessTokenAudience},
		signOn, clients, accounts, ring, keys.PublicKeys)
}

type pagesParams struct {
	fx.In
	Config       Config
	Log          *zap.Logger
	Login        *application.Login
	SignOn       *application.SignOn
	Provider     *oidc.Provider
	Registration *application.Registration
	Account      *application.Account
	MFA          *application.MFA
	Profiles     *application.Profiles
	Sessions     *application.Sessions
	Directory    *application.Directory
	Orgs         *application.Orgs
	Permissions  *application.Permissions
	OAuthClients *application.OAuthClients
	Passkeys     *application.Passkeys
	Tokens       *application.PersonalTokens
	Invitations  *application.Invitations
	Accounts     *application.ServiceAccounts
}

func newPages(p pagesParams) (*web.Pages, error) {
	return web.New(web.Deps{Login: p.Login, SignOn: p.SignOn, Provider: p.Provider,
		Registration: p.Registration, Account: p.Account, MFA: p.MFA, Profiles: p.Profiles, Sessions: p.Sessions,
		Directory: p.Directory, Orgs: p.Orgs, Permissions: p.Permissions, OAuthClients: p.OAuthClients,
		Passkeys: p.Passkeys, Tokens: p.Tokens, Invitations: p.Invitations, ServiceAccounts: p.Accounts, Secure: p.Config.IsProduction(), IdleTimeout: p.Config.UIIdleTimeout,
		ReauthAfter: p.Config.UIReauthAfter, Log: p.Log.Named("web")})
}

// authRequestPrune is how often expired sign-in requests are deleted.
const authRequestPrune = 10 * time.Minute

func pruneAuthRequests(lc fx.Lifecycle, signOn *application.SignOn, log *zap.Logger) {
	pruneEvery(lc, log, "expired sign-in requests", authRequestPrune, signOn.PruneRequests)
}

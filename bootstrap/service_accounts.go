package bootstrap

import (
	"crypto/rand"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/ums-project/ums/adapters/crypto"
	"github.com/ums-project/ums/adapters/oidc"
	"github.com/ums-project/ums/adapters/sqlstore"
	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/ports"
)

// ServiceAccountsModule provides service accounts: their stores, the key
// parser and assertion checks of the crypto adapter, the use cases, and
// the bearer scheme of their access tokens (group "bearer", which the
// HTTP server checks besides session tokens).
var ServiceAccountsModule = fx.Module("service_accounts",
	fx.Provide(
		fx.Annotate(sqlstore.NewServiceAccountRepository, fx.As(new(ports.ServiceAccountRepository))),
		fx.Annotate(sqlstore.NewServiceAccountKeyRepository, fx.As(new(ports.ServiceAccountKeyRepository))),
		fx.Annotate(sqlstore.NewAssertionLedger, fx.As(new(ports.AssertionLedger))),
		newServiceAccounts,
		fx.Annotate(newServiceAccountBearer, fx.As(new(application.BearerScheme)), fx.ResultTags(`group:"bearer"`)),
	),
)

// ServiceAccountJobsModule prunes the sessions of service accounts'
// expired tokens and spent client assertions while the server runs; CLI
// commands leave it out.
var ServiceAccountJobsModule = fx.Module("service_account_jobs",
	fx.Invoke(pruneServiceAccounts),
)

type serviceAccountParams struct {
	fx.In
	Config   Config
	Accounts ports.ServiceAccountRepository
	Keys     ports.ServiceAccountKeyRepository
	Ledger   ports.AssertionLedger
	Users    ports.UserRepository
	Members  ports.MembershipRepository
	Orgs     ports.OrgRepository
	Clients  ports.OAuthClientRepository
	Grants   ports.OAuthGrantRepository
	Policy   *application.Policy
	Sessions *application.Sessions
	Revoker  *application.Revoker
	Tx       ports.TxManager
	Audit    ports.AuditLog
	Clock    ports.Clock
	IDs      ports.IDGenerator
}

func newServiceAccounts(p serviceAccountParams) *application.ServiceAccounts {
	keys := crypto.ClientKeys{}
	return application.NewServiceAccounts(application.ServiceAccountsDeps{Accounts: p.Accounts, Keys: p.Keys,
		Ledger: p.Ledger, KeyParser: keys, Assertions: keys, Users: p.Users, Members: p.Members, Orgs: p.Orgs,
		Clients: p.Clients, Grants: p.Grants, Policy: p.Policy, Sessions: p.Sessions, Revoker: p.Revoker, Tx: p.Tx,
		Audit: p.Audit, Clock: p.Clock, IDs: p.IDs, Random: rand.Reader},
		application.ServiceAccountsConfig{Leeway: p.Config.TokenLeeway})
}

func newServiceAccountBearer(c Config, keys *application.OIDCKeys, accounts *application.ServiceAccounts) *oidc.ServiceAccountBearer {
	return oidc.NewServiceAccountBearer(oidc.BearerConfig{Issuer: c.PublicURL, APIAudience: c.AccessTokenAudience,
		Leeway: c.TokenLeeway}, keys, accounts)
}

// serviceAccountPrune is how often the service accounts' leftovers are
// deleted; nothing depends on it but the size of the tables.
const serviceAccountPrune = 10 * time.Minute

func pruneServiceAccounts(lc fx.Lifecycle, accounts *application.ServiceAccounts, log *zap.Logger) {
	pruneEvery(lc, log, "service accounts' expired tokens", serviceAccountPrune, accounts.Prune)
}

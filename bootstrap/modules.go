package bootstrap

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/ums-project/ums/adapters/crypto"
	httpadapter "github.com/ums-project/ums/adapters/http"
	"github.com/ums-project/ums/adapters/legacyapi"
	"github.com/ums-project/ums/adapters/metrics"
	"github.com/ums-project/ums/adapters/sqlstore"
	"github.com/ums-project/ums/adapters/system"
	"github.com/ums-project/ums/adapters/web"
	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// MigrationPolicy says what serve does with pending migrations.
type MigrationPolicy struct {
	// Apply runs pending migrations at start; otherwise start fails on them.
	Apply bool
}

// SQLStoreModule opens the database, checks or applies migrations at start
// and binds the Bun repositories to their ports.
var SQLStoreModule = fx.Module("sqlstore",
	fx.Provide(
		newDB,
		sqlstore.NewUserRepository,
		fx.Annotate(func(r *sqlstore.UserRepository) *sqlstore.UserRepository { return r }, fx.As(new(ports.UserRepository))),
		fx.Annotate(sqlstore.NewTxManager, fx.As(new(ports.TxManager))),
		fx.Annotate(sqlstore.NewAuditLog, fx.As(new(ports.AuditLog))),
		fx.Annotate(sqlstore.NewSigningKeyRepository, fx.As(new(ports.SigningKeyRepository))),
		fx.Annotate(sqlstore.NewHealthCheck, fx.As(new(ports.HealthCheck)), fx.ResultTags(`group:"health"`)),
	),
)

func newDB(lc fx.Lifecycle, c Config, policy MigrationPolicy, log *zap.Logger, tracing Tracing) (*sqlstore.DB, error) {
	idle := c.DBMaxIdleConns
	if idle <= 0 || idle > c.DBMaxOpenConns {
		idle = c.DBMaxOpenConns
	}
	db, err := sqlstore.Open(context.Background(), c.DatabaseURL, sqlstore.PoolConfig{
		MaxOpenConns: c.DBMaxOpenConns, MaxIdleConns: idle,
		ConnMaxLifetime: c.DBConnMaxLifetime, ConnMaxIdleTime: c.DBConnMaxIdleTime,
	})
	if err != nil {
		return nil, err
	}
	if tracing.Enabled() {
		db.Trace(tracing.Provider)
	}
	lc.Append(fx.Hook{
		OnStart: func(ctx context.Context) error {
			if c.DBPingOnStart {
				if err := db.PingContext(ctx); err != nil {
					return fmt.Errorf("database unreachable: %w", err)
				}
			}
			return ensureMigrated(ctx, db, policy, log)
		},
		OnStop: func(context.Context) error { return db.Close() },
	})
	return db, nil
}

func ensureMigrated(ctx context.Context, db *sqlstore.DB, policy MigrationPolicy, log *zap.Logger) error {
	m, err := sqlstore.NewMigrator(db)
	if err != nil {
		return err
	}
	if policy.Apply {
		applied, err := m.Up(ctx)
		if err != nil {
			return err
		}
		if len(applied) > 0 {
			log.Info("migrations applied", zap.Strings("migrations", applied))
		}
		return nil
	}
	pending, err := m.Pending(ctx)
	if err != nil {
		return err
	}
	if pending > 0 {
		return fmt.Errorf("%d pending migration(s): run `ums migrate up` or start with `ums serve --migrate`", pending)
	}
	return nil
}

// CryptoModule binds the argon2id hasher.
var CryptoModule = fx.Module("crypto",
	fx.Provide(
		func(c Config) (*crypto.Hasher, error) {
			return crypto.NewHasher(crypto.HasherConfig{
				MemoryKiB: c.Argon2MemoryKiB, Iterations: c.Argon2Iterations, Parallelism: c.Argon2Parallelism,
				Concurrency: c.HashConcurrency, MaxQueue: c.HashQueueSize, QueueTimeout: c.HashQueueTimeout,
			})
		},
		fx.Annotate(func(h *crypto.Hasher) *crypto.Hasher { return h }, fx.As(new(ports.PasswordHasher))),
		fx.Annotate(func(c Config) (*crypto.SecretBox, error) {
			kek, err := keyEncryptionKey(c)
			if err != nil {
				return nil, err
			}
			return crypto.NewSecretBox(kek)
		}, fx.As(new(ports.SecretBox))),
	),
)

// SystemModule binds the real clock and id generator.
var SystemModule = fx.Module("system",
	fx.Provide(
		fx.Annotate(func() system.Clock { return system.Clock{} }, fx.As(new(ports.Clock))),
		fx.Annotate(func() system.IDs { return system.IDs{} }, fx.As(new(ports.IDGenerator))),
	),
)

// ApplicationModule provides the use cases.
var ApplicationModule = fx.Module("application",
	fx.Provide(
		func(c Config) application.PasswordConfig {
			return application.PasswordConfig{
				Policy: domain.PasswordPolicy{MinLength: c.PasswordMinLength, MaxLength: c.PasswordMaxLength,
					RequireClasses: c.PasswordRequireClasses, HistorySize: c.PasswordHistory},
				MaxAge: time.Duration(c.PasswordMaxAgeDays) * 24 * time.Hour,
			}
		},
		newRegistration,
		func(repo ports.SigningKeyRepository, box ports.SecretBox, tx ports.TxManager, audit ports.AuditLog,
			clock ports.Clock, ids ports.IDGenerator, c Config) *application.Keys {
			// A retired key stays published for the longest token it may
			// have signed, plus a minute of clock leeway.
			return application.NewKeys(repo, box, tx, audit, clock, ids, rand.Reader, c.AccessTokenTTL+time.Minute)
		},
	),
	// The first signing key is made at start on a fresh database; the
	// hook runs after the database hook (migrations) because Keys needs it.
	fx.Invoke(func(lc fx.Lifecycle, keys *application.Keys) {
		lc.Append(fx.Hook{OnStart: func(ctx context.Context) error {
			_, err := keys.EnsureActive(ctx)
			return err
		}})
	}),
)

// HTTPModule serves the API; the server starts after every other hook and
// stops first, draining in-flight requests within SHUTDOWN_TIMEOUT.
var HTTPModule = fx.Module("http",
	fx.Provide(newHTTPServer),
	fx.Invoke(func(*httpadapter.Server) {}),
)

type httpParams struct {
	fx.In
	Lifecycle    fx.Lifecycle
	Config       Config
	Log          *zap.Logger
	Registration *application.Registration
	Keys         *application.Keys
	Login        *application.Login
	Sessions     *application.Sessions
	MFA          *application.MFA
	Profiles     *application.Profiles
	Account      *application.Account
	Orgs         *application.Orgs
	Permissions  *application.Permissions
	Directory    *application.Directory
	RateLimiter  ports.RateLimiter
	Metrics      *metrics.Registry
	Legacy       *legacyapi.API `optional:"true"`
	Pages        *web.Pages     `optional:"true"`
	OAuthClients *application.OAuthClients
	Passkeys     *application.Passkeys
	Tokens       *application.PersonalTokens
	Accounts     *application.ServiceAccounts
	Checks       []ports.HealthCheck `group:"health"`
	Invitations  *application.Invitations
	Webhooks     *application.Webhooks
	Tracing      Tracing
	// Schemes are the bearer credentials besides session tokens
	// (personal access tokens, service accounts' tokens).
	Schemes []application.BearerScheme `group:"bearer"`
}

func newHTTPServer(p httpParams) (*httpadapter.Server, error) {
	c := p.Config
	trusted, err := c.TrustedNets()
	if err != nil {
		return nil, err
	}
	limits := httpadapter.RateLimits{Enabled: c.RateLimitEnabled, Scoped: map[string]ports.RateLimit{}}
	limits.Global, _ = ParseRateLimit(c.RateLimitGlobal)
	for scope, v := range map[string]string{
		httpadapter.ScopeLogin: c.RateLimitLogin, httpadapter.ScopeRegister: c.RateLimitRegister,
		httpadapter.ScopeRefresh: c.RateLimitRefresh, httpadapter.ScopePassword: c.RateLimitPassword,
		httpadapter.ScopeEmail: c.RateLimitEmail,
	} {
		// Validate already refused malformed values.
		limits.Scoped[scope], _ = ParseRateLimit(v)
	}
	srv, err := httpadapter.NewServer(httpadapter.Config{
		Addr: c.HTTPAddr, BodyLimit: c.HTTPBodyLimit, ReadHeaderTimeout: c.HTTPReadHeaderTimeout,
		ReadTimeout: c.HTTPReadTimeout, WriteTimeout: c.HTTPWriteTimeout, IdleTimeout: c.HTTPIdleTimeout,
		ShutdownTimeout: c.ShutdownTimeout, Issuer: c.PublicURL,
		TrustedProxies: trusted, AllowedOrigins: c.AllowedOrigins, CORSMaxAge: c.CORSMaxAge,
		TLSCertFile: c.TLSCertFile, TLSKeyFile: c.TLSKeyFile, RedirectAddr: c.HTTPRedirectAddr, PublicURL: c.PublicURL,
		RateLimits: limits, MetricsAddr: c.MetricsAddr, MetricsBearerToken: c.MetricsBearerToken,
	}, httpadapter.Services{Registration: p.Registration, Keys: p.Keys,
		Login: p.Login, Sessions: p.Sessions, Bearer: application.NewBearer(p.Sessions, p.Schemes...), MFA: p.MFA, Profiles: p.Profiles, Account: p.Account,
		Orgs: p.Orgs, Permissions: p.Permissions, Directory: p.Directory, HealthChecks: p.Checks,
		RateLimiter: p.RateLimiter, Metrics: observability(c, p.Metrics), Legacy: mounted(p.Legacy),
		Pages: pages(p.Pages), OAuthClients: p.OAuthClients, Passkeys: p.Passkeys, Tracing: p.Tracing.forHTTP(), Invitations: p.Invitations,
		PersonalTokens: p.Tokens, ServiceAccounts: p.Accounts, Webhooks: p.Webhooks}, p.Log)
	if err != nil {
		return nil, err
	}
	p.Lifecycle.Append(fx.Hook{OnStart: srv.Start, OnStop: srv.Shutdown})
	return srv, nil
}

// newRegistration mails verification links for sign-ups; fx builds the
// mailbox only for the commands that register users.
func newRegistration(users ports.UserRepository, tx ports.TxManager, hasher ports.PasswordHasher, audit ports.AuditLog,
	clock ports.Clock, ids ports.IDGenerator, cfg application.PasswordConfig, mailbox *application.Mailbox,
) *application.Registration {
	return application.NewRegistration(users, tx, hasher, audit, clock, ids, cfg, mailbox)
}

// pages hands the pages to the server as an interface only when built.
func pages(p *web.Pages) httpadapter.Mounted {
	if p == nil {
		return nil
	}
	return p
}

// mounted hands the legacy API to the server as an interface only when it
// is on: a nil *API in a non-nil interface would look mounted.
func mounted(api *legacyapi.API) httpadapter.Mounted {
	if api == nil {
		return nil
	}
	return api
}

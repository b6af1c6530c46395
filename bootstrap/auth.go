package bootstrap

import (
	"context"
	"crypto/rand"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/ums-project/ums/adapters/crypto"
	"github.com/ums-project/ums/adapters/memory"
	"github.com/ums-project/ums/adapters/redisstore"
	"github.com/ums-project/ums/adapters/sqlstore"
	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/ports"
)

// keyRefresh is how often an instance rereads the signing keys, so a
// rotation made elsewhere is picked up without a restart.
const keyRefresh = 30 * time.Second

// revocationPoll is how often each instance rereads recent revocations
// from the database, under the bus: the bound on staleness when an
// announcement is lost.
const revocationPoll = 2 * time.Second

// notifyChannel is the Postgres channel revocations travel on.
const notifyChannel = "ums_session_revoked"

// AuthModule provides authentication: credentials and their throttles,
// sessions, the token codec, the key ring, the second factor and signing
// in, with the throttles and revocation bus chosen by the deployment:
// Redis when REDIS_URL is set; otherwise Postgres (a table and
// LISTEN/NOTIFY) so several instances still agree; otherwise, on SQLite's
// single instance, memory.
var AuthModule = fx.Module("auth",
	fx.Provide(
		fx.Annotate(sqlstore.NewSessionRepository, fx.As(new(ports.SessionRepository))),
		fx.Annotate(func(c Config) *crypto.VerifyCache {
			codec := crypto.NewJWT(crypto.TokenConfig{Issuer: c.PublicURL, Audience: c.AccessTokenAudience, Leeway: c.TokenLeeway})
			// Verified tokens are remembered until they expire; revocation
			// is still checked on every request.
			return crypto.NewVerifyCache(codec, 50000)
		}, fx.As(new(ports.AccessTokenCodec))),
		newThrottles,
		newRevocationBus,
		func(keys *application.Keys) *application.KeyRing { return application.NewKeyRing(keys, keyRefresh) },
		newRevocationList,
		newRevoker,
		newCredentials,
		newSessions,
		newMFA,
		newLogin,
		application.NewProfiles,
	),
)

// throttlePolicies are the per-login policy and the per-account one: the
// same window and lockout, a higher threshold.
func throttlePolicies(c Config) (login, account ports.ThrottlePolicy) {
	login = ports.ThrottlePolicy{MaxFailures: c.LoginMaxFailures, Window: c.LoginFailureWindow, Lockout: c.LoginLockout}
	account = login
	account.MaxFailures = c.LoginAccountMaxFailures
	if account.MaxFailures == 0 {
		account.MaxFailures = 4 * c.LoginMaxFailures
	}
	return login, account
}

type sharedStateParams struct {
	fx.In
	Config Config
	DB     *sqlstore.DB
	Redis  redis.UniversalClient `optional:"true"`
	Log    *zap.Logger
	LC     fx.Lifecycle
}

func newThrottles(p sharedStateParams) application.Throttles {
	login, account := throttlePolicies(p.Config)
	return application.Throttles{Login: newLoginThrottle(p, login), Account: newLoginThrottle(p, account)}
}

func newLoginThrottle(p sharedStateParams, policy ports.ThrottlePolicy) ports.LoginThrottle {
	switch {
	case p.Redis != nil:
		// While Redis is down, lockouts are counted per instance rather
		// than logins failing outright.
		log := p.Log.Named("throttle")
		return redisstore.NewFallbackLoginThrottle(
			redisstore.NewLoginThrottle(p.Redis, p.Config.RedisKeyPrefix, policy),
			memory.NewLoginThrottle(policy),
			func(degraded bool, err error) {
				if degraded {
					log.Warn("redis unavailable; login lockouts are counted per instance until it returns", zap.Error(err))
				} else {
					log.Info("redis is back; login lockouts are shared again")
				}
			})
	case p.DB.Dialect == sqlstore.Postgres:
		return sqlstore.NewLoginThrottle(p.DB, policy)
	default:
		return memory.NewLoginThrottle(policy)
	}
}

func newRevocationBus(p sharedStateParams) ports.RevocationBus {
	switch {
	case p.Redis != nil:
		return redisstore.NewRevocationBus(p.Redis, p.Config.RedisKeyPrefix, p.Log.Named("revocations"))
	case p.DB.Dialect == sqlstore.Postgres:
		bus := sqlstore.NewNotifyBus(p.Config.DatabaseURL, notifyChannel, p.Log.Named("revocations"))
		p.LC.Append(fx.StopHook(bus.Close))
		return bus
	default:
		return memory.NewRevocationBus()
	}
}

// newRevocationList subscribes the instance's revocation list to the bus
// for the life of the app. A first subscription that fails does not stop
// the start: until the bus connects the list checks the session store on
// every request, which is slower but never wrong.
func newRevocationList(lc fx.Lifecycle, c Config, sessions ports.SessionRepository, clock ports.Clock,
	bus ports.RevocationBus, log *zap.Logger,
) *application.RevocationList {
	list := application.NewRevocationList(sessions, clock, c.AccessTokenTTL+c.TokenLeeway)
	ctx, cancel := context.WithCancel(context.Background())
	polled := make(chan struct{})
	lc.Append(fx.Hook{
		OnStart: func(context.Context) error {
			if err := bus.Subscribe(ctx, list); err != nil {
				log.Warn("revocation bus not connected yet; checking sessions in the database until it is", zap.Error(err))
			}
			go func() { defer close(polled); list.Poll(ctx, revocationPoll) }()
			return nil
		},
		OnStop: func(context.Context) error {
			cancel()
			<-polled
			// The bus adapters can wait for their subscription goroutines,
			// so a stopped app leaves no connection behind.
			if w, ok := bus.(interface{ Wait() }); ok {
				w.Wait()
			}
			return nil
		},
	})
	return list
}

func newCredentials(users ports.UserRepository, hasher ports.PasswordHasher, throttles application.Throttles,
	clock ports.Clock,
) (*application.Credentials, error) {
	return application.NewCredentials(context.Background(), users, hasher, throttles, clock, rand.Reader)
}

// outdatedHashEvery is how often an instance looks for hashes of another
// system or older parameters, whose cost failed logins must match.
const outdatedHashEvery = 5 * time.Minute

// measureOutdatedHashes measures the costliest stored hash at start and
// then periodically, in the background.
func measureOutdatedHashes(lc fx.Lifecycle, creds *application.Credentials, log *zap.Logger) {
	inBackground(lc, func(ctx context.Context) {
		everyUntilDone(ctx, outdatedHashEvery, func() {
			if err := creds.MeasureOutdatedHashes(ctx); err != nil && ctx.Err() == nil {
				log.Warn("measuring outdated password hashes failed", zap.Error(err))
			}
		})
	})
}

type sessionParams struct {
	fx.In
	Config  Config
	Store   ports.SessionRepository
	Users   ports.UserRepository
	Tx      ports.TxManager
	Audit   ports.AuditLog
	Clock   ports.Clock
	IDs     ports.IDGenerator
	Codec   ports.AccessTokenCodec
	Keys    *application.KeyRing
	Revoked *application.RevocationList
	Revoker *application.Revoker
}

func newSessions(p sessionParams) *application.Sessions {
	c := p.Config
	return application.NewSessions(application.SessionDeps{
		Store: p.Store, Users: p.Users, Tx: p.Tx, Audit: p.Audit, Clock: p.Clock, IDs: p.IDs, Random: rand.Reader,
		Codec: p.Codec, Keys: p.Keys, Revoked: p.Revoked, Revoker: p.Revoker,
	}, application.SessionConfig{
		AccessTTL: c.AccessTokenTTL, RefreshIdleTTL: c.RefreshTokenIdleTTL, SessionTTL: c.SessionTTL,
		ReuseGrace: c.RefreshReuseGrace,
	})
}

type mfaParams struct {
	fx.In
	Config      Config
	Users       ports.UserRepository
	Steps       ports.MFASteps
	Recovery    ports.RecoveryCodes
	TOTP        ports.TOTP
	Box         ports.SecretBox
	Tx          ports.TxManager
	Audit       ports.AuditLog
	Clock       ports.Clock
	IDs         ports.IDGenerator
	Credentials *application.Credentials
	Mailbox     *application.Mailbox
	Revoker     *application.Revoker
	Policy      *application.Policy
}

func newMFA(p mfaParams) *application.MFA {
	return application.NewMFA(application.MFADeps{
		Users: p.Users, Steps: p.Steps, Recovery: p.Recovery, TOTP: p.TOTP, Box: p.Box, Tx: p.Tx, Audit: p.Audit,
		Clock: p.Clock, IDs: p.IDs, Random: rand.Reader, Credentials: p.Credentials, Mailbox: p.Mailbox,
		Revoker: p.Revoker, Policy: p.Policy, Issuer: p.Config.AppName,
	})
}

func newLogin(c Config, creds *application.Credentials, mfa *application.MFA, sessions *application.Sessions,
	audit ports.AuditLog, clock ports.Clock, ids ports.IDGenerator, m ports.AuthMetrics, box ports.SecretBox,
) *application.Login {
	return application.NewLogin(application.LoginDeps{Credentials: creds, MFA: mfa, Sessions: sessions, Audit: audit,
		Clock: clock, IDs: ids, Metrics: m, Box: box}, c.RequireEmailVerification)
}

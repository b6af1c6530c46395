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

// AuthModule provides authentication: sessions, the token codec, the key
// ring, and the login throttle and revocation bus chosen by the deployment:
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
		newLoginThrottle,
		newRevocationBus,
		func(keys *application.Keys) *application.KeyRing { return application.NewKeyRing(keys, keyRefresh) },
		newRevocationList,
		newAuth,
		application.NewProfiles,
	),
)

func throttlePolicy(c Config) ports.ThrottlePolicy {
	return ports.ThrottlePolicy{MaxFailures: c.LoginMaxFailures, Window: c.LoginFailureWindow, Lockout: c.LoginLockout}
}

type sharedStateParams struct {
	fx.In
	Config Config
	DB     *sqlstore.DB
	Redis  redis.UniversalClient `optional:"true"`
	Log    *zap.Logger
	LC     fx.Lifecycle
}

func newLoginThrottle(p sharedStateParams) ports.LoginThrottle {
	switch {
	case p.Redis != nil:
		// While Redis is down, lockouts are counted per instance rather
		// than logins failing outright.
		log := p.Log.Named("throttle")
		return redisstore.NewFallbackLoginThrottle(
			redisstore.NewLoginThrottle(p.Redis, p.Config.RedisKeyPrefix, throttlePolicy(p.Config)),
			memory.NewLoginThrottle(throttlePolicy(p.Config)),
			func(degraded bool, err error) {
				if degraded {
					log.Warn("redis unavailable; login lockouts are counted per instance until it returns", zap.Error(err))
				} else {
					log.Info("redis is back; login lockouts are shared again")
				}
			})
	case p.DB.Dialect == sqlstore.Postgres:
		return sqlstore.NewLoginThrottle(p.DB, throttlePolicy(p.Config))
	default:
		return memory.NewLoginThrottle(throttlePolicy(p.Config))
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

type authParams struct {
	fx.In
	Config   Config
	Users    ports.UserRepository
	Sessions ports.SessionRepository
	Tx       ports.TxManager
	Hasher   ports.PasswordHasher
	Audit    ports.AuditLog
	Clock    ports.Clock
	IDs      ports.IDGenerator
	Throttle ports.LoginThrottle
	Codec    ports.AccessTokenCodec
	Keys     *application.KeyRing
	Revoked  *application.RevocationList
	Bus      ports.RevocationBus
	TOTP     ports.TOTP
	Steps    ports.MFASteps
	Recovery ports.RecoveryCodes
	Box      ports.SecretBox
	Metrics  ports.AuthMetrics
}

func newAuth(p authParams) (*application.Auth, error) {
	c := p.Config
	return application.NewAuth(context.Background(), application.AuthDeps{
		Users: p.Users, SessionStore: p.Sessions, Tx: p.Tx, Hasher: p.Hasher, Audit: p.Audit, Clock: p.Clock,
		IDs: p.IDs, Random: rand.Reader, Throttle: p.Throttle, Codec: p.Codec, Keys: p.Keys,
		Revoked: p.Revoked, Revocation: p.Bus, TOTP: p.TOTP, MFASteps: p.Steps, Recovery: p.Recovery, Box: p.Box,
		Metrics: p.Metrics,
	}, application.AuthConfig{
		AccessTTL: c.AccessTokenTTL, RefreshIdleTTL: c.RefreshTokenIdleTTL, SessionTTL: c.SessionTTL,
		ReuseGrace: c.RefreshReuseGrace, RequireEmailVerification: c.RequireEmailVerification, MFAIssuer: c.AppName,
	})
}

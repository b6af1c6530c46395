package bootstrap

import (
	"github.com/redis/go-redis/v9"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/ums-project/ums/adapters/crypto"
	httpadapter "github.com/ums-project/ums/adapters/http"
	"github.com/ums-project/ums/adapters/memory"
	"github.com/ums-project/ums/adapters/metrics"
	"github.com/ums-project/ums/adapters/redisstore"
	"github.com/ums-project/ums/adapters/sqlstore"
	"github.com/ums-project/ums/ports"
)

// Version is the build's version, set by main from its -ldflags value.
var Version = "dev"

// ObservabilityModule provides the Prometheus registry, the auth metrics
// port and the per-IP rate limiter (Redis with an in-process fallback when
// REDIS_URL is set, else in-process).
var ObservabilityModule = fx.Module("observability",
	fx.Provide(
		newMetrics,
		func(r *metrics.Registry) ports.AuthMetrics { return r.Auth() },
		newRateLimiter,
	),
)

func newMetrics(c Config, hasher *crypto.Hasher, db *sqlstore.DB, access *memory.AccessCache) (*metrics.Registry, error) {
	reg := metrics.New(Version)
	err := reg.RegisterHashPool(func() metrics.HashPoolStats {
		s := hasher.Stats()
		return metrics.HashPoolStats{Running: int(s.Running), Queued: int(s.Queued), Capacity: c.HashConcurrency,
			QueueCapacity: c.HashQueueSize, Rejected: s.Rejected, Waits: s.Waits, WaitSeconds: float64(s.WaitNanos) / 1e9}
	})
	if err != nil {
		return nil, err
	}
	if err := reg.RegisterDB(db.DB.DB, string(db.Dialect)); err != nil {
		return nil, err
	}
	if access != nil {
		err := reg.RegisterAccessCache(func() metrics.AccessCacheStats {
			s := access.Stats()
			return metrics.AccessCacheStats{Hits: s.Hits, Misses: s.Misses, Entries: s.Entries}
		})
		if err != nil {
			return nil, err
		}
	}
	return reg, nil
}

type rateLimiterParams struct {
	fx.In
	Config  Config
	Redis   redis.UniversalClient `optional:"true"`
	Metrics *metrics.Registry
	Log     *zap.Logger
}

func newRateLimiter(p rateLimiterParams) ports.RateLimiter {
	local := memory.NewRateLimiter()
	if p.Redis == nil {
		return local
	}
	log := p.Log.Named("ratelimit")
	return redisstore.NewFallbackRateLimiter(redisstore.NewRateLimiter(p.Redis, p.Config.RedisKeyPrefix), local,
		func(degraded bool, err error) {
			p.Metrics.SetRateLimiterDegraded(degraded)
			if degraded {
				log.Warn("redis unavailable; rate limits are counted per instance until it returns", zap.Error(err))
			} else {
				log.Info("redis is back; rate limits are shared again")
			}
		})
}

// observability adapts the registry to what the HTTP server takes.
func observability(c Config, reg *metrics.Registry) httpadapter.Observability {
	if !c.MetricsEnabled {
		return httpadapter.Observability{Middleware: reg.EchoMiddleware(), RateLimited: reg.RateLimited}
	}
	return httpadapter.Observability{Middleware: reg.EchoMiddleware(), Handler: reg.Handler(), RateLimited: reg.RateLimited}
}

package bootstrap

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/fx"

	"github.com/ums-project/ums/ports"
)

// RedisModule connects to REDIS_URL; included only when it is set. Redis
// then holds the login counters and carries revocations between instances,
// and readiness reports it.
var RedisModule = fx.Module("redis",
	fx.Provide(
		newRedis,
		fx.Annotate(func(c redis.UniversalClient) ports.HealthCheck { return redisHealth{c} },
			fx.ResultTags(`group:"health"`)),
	),
)

func newRedis(lc fx.Lifecycle, c Config, tracing Tracing) (redis.UniversalClient, error) {
	opt, err := redis.ParseURL(c.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	// Short timeouts and no retry storms: a down Redis must be noticed in
	// well under a second, since the limiters and the login throttle fall
	// back to in-process counting rather than wait for it.
	opt.DialTimeout, opt.ReadTimeout, opt.WriteTimeout = time.Second, time.Second, time.Second
	opt.DialerRetries, opt.MaxRetries = 1, -1
	client := redis.NewClient(opt)
	if err := tracing.traceRedis(client); err != nil {
		_ = client.Close()
		return nil, err
	}
	lc.Append(fx.StopHook(client.Close))
	return client, nil
}

type redisHealth struct{ c redis.UniversalClient }

func (h redisHealth) Name() string { return "redis" }

func (h redisHealth) Check(ctx context.Context) error { return h.c.Ping(ctx).Err() }

// Optional makes a Redis outage "degraded" in readiness, not "down": rate
// limits and login counters fall back to in-process and revocations to the
// database, so the instance keeps serving.
func (h redisHealth) Optional() bool { return true }

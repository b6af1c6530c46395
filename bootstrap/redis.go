package bootstrap

import (
	"context"
	"fmt"

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

func newRedis(lc fx.Lifecycle, c Config) (redis.UniversalClient, error) {
	opt, err := redis.ParseURL(c.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	client := redis.NewClient(opt)
	lc.Append(fx.StopHook(client.Close))
	return client, nil
}

type redisHealth struct{ c redis.UniversalClient }

func (h redisHealth) Name() string { return "redis" }

func (h redisHealth) Check(ctx context.Context) error { return h.c.Ping(ctx).Err() }

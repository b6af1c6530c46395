package redisstore

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/ports"
)

// countingThrottle admits everything and counts the calls it gets, so a
// test can tell which throttle answered.
type countingThrottle struct{ calls atomic.Int64 }

func (c *countingThrottle) Reserve(context.Context, string, time.Time) (bool, time.Duration, error) {
	c.calls.Add(1)
	return true, 0, nil
}

func (c *countingThrottle) Release(context.Context, string) error { c.calls.Add(1); return nil }

func (c *countingThrottle) Fail(context.Context, string, time.Time) (bool, error) {
	c.calls.Add(1)
	return false, nil
}

func (c *countingThrottle) Reset(context.Context, string) error { c.calls.Add(1); return nil }

// No Redis error reaches the caller of a login: while Redis is down the
// fallback answers every operation.
func TestFallbackLoginThrottleHidesADownRedis(t *testing.T) {
	ctx := context.Background()
	client := redis.NewClient(&redis.Options{
		Addr:          "127.0.0.1:1", // nothing listens there
		DialTimeout:   100 * time.Millisecond,
		DialerRetries: 1,
		MaxRetries:    -1,
	})
	t.Cleanup(func() { _ = client.Close() })
	p := ports.ThrottlePolicy{MaxFailures: 5, Window: time.Minute, Lockout: time.Minute}
	primary := NewLoginThrottle(client, "ums-test-down:", p)
	_, _, err := primary.Reserve(ctx, "k", time.Now())
	require.Error(t, err, "the primary alone reports Redis's error")

	fallback := &countingThrottle{}
	var ch changes
	f := NewFallbackLoginThrottle(primary, fallback, ch.record)
	now := time.Now()
	ok, _, err := f.Reserve(ctx, "login:a@example.com", now)
	require.NoError(t, err)
	assert.True(t, ok)
	_, err = f.Fail(ctx, "login:a@example.com", now)
	require.NoError(t, err)
	require.NoError(t, f.Release(ctx, "login:a@example.com"))
	require.NoError(t, f.Reset(ctx, "login:a@example.com"))
	assert.True(t, f.Degraded())
	assert.GreaterOrEqual(t, fallback.calls.Load(), int64(4))
	states, _ := ch.get()
	assert.Equal(t, []bool{true}, states, "onChange reports the switch once")
}

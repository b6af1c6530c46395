package redisstore

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/ports"
	"github.com/ums-project/ums/ports/porttest"
)

// testRateLimiter returns a limiter on the test Redis whose keys are
// deleted when t ends. redis_rate files them under "rate:"+prefix, where
// testRedis's own cleanup does not look.
func testRateLimiter(t *testing.T) (*RateLimiter, *redis.Client, string) {
	t.Helper()
	client, prefix := testRedis(t)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		iter := client.Scan(ctx, 0, "rate:"+prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			_ = client.Del(ctx, iter.Val()).Err()
		}
	})
	return NewRateLimiter(client, prefix), client, prefix
}

func TestRateLimiterContract(t *testing.T) {
	porttest.RunRateLimiter(t, func(t *testing.T) ports.RateLimiter {
		l, _, _ := testRateLimiter(t)
		return l
	})
}

func TestRateLimiterKeyExpiresWithTheRefill(t *testing.T) {
	ctx := context.Background()
	l, client, prefix := testRateLimiter(t)
	limit := ports.RateLimit{Rate: 1, Period: 10 * time.Second, Burst: 3}
	d, err := l.Allow(ctx, "10.0.0.1", limit)
	require.NoError(t, err)
	require.True(t, d.Allowed)

	ttl, err := client.TTL(ctx, "rate:"+prefix+"rl:10.0.0.1").Result()
	require.NoError(t, err)
	assert.InDelta(t, 10, ttl.Seconds(), 1, "kept as long as one token takes to come back")
}

func TestRateLimiterPrefixesDoNotMeet(t *testing.T) {
	ctx := context.Background()
	client, prefix := testRedis(t)
	t.Cleanup(func() {
		_ = client.Del(context.Background(), "rate:"+prefix+"a:rl:k", "rate:"+prefix+"b:rl:k").Err()
	})
	limit := ports.RateLimit{Rate: 1, Period: time.Hour, Burst: 1}
	d, err := NewRateLimiter(client, prefix+"a:").Allow(ctx, "k", limit)
	require.NoError(t, err)
	require.True(t, d.Allowed)
	d, err = NewRateLimiter(client, prefix+"b:").Allow(ctx, "k", limit)
	require.NoError(t, err)
	assert.True(t, d.Allowed)
}

// countingLimiter counts calls to the limiter it wraps.
type countingLimiter struct {
	ports.RateLimiter
	calls atomic.Int64
}

func (c *countingLimiter) Allow(ctx context.Context, key string, limit ports.RateLimit) (ports.RateDecision, error) {
	c.calls.Add(1)
	return c.RateLimiter.Allow(ctx, key, limit)
}

// fixedLimiter always answers the same, so a test can tell who answered.
type fixedLimiter struct {
	decision ports.RateDecision
	err      error
}

func (f fixedLimiter) Allow(context.Context, string, ports.RateLimit) (ports.RateDecision, error) {
	return f.decision, f.err
}

// switchableLimiter fails while down is set.
type switchableLimiter struct{ down atomic.Bool }

var errDown = errors.New("primary down")

func (s *switchableLimiter) Allow(context.Context, string, ports.RateLimit) (ports.RateDecision, error) {
	if s.down.Load() {
		return ports.RateDecision{}, errDown
	}
	return ports.RateDecision{Allowed: true, Limit: 1, Remaining: 1}, nil
}

// changes records onChange calls.
type changes struct {
	mu     sync.Mutex
	states []bool
	errs   []error
}

func (c *changes) record(degraded bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.states = append(c.states, degraded)
	c.errs = append(c.errs, err)
}

func (c *changes) get() ([]bool, []error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]bool(nil), c.states...), append([]error(nil), c.errs...)
}

var (
	testLimit        = ports.RateLimit{Rate: 10, Period: time.Minute, Burst: 5}
	fallbackDecision = ports.RateDecision{Allowed: true, Limit: 5, Remaining: 42}
)

func TestFallbackRateLimiterAnswersFromFallbackWhenRedisIsDown(t *testing.T) {
	ctx := context.Background()
	client := redis.NewClient(&redis.Options{
		Addr:        "127.0.0.1:1", // nothing listens there
		DialTimeout: 100 * time.Millisecond,
		// go-redis dials five times, 100ms apart, unless told otherwise.
		DialerRetries: 1,
		MaxRetries:    -1,
	})
	t.Cleanup(func() { _ = client.Close() })
	primary := &countingLimiter{RateLimiter: NewRateLimiter(client, "ums-test-down:")}
	fallback := &countingLimiter{RateLimiter: fixedLimiter{decision: fallbackDecision}}
	var ch changes
	f := NewFallbackRateLimiter(primary, fallback, ch.record)
	require.False(t, f.Degraded())

	start := time.Now()
	for range 20 {
		d, err := f.Allow(ctx, "10.0.0.1", testLimit)
		require.NoError(t, err)
		assert.Equal(t, fallbackDecision, d, "the fallback answers")
	}
	assert.True(t, f.Degraded())
	assert.EqualValues(t, 20, fallback.calls.Load())
	if time.Since(start) < primaryRetryInterval {
		assert.EqualValues(t, 1, primary.calls.Load(), "the primary is not tried again within a second")
	}
	states, errs := ch.get()
	assert.Equal(t, []bool{true}, states, "onChange reports the switch once")
	require.Len(t, errs, 1)
	assert.Error(t, errs[0])
}

func TestFallbackRateLimiterFailsWhenBothFail(t *testing.T) {
	errFallback := errors.New("fallback down")
	f := NewFallbackRateLimiter(fixedLimiter{err: errDown}, fixedLimiter{err: errFallback}, nil)
	_, err := f.Allow(context.Background(), "k", testLimit)
	assert.ErrorIs(t, err, errFallback)
	assert.True(t, f.Degraded())
}

func TestFallbackRateLimiterInvalidLimitDoesNotDegrade(t *testing.T) {
	primary := &countingLimiter{RateLimiter: fixedLimiter{decision: ports.RateDecision{Allowed: true}}}
	f := NewFallbackRateLimiter(primary, fixedLimiter{decision: fallbackDecision}, nil)
	_, err := f.Allow(context.Background(), "k", ports.RateLimit{})
	assert.Error(t, err)
	assert.False(t, f.Degraded())
	assert.Zero(t, primary.calls.Load())
}

func TestFallbackRateLimiterCancelledCallerDoesNotDegrade(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	primary := fixedLimiter{err: context.Canceled}
	f := NewFallbackRateLimiter(primary, fixedLimiter{decision: fallbackDecision}, nil)
	_, err := f.Allow(ctx, "k", testLimit)
	assert.ErrorIs(t, err, context.Canceled)
	assert.False(t, f.Degraded())
}

func TestFallbackRateLimiterRetriesOncePerInterval(t *testing.T) {
	ctx := context.Background()
	var sw switchableLimiter
	primary := &countingLimiter{RateLimiter: &sw}
	var ch changes
	f := NewFallbackRateLimiter(primary, fixedLimiter{decision: fallbackDecision}, ch.record)
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	f.now = func() time.Time { return now }

	sw.down.Store(true)
	for range 5 {
		d, err := f.Allow(ctx, "k", testLimit)
		require.NoError(t, err)
		assert.Equal(t, fallbackDecision, d)
	}
	assert.EqualValues(t, 1, primary.calls.Load())

	now = now.Add(primaryRetryInterval - time.Millisecond)
	_, _ = f.Allow(ctx, "k", testLimit)
	assert.EqualValues(t, 1, primary.calls.Load(), "not yet")
	now = now.Add(time.Millisecond)
	_, _ = f.Allow(ctx, "k", testLimit)
	_, _ = f.Allow(ctx, "k", testLimit)
	assert.EqualValues(t, 2, primary.calls.Load(), "one try a second")
	assert.True(t, f.Degraded())

	sw.down.Store(false)
	now = now.Add(primaryRetryInterval)
	d, err := f.Allow(ctx, "k", testLimit)
	require.NoError(t, err)
	assert.Equal(t, 1, d.Remaining, "the primary answers again")
	assert.False(t, f.Degraded())
	for range 3 {
		_, _ = f.Allow(ctx, "k", testLimit)
	}
	assert.EqualValues(t, 6, primary.calls.Load(), "healthy: every request goes to the primary")

	states, errs := ch.get()
	assert.Equal(t, []bool{true, false}, states)
	assert.ErrorIs(t, errs[0], errDown)
	assert.NoError(t, errs[1])
}

func TestFallbackRateLimiterReportsSwitchesInOrderUnderLoad(t *testing.T) {
	ctx := context.Background()
	var sw switchableLimiter
	var ch changes
	f := NewFallbackRateLimiter(&sw, fixedLimiter{decision: fallbackDecision}, ch.record)
	f.retryEvery = 0 // every request may try the primary

	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2000 {
				_, err := f.Allow(ctx, "k", testLimit)
				assert.NoError(t, err)
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	for down := true; ; down = !down {
		select {
		case <-done:
		default:
			sw.down.Store(down)
			runtime.Gosched()
			continue
		}
		break
	}
	sw.down.Store(false)

	_, _ = f.Allow(ctx, "k", testLimit)
	assert.False(t, f.Degraded())
	states, _ := ch.get()
	require.NotEmpty(t, states)
	for i, s := range states {
		assert.Equal(t, i%2 == 0, s, "switch %d alternates, starting with degraded", i)
	}
}

// The proxy of revocation_bus_test.go stands in for a Redis that hangs:
// frozen connections time out, and the ones dialled after work again.
func TestFallbackRateLimiterRecoversWhenRedisReturns(t *testing.T) {
	ctx := context.Background()
	real, prefix := testRedis(t)
	t.Cleanup(func() { _ = real.Del(context.Background(), "rate:"+prefix+"rl:10.0.0.1").Err() })
	px := startProxy(t, freeAddr(t))
	client := redis.NewClient(&redis.Options{
		Addr:        px.addr,
		DB:          real.Options().DB,
		DialTimeout: 200 * time.Millisecond,
		ReadTimeout: 200 * time.Millisecond,
		MaxRetries:  -1,
	})
	t.Cleanup(func() { _ = client.Close() })

	primary := &countingLimiter{RateLimiter: NewRateLimiter(client, prefix)}
	fallback := &countingLimiter{RateLimiter: fixedLimiter{decision: fallbackDecision}}
	var ch changes
	f := NewFallbackRateLimiter(primary, fallback, ch.record)
	f.retryEvery = 300 * time.Millisecond
	limit := ports.RateLimit{Rate: 100, Period: time.Hour, Burst: 100}

	d, err := f.Allow(ctx, "10.0.0.1", limit)
	require.NoError(t, err)
	assert.Equal(t, 99, d.Remaining, "Redis answers")
	assert.Zero(t, fallback.calls.Load())
	assert.False(t, f.Degraded())

	px.freeze()
	d, err = f.Allow(ctx, "10.0.0.1", limit)
	require.NoError(t, err)
	assert.Equal(t, fallbackDecision, d, "the fallback answers while Redis hangs")
	assert.True(t, f.Degraded())
	assert.EqualValues(t, 2, primary.calls.Load())

	d, err = f.Allow(ctx, "10.0.0.1", limit)
	require.NoError(t, err)
	assert.Equal(t, fallbackDecision, d, "Redis is not tried again at once")
	assert.EqualValues(t, 2, primary.calls.Load())

	time.Sleep(f.retryEvery)
	d, err = f.Allow(ctx, "10.0.0.1", limit)
	require.NoError(t, err)
	assert.Equal(t, 98, d.Remaining, "Redis answers again, with its count intact")
	assert.False(t, f.Degraded())
	assert.EqualValues(t, 3, primary.calls.Load())

	states, errs := ch.get()
	assert.Equal(t, []bool{true, false}, states)
	require.Len(t, errs, 2)
	assert.Error(t, errs[0])
	assert.NoError(t, errs[1])
}

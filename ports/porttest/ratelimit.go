package porttest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/ports"
)

// RunRateLimiter runs the contract of ports.RateLimiter against the
// limiter newLimiter returns. The limiters keep their own clocks, so one
// subtest sleeps briefly to see tokens refill. Every subtest uses keys of
// its own, so an adapter may share one backend between subtests.
func RunRateLimiter(t *testing.T, newLimiter func(t *testing.T) ports.RateLimiter) {
	ctx := context.Background()
	key := func(name string) string { return name + "-" + uuid.NewString() }
	// A slow refill, so nothing comes back while a subtest runs.
	slow := ports.RateLimit{Rate: 10, Period: time.Minute, Burst: 3}
	// interval is the time one token takes to come back.
	interval := func(l ports.RateLimit) time.Duration { return l.Period / time.Duration(l.Rate) }
	// Slack for stores that compute durations in floating point.
	const slack = time.Millisecond

	allow := func(t *testing.T, l ports.RateLimiter, k string, limit ports.RateLimit) ports.RateDecision {
		t.Helper()
		d, err := l.Allow(ctx, k, limit)
		require.NoError(t, err)
		assert.Equal(t, limit.Burst, d.Limit, "Limit is the burst")
		assert.GreaterOrEqual(t, d.Remaining, 0)
		assert.LessOrEqual(t, d.Remaining, limit.Burst)
		full := time.Duration(limit.Burst) * interval(limit)
		assert.LessOrEqual(t, d.ResetAfter, full+slack, "back to a full burst within a full refill")
		if d.Allowed {
			assert.Zero(t, d.RetryAfter, "an allowed request has no wait")
			assert.Positive(t, d.ResetAfter, "the request used a token")
		} else {
			assert.Zero(t, d.Remaining)
			assert.Positive(t, d.RetryAfter, "a refused request says how long to wait")
			assert.LessOrEqual(t, d.RetryAfter, limit.Period, "one token comes back within a period")
			assert.LessOrEqual(t, d.RetryAfter, d.ResetAfter+slack, "a token comes back before the whole burst")
		}
		return d
	}

	t.Run("burst_then_refused", func(t *testing.T) {
		l := newLimiter(t)
		k := key("burst")
		for i := range slow.Burst {
			d := allow(t, l, k, slow)
			require.True(t, d.Allowed, "request %d is in the burst", i+1)
			assert.Equal(t, slow.Burst-i-1, d.Remaining, "Remaining counts down")
			assert.InDelta(t, (time.Duration(i+1) * interval(slow)).Seconds(), d.ResetAfter.Seconds(), 1,
				"each request adds one interval to the reset")
		}
		for range 3 {
			d := allow(t, l, k, slow)
			assert.False(t, d.Allowed, "the burst is spent")
			assert.InDelta(t, interval(slow).Seconds(), d.RetryAfter.Seconds(), 1, "one token is an interval away")
		}
	})

	t.Run("first_request_leaves_burst_minus_one", func(t *testing.T) {
		l := newLimiter(t)
		d := allow(t, l, key("first"), ports.RateLimit{Rate: 100, Period: time.Hour, Burst: 50})
		assert.True(t, d.Allowed)
		assert.Equal(t, 49, d.Remaining)
		assert.Equal(t, 50, d.Limit)
	})

	t.Run("keys_are_independent", func(t *testing.T) {
		l := newLimiter(t)
		a, b := key("a"), key("b")
		for range slow.Burst {
			require.True(t, allow(t, l, a, slow).Allowed)
		}
		require.False(t, allow(t, l, a, slow).Allowed)

		d := allow(t, l, b, slow)
		assert.True(t, d.Allowed, "another key has its own burst")
		assert.Equal(t, slow.Burst-1, d.Remaining)
		assert.False(t, allow(t, l, a, slow).Allowed, "and the first stays spent")
	})

	t.Run("refill_after_time_and_refusals_cost_nothing", func(t *testing.T) {
		l := newLimiter(t)
		k := key("refill")
		fast := ports.RateLimit{Rate: 1, Period: 200 * time.Millisecond, Burst: 2}
		for range fast.Burst {
			require.True(t, allow(t, l, k, fast).Allowed)
		}
		// Were refusals charged, these would push the next token 600ms out.
		for range 3 {
			require.False(t, allow(t, l, k, fast).Allowed)
		}
		time.Sleep(250 * time.Millisecond)
		assert.True(t, allow(t, l, k, fast).Allowed, "a token came back after a period")
	})

	t.Run("concurrent_requests_admit_exactly_the_burst", func(t *testing.T) {
		l := newLimiter(t)
		k := key("race")
		limit := ports.RateLimit{Rate: 10, Period: time.Hour, Burst: 10}
		const n = 50
		var wg sync.WaitGroup
		start := make(chan struct{})
		decisions := make([]ports.RateDecision, n)
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				decisions[i], errs[i] = l.Allow(ctx, k, limit)
			}()
		}
		close(start)
		wg.Wait()
		admitted := 0
		remaining := map[int]bool{}
		for i := range n {
			require.NoError(t, errs[i])
			if decisions[i].Allowed {
				admitted++
				remaining[decisions[i].Remaining] = true
			} else {
				assert.Positive(t, decisions[i].RetryAfter)
			}
		}
		assert.Equal(t, limit.Burst, admitted)
		assert.Len(t, remaining, limit.Burst, "each admitted request saw a different Remaining")
	})

	t.Run("invalid_limits_are_errors", func(t *testing.T) {
		l := newLimiter(t)
		for _, bad := range []ports.RateLimit{
			{Rate: 0, Period: time.Second, Burst: 1},
			{Rate: 1, Period: 0, Burst: 1},
			{Rate: 1, Period: time.Second, Burst: 0},
			{Rate: -1, Period: time.Second, Burst: 1},
		} {
			_, err := l.Allow(ctx, key("invalid"), bad)
			assert.Error(t, err, "%+v", bad)
		}
	})
}

package memory

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/ports"
	"github.com/ums-project/ums/ports/porttest"
)

func TestRateLimiterContract(t *testing.T) {
	porttest.RunRateLimiter(t, func(t *testing.T) ports.RateLimiter {
		return NewRateLimiter()
	})
}

// fakeClock is the limiter's time, moved by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }
func newFakeClockLimiter() (*RateLimiter, *fakeClock) {
	c := &fakeClock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := NewRateLimiter()
	l.now = c.now
	return l, c
}

func allowed(t *testing.T, l *RateLimiter, key string, limit ports.RateLimit) bool {
	t.Helper()
	d, err := l.Allow(context.Background(), key, limit)
	require.NoError(t, err)
	return d.Allowed
}

func TestRateLimiterDecisionFields(t *testing.T) {
	l, clock := newFakeClockLimiter()
	limit := ports.RateLimit{Rate: 2, Period: time.Second, Burst: 4} // a token each 500ms

	for i := range 4 {
		d, err := l.Allow(context.Background(), "k", limit)
		require.NoError(t, err)
		assert.Equal(t, ports.RateDecision{
			Allowed:    true,
			Limit:      4,
			Remaining:  3 - i,
			ResetAfter: time.Duration(i+1) * 500 * time.Millisecond,
		}, d)
	}
	d, err := l.Allow(context.Background(), "k", limit)
	require.NoError(t, err)
	assert.Equal(t, ports.RateDecision{Limit: 4, RetryAfter: 500 * time.Millisecond, ResetAfter: 2 * time.Second}, d)

	clock.advance(300 * time.Millisecond)
	d, err = l.Allow(context.Background(), "k", limit)
	require.NoError(t, err)
	assert.Equal(t, ports.RateDecision{Limit: 4, RetryAfter: 200 * time.Millisecond, ResetAfter: 1700 * time.Millisecond}, d,
		"the refusal before took nothing")

	clock.advance(200 * time.Millisecond)
	assert.True(t, allowed(t, l, "k", limit))
	assert.False(t, allowed(t, l, "k", limit))
}

func TestRateLimiterRebuildsOnLimitChange(t *testing.T) {
	l, _ := newFakeClockLimiter()
	one := ports.RateLimit{Rate: 1, Period: time.Hour, Burst: 1}
	require.True(t, allowed(t, l, "k", one))
	require.False(t, allowed(t, l, "k", one))

	three := ports.RateLimit{Rate: 1, Period: time.Hour, Burst: 3}
	d, err := l.Allow(context.Background(), "k", three)
	require.NoError(t, err)
	assert.True(t, d.Allowed, "a new limit starts afresh")
	assert.Equal(t, 3, d.Limit)
	assert.Equal(t, 2, d.Remaining)
}

func TestRateLimiterPrunesFullBuckets(t *testing.T) {
	l, clock := newFakeClockLimiter()
	limit := ports.RateLimit{Rate: 1, Period: time.Second, Burst: 2} // full after 2s idle
	long := ports.RateLimit{Rate: 1, Period: time.Hour, Burst: 1}    // full after 1h idle

	require.True(t, allowed(t, l, "long", long))
	for i := range 2 * minPruneSize {
		allowed(t, l, fmt.Sprintf("spray%d", i), limit)
	}
	assert.Equal(t, 2*minPruneSize+1, l.size(), "nothing is full yet")

	clock.advance(time.Second)
	require.True(t, allowed(t, l, "recent", limit))
	require.True(t, allowed(t, l, "recent", limit))
	clock.advance(time.Second)
	for i := range pruneEvery {
		allowed(t, l, fmt.Sprintf("late%d", i), limit)
	}
	assert.Equal(t, pruneEvery+2, l.size(), "the sprayed buckets are full again and forgotten")
	assert.False(t, allowed(t, l, "long", long), "a bucket still refilling survives")
	d, err := l.Allow(context.Background(), "recent", limit)
	require.NoError(t, err)
	assert.Equal(t, 0, d.Remaining, "so does a recently emptied one: one token back after 1s, now spent")
}

func TestRateLimiterCapsKeys(t *testing.T) {
	l, _ := newFakeClockLimiter()
	l.maxKeys = 100
	limit := ports.RateLimit{Rate: 1, Period: time.Hour, Burst: 1}

	require.True(t, allowed(t, l, "keep", limit))
	for i := range 99 {
		allowed(t, l, fmt.Sprintf("flood%d", i), limit)
	}
	require.Equal(t, 100, l.size())
	require.False(t, allowed(t, l, "keep", limit), "keep is the most recently used again")

	for i := 99; i < 1000; i++ {
		allowed(t, l, fmt.Sprintf("flood%d", i), limit)
		require.LessOrEqual(t, l.size(), 100)
	}
	assert.Equal(t, 100, l.size())
	l.mu.Lock()
	_, kept := l.buckets["flood999"]
	_, dropped := l.buckets["flood0"]
	l.mu.Unlock()
	assert.True(t, kept, "the newest key is held")
	assert.False(t, dropped, "the oldest-used key went first")
	assert.True(t, allowed(t, l, "keep", limit), "a forgotten key gets a fresh burst: the cost of the cap")
}

func TestRateLimiterRejectsInvalidLimits(t *testing.T) {
	_, err := NewRateLimiter().Allow(context.Background(), "k", ports.RateLimit{Rate: 1, Burst: 1})
	assert.ErrorContains(t, err, "must be positive")
}

package redisstore

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/ums-project/ums/ports"
)

// RateLimiter is a ports.RateLimiter shared by every instance through
// Redis, using the GCRA of redis_rate: one key per limited key holding
// its theoretical arrival time, kept no longer than the time to refill.
// The time is Redis's own, so instances' clocks do not matter.
//
// redis_rate puts its own "rate:" in front of every key, so the key in
// Redis is "rate:"+prefix+"rl:"+key, outside prefix's namespace.
type RateLimiter struct {
	limiter *redis_rate.Limiter
	prefix  string
}

var _ ports.RateLimiter = (*RateLimiter)(nil)

// NewRateLimiter returns a limiter on client; prefix namespaces its keys.
// The limiter does not own client.
func NewRateLimiter(client redis.UniversalClient, prefix string) *RateLimiter {
	return &RateLimiter{limiter: redis_rate.NewLimiter(client), prefix: prefix}
}

// Allow implements ports.RateLimiter. A refused request takes nothing.
// Errors are Redis's: the caller decides whether to fail open, or wraps
// the limiter in a FallbackRateLimiter.
func (l *RateLimiter) Allow(ctx context.Context, key string, limit ports.RateLimit) (ports.RateDecision, error) {
	if err := checkRateLimit(limit); err != nil {
		return ports.RateDecision{}, err
	}
	res, err := l.limiter.Allow(ctx, l.prefix+"rl:"+key, redis_rate.Limit{
		Rate:   limit.Rate,
		Period: limit.Period,
		Burst:  limit.Burst,
	})
	if err != nil {
		return ports.RateDecision{}, fmt.Errorf("rate limiter: %w", err)
	}
	return ports.RateDecision{
		Allowed:   res.Allowed > 0,
		Limit:     limit.Burst,
		Remaining: max(res.Remaining, 0),
		// redis_rate says -1 for "no wait".
		RetryAfter: max(res.RetryAfter, 0),
		ResetAfter: max(res.ResetAfter, 0),
	}, nil
}

func checkRateLimit(limit ports.RateLimit) error {
	if limit.Rate <= 0 || limit.Period <= 0 || limit.Burst <= 0 {
		return fmt.Errorf("rate limit %d per %s (burst %d): rate, period and burst must be positive",
			limit.Rate, limit.Period, limit.Burst)
	}
	return nil
}

// primaryRetryInterval is how often a degraded FallbackRateLimiter tries
// its primary again: rarely enough that a Redis that is down costs one
// request a second its timeout, not every request.
const primaryRetryInterval = time.Second

// FallbackRateLimiter answers from a primary limiter (Redis, shared by
// every instance) and, while the primary fails, from a fallback (this
// process's memory): limits then hold per instance instead of not at all.
// It is safe for concurrent use.
type FallbackRateLimiter struct {
	primary, fallback ports.RateLimiter
	onChange          func(degraded bool, err error)
	retryEvery        time.Duration
	now               func() time.Time

	// state counts switches between healthy and degraded, so it is odd
	// while degraded. An answer from the primary may switch only from
	// the state its request began in: a late reply from before a switch
	// says nothing about the primary now.
	state atomic.Uint64
	// nextTry is when, in unix nanoseconds, a degraded limiter next lets
	// one request through to the primary.
	nextTry atomic.Int64
	// mu keeps switches and their reports in one order.
	mu sync.Mutex
}

var _ ports.RateLimiter = (*FallbackRateLimiter)(nil)

// NewFallbackRateLimiter returns a limiter that uses primary and falls
// back to fallback while primary fails. onChange, which may be nil, is
// told of every switch: degraded with the primary's error, then
// recovered with a nil error. Calls to it are serialised and in order;
// it must not call Allow.
func NewFallbackRateLimiter(primary, fallback ports.RateLimiter, onChange func(degraded bool, err error)) *FallbackRateLimiter {
	if onChange == nil {
		onChange = func(bool, error) {}
	}
	return &FallbackRateLimiter{
		primary:    primary,
		fallback:   fallback,
		onChange:   onChange,
		retryEvery: primaryRetryInterval,
		now:        time.Now,
	}
}

// Degraded reports whether answers currently come from the fallback.
func (f *FallbackRateLimiter) Degraded() bool { return f.state.Load()%2 == 1 }

// Allow implements ports.RateLimiter. It fails only when the fallback
// does too, for an invalid limit, or when ctx is cancelled.
func (f *FallbackRateLimiter) Allow(ctx context.Context, key string, limit ports.RateLimit) (ports.RateDecision, error) {
	// An invalid limit is the caller's fault, not the primary's.
	if err := checkRateLimit(limit); err != nil {
		return ports.RateDecision{}, err
	}
	state := f.state.Load()
	degraded := state%2 == 1
	if degraded && !f.claimTry() {
		return f.fallback.Allow(ctx, key, limit)
	}
	d, err := f.primary.Allow(ctx, key, limit)
	switch {
	case err == nil:
		if degraded {
			f.switchFrom(state, nil)
		}
		return d, nil
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		// The caller left; that says nothing of the primary.
		return ports.RateDecision{}, err
	}
	if !degraded {
		f.switchFrom(state, err)
	}
	return f.fallback.Allow(ctx, key, limit)
}

// claimTry reports whether this request is the one that tries the
// primary again; at most one does per retryEvery.
func (f *FallbackRateLimiter) claimTry() bool {
	next := f.nextTry.Load()
	now := f.now().UnixNano()
	return now >= next && f.nextTry.CompareAndSwap(next, now+int64(f.retryEvery))
}

// switchFrom moves to degraded (err != nil) or back to healthy, unless
// another request has switched since state.
func (f *FallbackRateLimiter) switchFrom(state uint64, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil {
		// Before the switch shows, so no request tries the primary at once.
		f.nextTry.Store(f.now().Add(f.retryEvery).UnixNano())
	}
	if f.state.CompareAndSwap(state, state+1) {
		f.onChange(err != nil, err)
	}
}

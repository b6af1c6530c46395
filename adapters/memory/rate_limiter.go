package memory

import (
	"container/list"
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/ums-project/ums/ports"
)

// defaultMaxKeys bounds the memory a flood of distinct keys (say, client
// addresses) can take: past it the least recently used key is forgotten,
// which hands that key a fresh burst.
const defaultMaxKeys = 100_000

// bucket is one key's token bucket.
type bucket struct {
	key      string
	limit    ports.RateLimit
	lim      *rate.Limiter
	lastUsed time.Time
	// refill is how long the bucket takes to go from empty to full; a
	// bucket idle that long is full, so forgetting it loses nothing.
	refill time.Duration
}

// RateLimiter is a ports.RateLimiter in this process's memory: a token
// bucket per key, refilled at limit.Rate per limit.Period up to
// limit.Burst.
type RateLimiter struct {
	now     func() time.Time
	maxKeys int

	mu        sync.Mutex
	buckets   map[string]*list.Element // of *bucket
	recency   *list.List               // most recently used at the front
	calls     int
	pruneSize int // prune early when the map grows past this
}

var _ ports.RateLimiter = (*RateLimiter)(nil)

// NewRateLimiter returns an empty RateLimiter.
func NewRateLimiter() *RateLimiter {
	return &RateLimiter{
		now:       time.Now,
		maxKeys:   defaultMaxKeys,
		buckets:   map[string]*list.Element{},
		recency:   list.New(),
		pruneSize: minPruneSize,
	}
}

// Allow implements ports.RateLimiter. A refused request takes no token.
// A key asked about under a different limit than last time starts afresh
// with a full burst of the new limit.
func (l *RateLimiter) Allow(_ context.Context, key string, limit ports.RateLimit) (ports.RateDecision, error) {
	if err := checkRateLimit(limit); err != nil {
		return ports.RateDecision{}, err
	}
	now := l.now()

	l.mu.Lock()
	defer l.mu.Unlock()
	l.maybePrune(now)
	b := l.bucket(key, limit, now)

	d := ports.RateDecision{Limit: limit.Burst}
	r := b.lim.ReserveN(now, 1)
	if delay := r.DelayFrom(now); delay > 0 {
		// Give the token back: only admitted requests count.
		r.CancelAt(now)
		d.RetryAfter = delay
	} else {
		d.Allowed = true
	}
	tokens := max(b.lim.TokensAt(now), 0)
	d.Remaining = int(math.Floor(tokens))
	d.ResetAfter = durationOf(float64(limit.Burst)-tokens, limit)
	return d, nil
}

// bucket returns key's bucket for limit, made anew when the key is new or
// its limit changed, and marks it used at now.
func (l *RateLimiter) bucket(key string, limit ports.RateLimit, now time.Time) *bucket {
	if e, ok := l.buckets[key]; ok {
		b := e.Value.(*bucket)
		if b.limit != limit {
			*b = *newBucket(key, limit)
		}
		b.lastUsed = now
		l.recency.MoveToFront(e)
		return b
	}
	for l.recency.Len() >= l.maxKeys {
		l.remove(l.recency.Back())
	}
	b := newBucket(key, limit)
	b.lastUsed = now
	l.buckets[key] = l.recency.PushFront(b)
	return b
}

func newBucket(key string, limit ports.RateLimit) *bucket {
	perSecond := float64(limit.Rate) / limit.Period.Seconds()
	return &bucket{
		key:    key,
		limit:  limit,
		lim:    rate.NewLimiter(rate.Limit(perSecond), limit.Burst),
		refill: durationOf(float64(limit.Burst), limit),
	}
}

// maybePrune forgets buckets idle long enough to be full again. Like
// LoginThrottle's, it runs every pruneEvery calls, or sooner when the map
// has doubled since the last prune; the cap in bucket catches the rest.
func (l *RateLimiter) maybePrune(now time.Time) {
	l.calls++
	if l.calls < pruneEvery && len(l.buckets) < l.pruneSize {
		return
	}
	l.calls = 0
	for e := l.recency.Back(); e != nil; {
		prev := e.Prev()
		if b := e.Value.(*bucket); now.Sub(b.lastUsed) >= b.refill {
			l.remove(e)
		}
		e = prev
	}
	l.pruneSize = max(minPruneSize, 2*len(l.buckets))
}

func (l *RateLimiter) remove(e *list.Element) {
	delete(l.buckets, e.Value.(*bucket).key)
	l.recency.Remove(e)
}

// durationOf is how long limit takes to refill tokens.
func durationOf(tokens float64, limit ports.RateLimit) time.Duration {
	if tokens <= 0 {
		return 0
	}
	d := tokens * float64(limit.Period) / float64(limit.Rate)
	if d >= math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(math.Ceil(d))
}

func checkRateLimit(limit ports.RateLimit) error {
	if limit.Rate <= 0 || limit.Period <= 0 || limit.Burst <= 0 {
		return fmt.Errorf("rate limit %d per %s (burst %d): rate, period and burst must be positive",
			limit.Rate, limit.Period, limit.Burst)
	}
	return nil
}

// size reports how many keys are held, for tests.
func (l *RateLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

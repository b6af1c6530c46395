package ports

import (
	"context"
	"time"
)

// RateLimit is how many requests a key may make per Period, with Burst
// allowed at once.
type RateLimit struct {
	Rate   int
	Period time.Duration
	Burst  int
}

// RateDecision is the answer for one request.
type RateDecision struct {
	Allowed bool
	// Limit is the burst size, for the RateLimit-Limit header.
	Limit int
	// Remaining requests that would pass right now.
	Remaining int
	// RetryAfter is when a refused request may be retried (0 if allowed).
	RetryAfter time.Duration
	// ResetAfter is when the key is back to a full burst.
	ResetAfter time.Duration
}

// RateLimiter decides whether one more request under key fits the limit.
type RateLimiter interface {
	// Allow counts one request under key. An error means the limiter's
	// store failed; callers decide whether to fail open.
	Allow(ctx context.Context, key string, limit RateLimit) (RateDecision, error)
}

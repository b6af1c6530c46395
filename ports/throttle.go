package ports

import (
	"context"
	"time"
)

// LoginThrottle counts failed logins per identifier and locks an identifier
// after too many. Each password check is reserved first, so parallel
// attempts cannot get more password checks through than the threshold.
// The caller passes the time, so every adapter follows one clock.
type LoginThrottle interface {
	// Reserve counts one attempt for key before its password is checked.
	// When key is locked, or the attempts in flight plus the failures in
	// the window already reach the threshold, it returns ok=false and how
	// long to wait.
	Reserve(ctx context.Context, key string, now time.Time) (ok bool, retryAfter time.Duration, err error)
	// Release gives back a reservation whose password was never checked
	// (the hash pool was full, say).
	Release(ctx context.Context, key string) error
	// Fail keeps the reservation as a failure; when the failures reach the
	// threshold the key is locked until now+Lockout and Fail reports
	// locked=true (once, for the failure that locked it).
	Fail(ctx context.Context, key string, now time.Time) (locked bool, err error)
	// Reset forgets key's failures and lock, after a successful login or
	// an administrator's unlock. A store that can joins the transaction in
	// ctx (forgetting is part of the success it records); Reserve, Release
	// and Fail never do: their decisions stand whatever the caller does.
	Reset(ctx context.Context, key string) error
}

// ThrottlePolicy is when a login identifier is locked: after MaxFailures
// (at least 1) within Window, counted from the first attempt after a fresh
// start, for Lockout.
type ThrottlePolicy struct {
	MaxFailures int
	Window      time.Duration
	Lockout     time.Duration
}

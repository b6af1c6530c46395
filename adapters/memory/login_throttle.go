// Package memory holds in-process adapters for a single instance. Their
// state lives in one process and dies with it, so several instances behind
// one load balancer need the shared adapters (Postgres or Redis) instead.
package memory

import (
	"context"
	"sync"
	"time"

	"github.com/ums-project/ums/ports"
)

// Pruning is amortised over Reserve calls instead of run by a goroutine,
// so a LoginThrottle needs no Close.
const (
	pruneEvery   = 1024
	minPruneSize = 4096
)

type attempts struct {
	count       int // reservations in flight plus failures in the window
	start       time.Time
	lockedUntil time.Time // zero when not locked
}

// LoginThrottle is a ports.LoginThrottle in this process's memory.
type LoginThrottle struct {
	policy ports.ThrottlePolicy

	mu        sync.Mutex
	keys      map[string]*attempts
	calls     int
	pruneSize int // prune early when the map grows past this
}

var _ ports.LoginThrottle = (*LoginThrottle)(nil)

// NewLoginThrottle returns an empty LoginThrottle following p.
func NewLoginThrottle(p ports.ThrottlePolicy) *LoginThrottle {
	return &LoginThrottle{policy: p, keys: map[string]*attempts{}, pruneSize: minPruneSize}
}

// Reserve implements ports.LoginThrottle.
func (l *LoginThrottle) Reserve(_ context.Context, key string, now time.Time) (bool, time.Duration, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.maybePrune(now)
	a, ok := l.keys[key]
	if !ok {
		a = &attempts{start: now}
		l.keys[key] = a
	}
	if !a.lockedUntil.IsZero() && a.lockedUntil.After(now) {
		return false, a.lockedUntil.Sub(now), nil
	}
	if l.stale(a, now) {
		*a = attempts{start: now}
	}
	if a.count >= l.policy.MaxFailures {
		// Attempts in flight fill the window; none has failed into a lock
		// yet, so the honest wait is the lock they may cause.
		return false, l.policy.Lockout, nil
	}
	a.count++
	return true, 0, nil
}

// Release implements ports.LoginThrottle.
func (l *LoginThrottle) Release(_ context.Context, key string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if a, ok := l.keys[key]; ok && a.count > 0 {
		a.count--
	}
	return nil
}

// Fail implements ports.LoginThrottle. A failure whose reservation is gone
// (the key was reset or pruned meanwhile) still counts once.
func (l *LoginThrottle) Fail(_ context.Context, key string, now time.Time) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a, ok := l.keys[key]
	if !ok {
		a = &attempts{start: now}
		l.keys[key] = a
	}
	if a.count < 1 {
		a.count = 1
	}
	if a.count >= l.policy.MaxFailures && a.lockedUntil.IsZero() {
		a.lockedUntil = now.Add(l.policy.Lockout)
		return true, nil
	}
	return false, nil
}

// Reset implements ports.LoginThrottle.
func (l *LoginThrottle) Reset(_ context.Context, key string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.keys, key)
	return nil
}

// stale reports whether a Reserve at now starts the key afresh: its lock
// has ended, or, unlocked, its window has passed.
func (l *LoginThrottle) stale(a *attempts, now time.Time) bool {
	if !a.lockedUntil.IsZero() {
		return !a.lockedUntil.After(now)
	}
	return !now.Before(a.start.Add(l.policy.Window))
}

// maybePrune drops stale keys, which a Reserve would start afresh anyway.
// It runs every pruneEvery calls, or sooner when the map has doubled since
// the last prune, so memory follows the live keys.
func (l *LoginThrottle) maybePrune(now time.Time) {
	l.calls++
	if l.calls < pruneEvery && len(l.keys) < l.pruneSize {
		return
	}
	l.calls = 0
	for key, a := range l.keys {
		if l.stale(a, now) {
			delete(l.keys, key)
		}
	}
	l.pruneSize = max(minPruneSize, 2*len(l.keys))
}

// size reports how many keys are held, for tests.
func (l *LoginThrottle) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}

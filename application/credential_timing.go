package application

import (
	"context"
	"sync"
	"time"
)

// failureTiming makes every failed password check take as long as the
// costliest kind of check the store still holds, so the time of an answer
// tells no more than its body whether an account exists.
//
// An unknown login is checked against a dummy hash made with the current
// parameters. While imported hashes of other systems (or hashes made with
// older parameters) remain, a wrong password for such an account costs
// what that scheme costs, often several times an argon2id check. Rather
// than burn that CPU on every failure, failures wait until the floor: the
// running mean of the slowest kind of check seen. Successes are not padded;
// they are told apart by their answer anyway.
type failureTiming struct {
	mu       sync.Mutex
	current  runningMean
	outdated runningMean
	// outdatedLive is whether outdated hashes remain: set by a sample
	// found in the store, or by checking one; cleared when the store has
	// none left.
	outdatedLive bool

	sleep func(ctx context.Context, d time.Duration)
}

func newFailureTiming() *failureTiming {
	return &failureTiming{sleep: sleepCtx}
}

// observe records how long one check took and whether its hash was
// outdated.
func (ft *failureTiming) observe(d time.Duration, outdated bool) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	if outdated {
		ft.outdated.add(d)
		ft.outdatedLive = true
		return
	}
	ft.current.add(d)
}

// setOutdatedLive records whether the store still holds outdated hashes.
func (ft *failureTiming) setOutdatedLive(live bool) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	ft.outdatedLive = live
}

// floor is how long a failed check must take.
func (ft *failureTiming) floor() time.Duration {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	f := ft.current.value()
	if ft.outdatedLive && ft.outdated.value() > f {
		f = ft.outdated.value()
	}
	return f
}

// pad waits until the floor has passed since started.
func (ft *failureTiming) pad(ctx context.Context, started time.Time) {
	if wait := ft.floor() - time.Since(started); wait > 0 {
		ft.sleep(ctx, wait)
	}
}

// runningMean is an exponentially weighted mean: it follows the machine's
// load without being thrown by one slow check.
type runningMean struct {
	mean time.Duration
	n    int
}

func (m *runningMean) add(d time.Duration) {
	if m.n == 0 {
		m.mean = d
	} else {
		m.mean += (d - m.mean) / 5
	}
	m.n++
}

func (m *runningMean) value() time.Duration { return m.mean }

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

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

// RunLoginThrottle runs the contract of ports.LoginThrottle against the
// throttle newThrottle returns for a policy. Time only moves through the
// now each call passes, so nothing sleeps. Every subtest uses keys of its
// own, so an adapter may share one backend between subtests.
func RunLoginThrottle(t *testing.T, newThrottle func(t *testing.T, p ports.ThrottlePolicy) ports.LoginThrottle) {
	ctx := context.Background()
	policy := ports.ThrottlePolicy{MaxFailures: 5, Window: 15 * time.Minute, Lockout: 10 * time.Minute}
	// Whole seconds, so every store keeps the instants exactly.
	base := time.Date(2030, 3, 4, 5, 6, 7, 0, time.UTC)
	key := func(name string) string { return name + "-" + uuid.NewString() + "@example.com" }

	reserve := func(t *testing.T, th ports.LoginThrottle, k string, now time.Time) (bool, time.Duration) {
		t.Helper()
		ok, retry, err := th.Reserve(ctx, k, now)
		require.NoError(t, err)
		if ok {
			assert.Zero(t, retry, "an allowed attempt has no wait")
		} else {
			assert.Positive(t, retry, "a refused attempt says how long to wait")
		}
		return ok, retry
	}
	fail := func(t *testing.T, th ports.LoginThrottle, k string, now time.Time) bool {
		t.Helper()
		locked, err := th.Fail(ctx, k, now)
		require.NoError(t, err)
		return locked
	}
	// failTimes reserves and fails n attempts, one second apart from start,
	// and returns which of them reported the lock (1-based).
	failTimes := func(t *testing.T, th ports.LoginThrottle, k string, start time.Time, n int) []int {
		t.Helper()
		var locking []int
		for i := 1; i <= n; i++ {
			now := start.Add(time.Duration(i-1) * time.Second)
			ok, _ := reserve(t, th, k, now)
			require.True(t, ok, "attempt %d is allowed", i)
			if fail(t, th, k, now) {
				locking = append(locking, i)
			}
		}
		return locking
	}

	t.Run("locks_after_max_failures", func(t *testing.T) {
		th := newThrottle(t, policy)
		k := key("locks")
		assert.Equal(t, []int{5}, failTimes(t, th, k, base, 5), "exactly the fifth failure locks")
		lockedAt := base.Add(4 * time.Second)

		ok, retry := reserve(t, th, k, lockedAt.Add(time.Second))
		assert.False(t, ok)
		assert.Equal(t, policy.Lockout-time.Second, retry)

		ok, retry = reserve(t, th, k, lockedAt.Add(policy.Lockout-time.Second))
		assert.False(t, ok)
		assert.Equal(t, time.Second, retry)
	})

	t.Run("success_resets", func(t *testing.T) {
		th := newThrottle(t, policy)
		k := key("reset")
		assert.Empty(t, failTimes(t, th, k, base, 4))
		require.NoError(t, th.Reset(ctx, k))
		assert.Equal(t, []int{5}, failTimes(t, th, k, base.Add(time.Minute), 5), "the count starts over")
	})

	t.Run("reset_unlocks", func(t *testing.T) {
		th := newThrottle(t, policy)
		k := key("unlock")
		require.Equal(t, []int{5}, failTimes(t, th, k, base, 5))
		require.NoError(t, th.Reset(ctx, k))
		ok, _ := reserve(t, th, k, base.Add(10*time.Second))
		assert.True(t, ok)
	})

	t.Run("failures_count_within_the_window", func(t *testing.T) {
		th := newThrottle(t, policy)
		k := key("inwindow")
		assert.Empty(t, failTimes(t, th, k, base, 4))
		now := base.Add(policy.Window - time.Second)
		ok, _ := reserve(t, th, k, now)
		require.True(t, ok)
		assert.True(t, fail(t, th, k, now), "the fifth failure, still in the window, locks")
	})

	t.Run("window_expiry_restarts_the_count", func(t *testing.T) {
		th := newThrottle(t, policy)
		k := key("window")
		assert.Empty(t, failTimes(t, th, k, base, 4))
		assert.Equal(t, []int{5}, failTimes(t, th, k, base.Add(policy.Window), 5),
			"the window begun at the first attempt has passed; five more fit")
	})

	t.Run("lock_expiry_allows_again", func(t *testing.T) {
		th := newThrottle(t, policy)
		k := key("lockend")
		require.Equal(t, []int{5}, failTimes(t, th, k, base, 5))
		lockEnd := base.Add(4*time.Second + policy.Lockout)

		ok, retry := reserve(t, th, k, lockEnd.Add(-time.Second))
		assert.False(t, ok)
		assert.Equal(t, time.Second, retry)

		assert.Equal(t, []int{5}, failTimes(t, th, k, lockEnd, 5), "a fresh count after the lock")
	})

	t.Run("attempts_in_flight_count", func(t *testing.T) {
		th := newThrottle(t, policy)
		k := key("inflight")
		for i := range policy.MaxFailures {
			ok, _ := reserve(t, th, k, base)
			require.True(t, ok, "reservation %d", i+1)
		}
		ok, retry := reserve(t, th, k, base.Add(time.Second))
		assert.False(t, ok, "five checks are in flight")
		assert.Equal(t, policy.Lockout, retry, "no lock yet: wait as long as one would last")

		locks := 0
		for range policy.MaxFailures {
			if fail(t, th, k, base.Add(2*time.Second)) {
				locks++
			}
		}
		assert.Equal(t, 1, locks, "one failure reports the lock")
		ok, retry = reserve(t, th, k, base.Add(3*time.Second))
		assert.False(t, ok)
		assert.Equal(t, policy.Lockout-time.Second, retry)
	})

	t.Run("release_gives_the_slot_back", func(t *testing.T) {
		th := newThrottle(t, policy)
		k := key("release")
		for range policy.MaxFailures {
			ok, _ := reserve(t, th, k, base)
			require.True(t, ok)
		}
		ok, _ := reserve(t, th, k, base)
		require.False(t, ok)

		require.NoError(t, th.Release(ctx, k))
		ok, _ = reserve(t, th, k, base.Add(time.Second))
		assert.True(t, ok, "the released slot is free again")
		ok, _ = reserve(t, th, k, base.Add(time.Second))
		assert.False(t, ok, "and only that one")

		for range policy.MaxFailures {
			require.NoError(t, th.Release(ctx, k))
		}
		assert.Empty(t, failTimes(t, th, k, base.Add(2*time.Second), 4), "all slots back")
	})

	t.Run("release_never_goes_below_zero", func(t *testing.T) {
		th := newThrottle(t, policy)
		k := key("underflow")
		for range 3 {
			require.NoError(t, th.Release(ctx, k), "releasing an unknown key is harmless")
		}
		ok, _ := reserve(t, th, k, base)
		require.True(t, ok)
		for range 3 {
			require.NoError(t, th.Release(ctx, k))
		}
		for i := range policy.MaxFailures {
			ok, _ := reserve(t, th, k, base)
			require.True(t, ok, "reservation %d", i+1)
		}
		ok, _ = reserve(t, th, k, base)
		assert.False(t, ok, "extra releases gave no extra slots")
	})

	t.Run("reset_of_unknown_key_is_harmless", func(t *testing.T) {
		th := newThrottle(t, policy)
		require.NoError(t, th.Reset(ctx, key("nobody")))
	})

	t.Run("keys_are_independent", func(t *testing.T) {
		th := newThrottle(t, policy)
		a, b := key("a"), key("b")
		require.Equal(t, []int{5}, failTimes(t, th, a, base, 5))
		ok, _ := reserve(t, th, a, base.Add(time.Minute))
		require.False(t, ok)

		ok, _ = reserve(t, th, b, base.Add(time.Minute))
		assert.True(t, ok, "another key is not locked")
		assert.False(t, fail(t, th, b, base.Add(time.Minute)), "nor near a lock")
		require.NoError(t, th.Reset(ctx, b))
		ok, _ = reserve(t, th, a, base.Add(time.Minute))
		assert.False(t, ok, "resetting another key leaves this one locked")
	})

	t.Run("other_policy", func(t *testing.T) {
		p := ports.ThrottlePolicy{MaxFailures: 2, Window: time.Minute, Lockout: time.Hour}
		th := newThrottle(t, p)
		k := key("policy")
		assert.Equal(t, []int{2}, failTimes(t, th, k, base, 2))
		ok, retry := reserve(t, th, k, base.Add(time.Second))
		assert.False(t, ok)
		assert.Equal(t, time.Hour, retry)
		ok, _ = reserve(t, th, k, base.Add(time.Second+time.Hour))
		assert.True(t, ok, "a lock longer than the window still ends")
	})

	t.Run("concurrent_reservations_admit_exactly_max", func(t *testing.T) {
		th := newThrottle(t, policy)
		k := key("race")
		const n = 50
		var wg sync.WaitGroup
		start := make(chan struct{})
		oks := make([]bool, n)
		retries := make([]time.Duration, n)
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				oks[i], retries[i], errs[i] = th.Reserve(ctx, k, base)
			}()
		}
		close(start)
		wg.Wait()
		admitted := 0
		for i := range n {
			require.NoError(t, errs[i])
			if oks[i] {
				admitted++
			} else {
				assert.Equal(t, policy.Lockout, retries[i])
			}
		}
		assert.Equal(t, policy.MaxFailures, admitted)
	})

	t.Run("concurrent_failures_report_one_lock", func(t *testing.T) {
		th := newThrottle(t, policy)
		k := key("failrace")
		for range policy.MaxFailures {
			ok, _ := reserve(t, th, k, base)
			require.True(t, ok)
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		locked := make([]bool, policy.MaxFailures)
		errs := make([]error, policy.MaxFailures)
		for i := range policy.MaxFailures {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				locked[i], errs[i] = th.Fail(ctx, k, base)
			}()
		}
		close(start)
		wg.Wait()
		locks := 0
		for i := range locked {
			require.NoError(t, errs[i])
			if locked[i] {
				locks++
			}
		}
		assert.Equal(t, 1, locks)
	})
}

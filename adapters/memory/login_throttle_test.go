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

func TestLoginThrottleContract(t *testing.T) {
	porttest.RunLoginThrottle(t, func(t *testing.T, p ports.ThrottlePolicy) ports.LoginThrottle {
		return NewLoginThrottle(p)
	})
}

func TestLoginThrottlePrunesStaleKeys(t *testing.T) {
	ctx := context.Background()
	p := ports.ThrottlePolicy{MaxFailures: 3, Window: time.Minute, Lockout: time.Hour}
	th := NewLoginThrottle(p)
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

	// A locked key outlives its window until its lock ends.
	for range 3 {
		ok, _, err := th.Reserve(ctx, "locked", base)
		require.NoError(t, err)
		require.True(t, ok)
		_, err = th.Fail(ctx, "locked", base)
		require.NoError(t, err)
	}
	for i := range 2 * minPruneSize {
		_, _, err := th.Reserve(ctx, fmt.Sprintf("spray%d", i), base)
		require.NoError(t, err)
	}
	assert.LessOrEqual(t, th.size(), 2*minPruneSize+1)

	later := base.Add(p.Window)
	for i := range pruneEvery {
		_, _, err := th.Reserve(ctx, fmt.Sprintf("late%d", i), later)
		require.NoError(t, err)
	}
	assert.Less(t, th.size(), pruneEvery+2, "the sprayed keys' windows have passed")
	ok, retry, err := th.Reserve(ctx, "locked", later)
	require.NoError(t, err)
	assert.False(t, ok, "the lock survived pruning")
	assert.Equal(t, p.Lockout-p.Window, retry)

	ok, _, err = th.Reserve(ctx, "locked", base.Add(p.Lockout))
	require.NoError(t, err)
	assert.True(t, ok)
}

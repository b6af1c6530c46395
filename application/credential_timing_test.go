package application

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestFailureFloorFollowsTheCostliestHashesLeft(t *testing.T) {
	ft := newFailureTiming()
	var slept time.Duration
	ft.sleep = func(_ context.Context, d time.Duration) { slept = d }

	ft.observe(10*time.Millisecond, false)
	assert.Equal(t, 10*time.Millisecond, ft.floor())
	ft.observe(50*time.Millisecond, true)
	assert.Equal(t, 50*time.Millisecond, ft.floor(), "while outdated hashes remain, failures cost what they cost")

	ft.pad(context.Background(), time.Now())
	assert.InDelta(t, float64(50*time.Millisecond), float64(slept), float64(5*time.Millisecond))

	ft.setOutdatedLive(false)
	assert.Equal(t, 10*time.Millisecond, ft.floor(), "once they are gone, the current cost is enough")

	slept = 0
	ft.pad(context.Background(), time.Now().Add(-time.Second))
	assert.Zero(t, slept, "a check that already took longer waits no more")
}

func TestRunningMeanFollowsWithoutJumping(t *testing.T) {
	var m runningMean
	m.add(100 * time.Millisecond)
	m.add(200 * time.Millisecond)
	assert.Equal(t, 120*time.Millisecond, m.value(), "one slow check moves the mean a fifth of the way")
}

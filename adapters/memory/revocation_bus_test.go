package memory_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/adapters/memory"
	"github.com/ums-project/ums/ports"
	"github.com/ums-project/ums/ports/porttest"
)

func TestRevocationBusContract(t *testing.T) {
	porttest.RunRevocationBus(t, func(t *testing.T) (a, b ports.RevocationBus) {
		bus := memory.NewRevocationBus()
		return bus, bus
	})
}

func TestRevocationBusPublishDeliversBeforeReturning(t *testing.T) {
	bus := memory.NewRevocationBus()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := porttest.NewRecordingHandler()
	require.NoError(t, bus.Subscribe(ctx, h))
	assert.Equal(t, 1, h.ResyncCount())

	want := porttest.RevokedSessions(3)
	require.NoError(t, bus.Publish(ctx, want))
	assert.True(t, h.Has(want), "delivered synchronously")
}

func TestRevocationBusRetriesFailedResync(t *testing.T) {
	bus := memory.NewRevocationBus()
	ctx, cancel := context.WithCancel(context.Background())
	h := &flakyResync{RecordingHandler: porttest.NewRecordingHandler(), failures: 2}
	err := bus.Subscribe(ctx, h)
	require.ErrorIs(t, err, errStoreDown)
	assert.Equal(t, 1, h.LostCount())

	// Announcements still arrive while the resync is retried.
	want := porttest.RevokedSessions(1)
	require.NoError(t, bus.Publish(context.Background(), want))
	assert.True(t, h.Has(want))

	require.Eventually(t, func() bool { return h.ResyncCount() == 3 }, 3*time.Second, 10*time.Millisecond)
	time.Sleep(300 * time.Millisecond)
	assert.Equal(t, 3, h.ResyncCount(), "no more retries after a success")

	cancel()
	waitOrFail(t, bus.Wait)
}

func TestRevocationBusStopsRetryingWhenContextEnds(t *testing.T) {
	bus := memory.NewRevocationBus()
	ctx, cancel := context.WithCancel(context.Background())
	h := &flakyResync{RecordingHandler: porttest.NewRecordingHandler(), failures: 1 << 30}
	require.Error(t, bus.Subscribe(ctx, h))
	cancel()
	waitOrFail(t, bus.Wait)
	n := h.ResyncCount()
	require.NoError(t, bus.Publish(context.Background(), porttest.RevokedSessions(1)))
	time.Sleep(200 * time.Millisecond)
	assert.Equal(t, n, h.ResyncCount())
	assert.Equal(t, 1, h.LostCount())
}

var errStoreDown = errors.New("store down")

// flakyResync fails its first failures resyncs.
type flakyResync struct {
	*porttest.RecordingHandler
	failures int
}

func (h *flakyResync) Resync(ctx context.Context) error {
	_ = h.RecordingHandler.Resync(ctx)
	if h.ResyncCount() <= h.failures {
		return errStoreDown
	}
	return nil
}

func waitOrFail(t *testing.T, wait func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("goroutines still running after the context ended")
	}
}

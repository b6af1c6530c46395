package porttest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// deliveryDeadline is the port's promise: a revocation reaches every
// instance within a second.
const deliveryDeadline = time.Second

// Waiter is what a bus implements to let the suite check that its
// goroutines end: Wait blocks until every subscription has ended.
type Waiter interface{ Wait() }

// RunRevocationBus runs the contract of ports.RevocationBus. newBuses
// returns two instances on one fresh backend (for an in-process bus, the
// same bus twice) on which nobody else publishes. Buses that implement
// Waiter are also checked for goroutines left behind.
func RunRevocationBus(t *testing.T, newBuses func(t *testing.T) (a, b ports.RevocationBus)) {
	ctx := context.Background()
	newBuses = withLeakCheck(newBuses)

	t.Run("other_instance_receives_within_a_second", func(t *testing.T) {
		a, b := newBuses(t)
		h := subscribeRecorder(t, b)
		want := RevokedSessions(1)
		start := time.Now()
		require.NoError(t, a.Publish(ctx, want))
		h.waitFor(t, want, deliveryDeadline)
		assert.Less(t, time.Since(start), deliveryDeadline)
		assert.Empty(t, h.lostErrors())
	})

	t.Run("resync_follows_the_subscription_before_any_delivery", func(t *testing.T) {
		a, b := newBuses(t)
		h := subscribeRecorder(t, b)
		require.Eventually(t, func() bool { return h.resyncCount() >= 1 }, deliveryDeadline, 5*time.Millisecond,
			"Resync is called once the subscription listens, with nothing published")
		want := RevokedSessions(2)
		require.NoError(t, a.Publish(ctx, want))
		h.waitFor(t, want, deliveryDeadline)
		events := h.eventLog()
		require.NotEmpty(t, events)
		assert.Equal(t, "resync", events[0], "the first call is Resync, not Revoked")
		assert.Equal(t, 1, h.resyncCount(), "a healthy subscription resyncs once")
		assert.Empty(t, h.lostErrors())
	})

	t.Run("publisher_hears_itself", func(t *testing.T) {
		a, _ := newBuses(t)
		h := subscribeRecorder(t, a)
		want := RevokedSessions(1)
		require.NoError(t, a.Publish(ctx, want))
		h.waitFor(t, want, deliveryDeadline)
	})

	t.Run("every_subscriber_receives", func(t *testing.T) {
		a, b := newBuses(t)
		hs := []*RecordingHandler{subscribeRecorder(t, a), subscribeRecorder(t, b), subscribeRecorder(t, b)}
		want := RevokedSessions(3)
		require.NoError(t, b.Publish(ctx, want))
		for _, h := range hs {
			h.waitFor(t, want, deliveryDeadline)
		}
	})

	t.Run("large_batch_arrives_complete", func(t *testing.T) {
		a, b := newBuses(t)
		h := subscribeRecorder(t, b)
		want := RevokedSessions(500)
		require.NoError(t, a.Publish(ctx, want))
		h.waitFor(t, want, 2*deliveryDeadline)
		assert.Len(t, h.received(), len(want), "each session exactly once")
	})

	t.Run("publishing_nothing_is_harmless", func(t *testing.T) {
		a, b := newBuses(t)
		h := subscribeRecorder(t, b)
		require.NoError(t, a.Publish(ctx, nil))
		want := RevokedSessions(1)
		require.NoError(t, a.Publish(ctx, want))
		h.waitFor(t, want, deliveryDeadline)
		assert.Len(t, h.received(), 1)
	})

	t.Run("ended_subscription_hears_nothing_and_stops", func(t *testing.T) {
		a, b := newBuses(t)
		gone := NewRecordingHandler()
		goneCtx, cancelGone := context.WithCancel(ctx)
		defer cancelGone()
		require.NoError(t, b.Subscribe(goneCtx, gone))
		live := NewRecordingHandler()
		liveCtx, cancelLive := context.WithCancel(ctx)
		defer cancelLive()
		require.NoError(t, a.Subscribe(liveCtx, live))

		cancelGone()
		// The live subscriber on the same backend is the clock: once it
		// heard the batch, the ended one would have heard it too.
		want := RevokedSessions(1)
		require.NoError(t, a.Publish(ctx, want))
		live.waitFor(t, want, deliveryDeadline)
		time.Sleep(100 * time.Millisecond)
		assert.Empty(t, gone.received(), "no delivery after the context ended")
		assert.Empty(t, gone.lostErrors(), "ending the context is not a lost subscription")

	})
}

// RevokedSessions returns n revocations with distinct session ids.
func RevokedSessions(n int) []domain.RevokedSession {
	now := time.Now().UTC()
	out := make([]domain.RevokedSession, n)
	for i := range out {
		out[i] = domain.RevokedSession{SessionID: uuid.New(), RevokedAt: now.Add(-time.Duration(i) * time.Millisecond)}
	}
	return out
}

// RecordingHandler is a ports.RevocationHandler that remembers every call;
// safe for concurrent use.
type RecordingHandler struct {
	mu      sync.Mutex
	revoked map[uuid.UUID]time.Time
	events  []string
	lost    []error
	resyncs int
	// ResyncErr, when set before subscribing, is returned by Resync.
	ResyncErr error
}

var _ ports.RevocationHandler = (*RecordingHandler)(nil)

// NewRecordingHandler returns a handler that has heard nothing.
func NewRecordingHandler() *RecordingHandler {
	return &RecordingHandler{revoked: make(map[uuid.UUID]time.Time)}
}

// Revoked records revoked.
func (h *RecordingHandler) Revoked(revoked []domain.RevokedSession) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range revoked {
		h.revoked[r.SessionID] = r.RevokedAt
	}
	h.events = append(h.events, "revoked")
}

// Resync counts the call.
func (h *RecordingHandler) Resync(context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.resyncs++
	h.events = append(h.events, "resync")
	return h.ResyncErr
}

// Lost records err.
func (h *RecordingHandler) Lost(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lost = append(h.lost, err)
	h.events = append(h.events, "lost")
}

// ResyncCount is how often Resync was called.
func (h *RecordingHandler) ResyncCount() int { return h.resyncCount() }

// LostCount is how often Lost was called.
func (h *RecordingHandler) LostCount() int { return len(h.lostErrors()) }

// Has reports whether every session of want was delivered with its time.
func (h *RecordingHandler) Has(want []domain.RevokedSession) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range want {
		at, ok := h.revoked[r.SessionID]
		if !ok || !at.Equal(r.RevokedAt) {
			return false
		}
	}
	return true
}

// WaitFor fails t unless every session of want arrives within timeout.
func (h *RecordingHandler) WaitFor(t *testing.T, want []domain.RevokedSession, timeout time.Duration) {
	t.Helper()
	h.waitFor(t, want, timeout)
}

func (h *RecordingHandler) waitFor(t *testing.T, want []domain.RevokedSession, timeout time.Duration) {
	t.Helper()
	require.Eventually(t, func() bool { return h.Has(want) }, timeout, 5*time.Millisecond,
		"%d revocations not all delivered (with their times) within %s; got %d", len(want), timeout, len(h.received()))
}

func (h *RecordingHandler) resyncCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.resyncs
}

func (h *RecordingHandler) lostErrors() []error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]error(nil), h.lost...)
}

func (h *RecordingHandler) eventLog() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.events...)
}

func (h *RecordingHandler) received() map[uuid.UUID]time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[uuid.UUID]time.Time, len(h.revoked))
	for k, v := range h.revoked {
		out[k] = v
	}
	return out
}

// subscribeRecorder subscribes a new recording handler to bus until t ends.
func subscribeRecorder(t *testing.T, bus ports.RevocationBus) *RecordingHandler {
	t.Helper()
	h := NewRecordingHandler()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	require.NoError(t, bus.Subscribe(ctx, h))
	return h
}

// withLeakCheck makes newBuses also check, when the test ends and every
// subscription's context was cancelled, that the buses' goroutines ended.
func withLeakCheck(newBuses func(t *testing.T) (a, b ports.RevocationBus)) func(t *testing.T) (a, b ports.RevocationBus) {
	return func(t *testing.T) (a, b ports.RevocationBus) {
		a, b = newBuses(t)
		// Cleanups run last-in first-out: this runs after the test's
		// subscriptions were cancelled and before the buses are closed.
		t.Cleanup(func() {
			waitBus(t, a)
			waitBus(t, b)
		})
		return a, b
	}
}

// waitBus fails t unless bus's subscriptions end within 5s, when bus is a
// Waiter.
func waitBus(t *testing.T, bus ports.RevocationBus) {
	t.Helper()
	w, ok := bus.(Waiter)
	if !ok {
		return
	}
	done := make(chan struct{})
	go func() {
		w.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Errorf("%T: subscription goroutines still running 5s after their contexts ended", bus)
	}
}

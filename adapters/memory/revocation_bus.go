package memory

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// resyncRetryMax caps the wait between retries of a failed Resync.
const resyncRetryMax = 2 * time.Second

// RevocationBus is a ports.RevocationBus for a single instance: Publish
// hands the revocations to every subscriber of this bus before it returns.
// Nothing crosses a process boundary, so nothing can be lost in transit.
type RevocationBus struct {
	mu   sync.Mutex
	subs map[*subscriber]struct{}
	wg   sync.WaitGroup
}

type subscriber struct {
	ctx context.Context
	h   ports.RevocationHandler
}

var _ ports.RevocationBus = (*RevocationBus)(nil)

// NewRevocationBus returns a bus without subscribers.
func NewRevocationBus() *RevocationBus {
	return &RevocationBus{subs: make(map[*subscriber]struct{})}
}

// Publish calls Revoked on every subscriber whose context is still live,
// synchronously, each with a copy of revoked. An empty batch is not
// delivered.
func (b *RevocationBus) Publish(ctx context.Context, revoked []domain.RevokedSession) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(revoked) == 0 {
		return nil
	}
	b.mu.Lock()
	subs := make([]*subscriber, 0, len(b.subs))
	for s := range b.subs {
		subs = append(subs, s)
	}
	b.mu.Unlock()
	for _, s := range subs {
		// The removal after cancellation runs on its own goroutine; a
		// subscriber whose context ended must not hear anything after
		// that, even before it is removed.
		if s.ctx.Err() != nil {
			continue
		}
		s.h.Revoked(slices.Clone(revoked))
	}
	return nil
}

// Subscribe registers h until ctx ends and calls h.Resync once, so the
// handler loads what was revoked before this process started. When that
// Resync fails, Subscribe calls h.Lost and returns the error, and keeps
// retrying Resync in the background (backoff capped at 2s) until it
// succeeds or ctx ends; h receives announcements meanwhile.
func (b *RevocationBus) Subscribe(ctx context.Context, h ports.RevocationHandler) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s := &subscriber{ctx: ctx, h: h}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	b.wg.Add(1)
	context.AfterFunc(ctx, func() {
		b.mu.Lock()
		delete(b.subs, s)
		b.mu.Unlock()
		b.wg.Done()
	})

	err := h.Resync(ctx)
	if err == nil || ctx.Err() != nil {
		return err
	}
	h.Lost(err)
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		retryResync(ctx, h)
	}()
	return err
}

// Wait blocks until every subscription has ended: its context is done and
// nothing of it runs any more. Tests use it to check for leaks.
func (b *RevocationBus) Wait() { b.wg.Wait() }

func retryResync(ctx context.Context, h ports.RevocationHandler) {
	delay := 100 * time.Millisecond
	for {
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		if err := h.Resync(ctx); err == nil || ctx.Err() != nil {
			return
		}
		delay = min(2*delay, resyncRetryMax)
	}
}

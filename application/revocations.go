package application

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// RevocationList is this instance's view of revoked sessions whose access
// tokens may still be unexpired. A RevocationBus keeps it current; while the
// bus is down (or before it first connected) the list does not trust itself
// and asks the session store instead, so a missed announcement can never
// let a revoked token through.
type RevocationList struct {
	sessions ports.SessionRepository
	clock    ports.Clock
	// horizon is how long after its revocation a session's access tokens
	// can still be unexpired: the access-token lifetime plus leeway.
	horizon time.Duration

	mu      sync.RWMutex
	revoked map[uuid.UUID]time.Time // session -> when it can be forgotten
	synced  atomic.Bool
	polling atomic.Bool
}

var _ ports.RevocationHandler = (*RevocationList)(nil)

// NewRevocationList returns an empty, not yet synced list.
func NewRevocationList(sessions ports.SessionRepository, clock ports.Clock, horizon time.Duration) *RevocationList {
	return &RevocationList{sessions: sessions, clock: clock, horizon: horizon, revoked: map[uuid.UUID]time.Time{}}
}

// Revoked implements ports.RevocationHandler.
func (l *RevocationList) Revoked(rs []domain.RevokedSession) {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range rs {
		forget := r.RevokedAt.Add(l.horizon)
		if forget.After(now) {
			l.revoked[r.SessionID] = forget
		}
	}
	l.pruneLocked(now)
}

// Resync implements ports.RevocationHandler: it reloads every revocation
// that may still matter.
func (l *RevocationList) Resync(ctx context.Context) error {
	rs, err := l.sessions.RevokedSince(ctx, l.clock.Now().Add(-l.horizon))
	if err != nil {
		return err
	}
	l.Revoked(rs)
	l.synced.Store(true)
	return nil
}

// Lost implements ports.RevocationHandler.
func (l *RevocationList) Lost(error) { l.synced.Store(false) }

// Poll rereads recent revocations from the store every interval until ctx
// ends: a safety net under the bus, so an announcement lost to a network
// partition (or a publish that failed) holds everywhere within interval.
func (l *RevocationList) Poll(ctx context.Context, every time.Duration) {
	l.polling.Store(true)
	defer l.polling.Store(false)
	t := time.NewTicker(every)
	defer t.Stop()
	last := l.clock.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := l.clock.Now()
		// Overlap the windows so a revocation committed during the last
		// read is not missed.
		rs, err := l.sessions.RevokedSince(ctx, last.Add(-every))
		if err != nil {
			continue
		}
		l.Revoked(rs)
		last = now
	}
}

// Polling reports whether Poll runs, i.e. whether a lost announcement
// still reaches this instance within the poll interval.
func (l *RevocationList) Polling() bool { return l.polling.Load() }

// Synced reports whether the list is fed by a live subscription.
func (l *RevocationList) Synced() bool { return l.synced.Load() }

// IsRevoked reports whether the session's tokens must be refused.
func (l *RevocationList) IsRevoked(ctx context.Context, sid uuid.UUID) (bool, error) {
	l.mu.RLock()
	_, hit := l.revoked[sid]
	l.mu.RUnlock()
	if hit {
		return true, nil
	}
	if l.synced.Load() {
		return false, nil
	}
	s, err := l.sessions.ByID(ctx, sid)
	if err != nil {
		if domain.KindOf(err) == domain.KindNotFound {
			return true, nil
		}
		return false, err
	}
	return s.RevokedAt != nil, nil
}

func (l *RevocationList) pruneLocked(now time.Time) {
	for sid, forget := range l.revoked {
		if !forget.After(now) {
			delete(l.revoked, sid)
		}
	}
}

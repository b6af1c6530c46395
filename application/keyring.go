package application

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/ums-project/ums/domain"
)

// KeyRing caches the published signing keys so that signing and verifying
// do not read the database on every request. It reloads them every
// refresh interval, and early when a token names a kid it does not know
// (another instance may have rotated), at most once per missLimit.
type KeyRing struct {
	keys      *Keys
	now       func() time.Time
	refresh   time.Duration
	missLimit time.Duration

	mu       sync.Mutex
	cached   []domain.SigningKey
	loadedAt time.Time
	missedAt time.Time
}

// NewKeyRing caches keys' published set for refresh.
func NewKeyRing(keys *Keys, refresh time.Duration) *KeyRing {
	return &KeyRing{keys: keys, now: keys.clock.Now, refresh: refresh, missLimit: time.Second}
}

// Signing returns the active key.
func (r *KeyRing) Signing(ctx context.Context) (domain.SigningKey, error) {
	keys, err := r.load(ctx, false)
	if err != nil {
		return domain.SigningKey{}, err
	}
	for _, k := range keys {
		if k.Active() {
			return k, nil
		}
	}
	return domain.SigningKey{}, errors.New("no active signing key: run `ums keys rotate`")
}

// Lookup finds a published key by kid; it fits ports.KeyLookup.
func (r *KeyRing) Lookup(ctx context.Context, kid string) (domain.SigningKey, bool, error) {
	keys, err := r.load(ctx, false)
	if err != nil {
		return domain.SigningKey{}, false, err
	}
	if k, ok := findKey(keys, kid, r.now()); ok {
		return k, true, nil
	}
	keys, err = r.load(ctx, true)
	if err != nil {
		return domain.SigningKey{}, false, err
	}
	k, ok := findKey(keys, kid, r.now())
	return k, ok, nil
}

// Invalidate drops the cache, after a rotation by this process.
func (r *KeyRing) Invalidate() {
	r.mu.Lock()
	r.cached = nil
	r.mu.Unlock()
}

func (r *KeyRing) load(ctx context.Context, miss bool) ([]domain.SigningKey, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	stale := r.cached == nil || now.Sub(r.loadedAt) >= r.refresh
	if miss && now.Sub(r.missedAt) >= r.missLimit {
		// Unknown kids are what forged tokens carry: they may trigger a
		// reload, but not a database query per request.
		r.missedAt, stale = now, true
	}
	if !stale {
		return r.cached, nil
	}
	keys, err := r.keys.Published(ctx)
	if err != nil {
		return nil, err
	}
	r.cached, r.loadedAt = keys, now
	return keys, nil
}

func findKey(keys []domain.SigningKey, kid string, now time.Time) (domain.SigningKey, bool) {
	for _, k := range keys {
		if k.KID == kid && k.Published(now) {
			return k, true
		}
	}
	return domain.SigningKey{}, false
}

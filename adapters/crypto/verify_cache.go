package crypto

import (
	"context"
	"crypto/sha256"
	"sync"
	"time"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// VerifyCache remembers the claims of access tokens whose signature and
// claims were verified, keyed by the SHA-256 of the token, until the token
// expires: a client presenting the same token again costs a hash instead
// of an EdDSA verification (~70 µs). It caches only what is fixed in the
// token. The signing key is looked up again on every hit, so a key that
// stops being published stops its tokens at once, and revocation is not
// its business: the session check runs on every request after Verify.
type VerifyCache struct {
	inner *JWT
	max   int
	now   func() time.Time

	mu      sync.RWMutex
	entries map[[sha256.Size]byte]verified
}

type verified struct {
	claims domain.AccessClaims
	kid    string
}

var _ ports.AccessTokenCodec = (*VerifyCache)(nil)

// NewVerifyCache wraps codec with a cache of at most max tokens.
func NewVerifyCache(codec *JWT, max int) *VerifyCache {
	return &VerifyCache{inner: codec, max: max, now: codec.cfg.Now, entries: make(map[[sha256.Size]byte]verified)}
}

// Sign implements ports.AccessTokenCodec.
func (c *VerifyCache) Sign(claims domain.AccessClaims, key domain.SigningKey) (string, error) {
	return c.inner.Sign(claims, key)
}

// Verify implements ports.AccessTokenCodec.
func (c *VerifyCache) Verify(ctx context.Context, raw string, lookup ports.KeyLookup) (domain.AccessClaims, error) {
	if raw == "" || len(raw) > maxTokenBytes {
		return domain.AccessClaims{}, domain.ErrInvalidToken
	}
	sum := sha256.Sum256([]byte(raw))
	now := c.now()
	c.mu.RLock()
	e, hit := c.entries[sum]
	c.mu.RUnlock()
	if hit && now.Before(e.claims.ExpiresAt) {
		if _, ok, err := lookup(ctx, e.kid); err != nil || !ok {
			c.forget(sum)
			// The full check decides (and words the error) as before.
			return c.inner.Verify(ctx, raw, lookup)
		}
		return e.claims, nil
	}
	var kid string
	claims, err := c.inner.Verify(ctx, raw, func(ctx context.Context, k string) (domain.SigningKey, bool, error) {
		kid = k
		return lookup(ctx, k)
	})
	if err != nil || !now.Before(claims.ExpiresAt) {
		// Tokens accepted only within the leeway after exp are not worth
		// keeping.
		return claims, err
	}
	c.mu.Lock()
	if len(c.entries) >= c.max {
		c.pruneLocked(now)
	}
	c.entries[sum] = verified{claims: claims, kid: kid}
	c.mu.Unlock()
	return claims, nil
}

func (c *VerifyCache) forget(sum [sha256.Size]byte) {
	c.mu.Lock()
	delete(c.entries, sum)
	c.mu.Unlock()
}

// pruneLocked drops expired entries and, if the cache is still full, an
// arbitrary quarter of the rest (map order), so memory stays bounded.
func (c *VerifyCache) pruneLocked(now time.Time) {
	for k, e := range c.entries {
		if !now.Before(e.claims.ExpiresAt) {
			delete(c.entries, k)
		}
	}
	drop := len(c.entries) - c.max*3/4
	for k := range c.entries {
		if drop <= 0 {
			break
		}
		delete(c.entries, k)
		drop--
	}
}

// Len is the number of cached tokens.
func (c *VerifyCache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}

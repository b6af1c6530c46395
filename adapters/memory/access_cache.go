package memory

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// AccessCache is a ports.AccessQuery that keeps each user's access facts
// per organization in memory, so POST /authorize costs one read of two
// stamps instead of loading memberships, role permissions and grants. An
// entry is used only while the stamps read before it was loaded are
// unchanged; the store bumps them in the same transaction as any write the
// facts depend on, so a revoked grant, a role change, a removed
// membership, a deactivated account or permission is refused on the very
// next call on every instance, bus or no bus. maxAge bounds an entry's
// life anyway, for a write made with the store's triggers disabled (an
// operator's restore, say).
//
// The cache must not serve a transaction: facts read inside one would be
// cached before they are committed. It wraps the query for the read-only
// authorization paths only.
type AccessCache struct {
	inner   ports.AccessQuery
	stamps  ports.AccessStamps
	now     func() time.Time
	maxAge  time.Duration
	entries *lru.Cache[accessKey, cachedFacts]

	hits, misses atomic.Uint64
}

type accessKey struct{ user, org uuid.UUID }

type cachedFacts struct {
	stamp  ports.AccessStamp
	facts  domain.AccessFacts
	loaded time.Time
}

var _ ports.AccessQuery = (*AccessCache)(nil)

// NewAccessCache keeps up to size (user, organization) entries, each for
// at most maxAge.
func NewAccessCache(inner ports.AccessQuery, stamps ports.AccessStamps, size int, maxAge time.Duration, now func() time.Time) (*AccessCache, error) {
	entries, err := lru.New[accessKey, cachedFacts](size)
	if err != nil {
		return nil, err
	}
	return &AccessCache{inner: inner, stamps: stamps, now: now, maxAge: maxAge, entries: entries}, nil
}

// Facts implements ports.AccessQuery. The facts it returns share slices
// with the cache: callers read them and never write.
func (c *AccessCache) Facts(ctx context.Context, userID uuid.UUID, orgIDs []uuid.UUID) (map[uuid.UUID]domain.AccessFacts, error) {
	// The stamp first: facts loaded after it are at least as new as it
	// says, so a write racing with the load at worst makes the next call
	// reload.
	stamp, err := c.stamps.Stamp(ctx, userID)
	if err != nil {
		return nil, err
	}
	now := c.now()
	out := make(map[uuid.UUID]domain.AccessFacts, len(orgIDs))
	var missing []uuid.UUID
	for _, org := range orgIDs {
		if _, seen := out[org]; seen {
			continue
		}
		e, ok := c.entries.Get(accessKey{userID, org})
		if ok && e.stamp == stamp && now.Sub(e.loaded) < c.maxAge {
			out[org] = e.facts
			continue
		}
		out[org] = domain.AccessFacts{} // a placeholder, so duplicates are asked once
		missing = append(missing, org)
	}
	c.hits.Add(uint64(len(out) - len(missing)))
	if len(missing) == 0 {
		return out, nil
	}
	c.misses.Add(uint64(len(missing)))
	loaded, err := c.inner.Facts(ctx, userID, missing)
	if err != nil {
		return nil, err
	}
	for _, org := range missing {
		f := loaded[org]
		out[org] = f
		c.entries.Add(accessKey{userID, org}, cachedFacts{stamp: stamp, facts: f, loaded: now})
	}
	return out, nil
}

// AccessCacheStats count the (user, organization) facts served from memory
// and loaded from the store since start.
type AccessCacheStats struct {
	Hits, Misses uint64
	Entries      int
}

// Stats returns the cache's counters.
func (c *AccessCache) Stats() AccessCacheStats {
	return AccessCacheStats{Hits: c.hits.Load(), Misses: c.misses.Load(), Entries: c.entries.Len()}
}

package memory_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/adapters/memory"
	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// fakeAccess is the store behind the cache: facts per organization, a
// stamp, and a log of what was asked in which order.
type fakeAccess struct {
	stamp    ports.AccessStamp
	role     domain.Role
	calls    []string
	asked    [][]uuid.UUID
	stampErr error
	factsErr error
}

func (f *fakeAccess) Stamp(context.Context, uuid.UUID) (ports.AccessStamp, error) {
	f.calls = append(f.calls, "stamp")
	return f.stamp, f.stampErr
}

func (f *fakeAccess) Facts(_ context.Context, _ uuid.UUID, orgs []uuid.UUID) (map[uuid.UUID]domain.AccessFacts, error) {
	f.calls = append(f.calls, "facts")
	f.asked = append(f.asked, orgs)
	if f.factsErr != nil {
		return nil, f.factsErr
	}
	out := map[uuid.UUID]domain.AccessFacts{}
	for _, o := range orgs {
		out[o] = domain.AccessFacts{UserActive: true, OrgExists: true, OrgActive: true, Role: f.role}
	}
	return out, nil
}

type testClock struct{ now time.Time }

func (c *testClock) Now() time.Time { return c.now }

func newCache(t *testing.T, size int) (*memory.AccessCache, *fakeAccess, *testClock) {
	t.Helper()
	f := &fakeAccess{role: domain.RoleMember, stamp: ports.AccessStamp{User: 1, Global: 1}}
	clock := &testClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	c, err := memory.NewAccessCache(f, f, size, time.Minute, clock.Now)
	require.NoError(t, err)
	return c, f, clock
}

func TestAccessCacheServesFromMemoryWhileTheStampHolds(t *testing.T) {
	c, f, _ := newCache(t, 100)
	user, org := uuid.New(), uuid.New()
	for range 3 {
		facts, err := c.Facts(context.Background(), user, []uuid.UUID{org})
		require.NoError(t, err)
		assert.Equal(t, domain.RoleMember, facts[org].Role)
	}
	assert.Equal(t, []string{"stamp", "facts", "stamp", "stamp"}, f.calls, "the stamp is read before the facts, and on every call")
	assert.Equal(t, memory.AccessCacheStats{Hits: 2, Misses: 1, Entries: 1}, c.Stats())
}

func TestAccessCacheReloadsWhenAStampMoves(t *testing.T) {
	for name, move := range map[string]func(*ports.AccessStamp){
		"user":   func(s *ports.AccessStamp) { s.User++ },
		"global": func(s *ports.AccessStamp) { s.Global++ },
	} {
		t.Run(name, func(t *testing.T) {
			c, f, _ := newCache(t, 100)
			user, org := uuid.New(), uuid.New()
			_, err := c.Facts(context.Background(), user, []uuid.UUID{org})
			require.NoError(t, err)
			f.role = domain.RoleViewer
			move(&f.stamp)
			facts, err := c.Facts(context.Background(), user, []uuid.UUID{org})
			require.NoError(t, err)
			assert.Equal(t, domain.RoleViewer, facts[org].Role, "the change shows at once")
			assert.Len(t, f.asked, 2)
		})
	}
}

func TestAccessCacheForgetsEntriesOlderThanMaxAge(t *testing.T) {
	c, f, clock := newCache(t, 100)
	user, org := uuid.New(), uuid.New()
	_, err := c.Facts(context.Background(), user, []uuid.UUID{org})
	require.NoError(t, err)
	clock.now = clock.now.Add(59 * time.Second)
	_, err = c.Facts(context.Background(), user, []uuid.UUID{org})
	require.NoError(t, err)
	assert.Len(t, f.asked, 1)
	clock.now = clock.now.Add(2 * time.Second)
	_, err = c.Facts(context.Background(), user, []uuid.UUID{org})
	require.NoError(t, err)
	assert.Len(t, f.asked, 2, "an entry past its age is reloaded even with the same stamp")
}

func TestAccessCacheAsksOnlyForWhatItLacksAndEachOrganizationOnce(t *testing.T) {
	c, f, _ := newCache(t, 100)
	user, a, b := uuid.New(), uuid.New(), uuid.New()
	_, err := c.Facts(context.Background(), user, []uuid.UUID{a})
	require.NoError(t, err)
	facts, err := c.Facts(context.Background(), user, []uuid.UUID{a, b, b, a})
	require.NoError(t, err)
	assert.Len(t, facts, 2)
	assert.Equal(t, [][]uuid.UUID{{a}, {b}}, f.asked)
}

func TestAccessCacheKeepsUsersApart(t *testing.T) {
	c, f, _ := newCache(t, 100)
	org := uuid.New()
	_, err := c.Facts(context.Background(), uuid.New(), []uuid.UUID{org})
	require.NoError(t, err)
	_, err = c.Facts(context.Background(), uuid.New(), []uuid.UUID{org})
	require.NoError(t, err)
	assert.Len(t, f.asked, 2)
}

func TestAccessCacheCachesNothingOnAnError(t *testing.T) {
	c, f, _ := newCache(t, 100)
	user, org := uuid.New(), uuid.New()
	boom := errors.New("store down")
	f.stampErr = boom
	_, err := c.Facts(context.Background(), user, []uuid.UUID{org})
	require.ErrorIs(t, err, boom)
	f.stampErr, f.factsErr = nil, boom
	_, err = c.Facts(context.Background(), user, []uuid.UUID{org})
	require.ErrorIs(t, err, boom)
	assert.Zero(t, c.Stats().Entries)
}

func TestAccessCacheHoldsAtMostItsSize(t *testing.T) {
	c, _, _ := newCache(t, 8)
	user := uuid.New()
	for range 20 {
		_, err := c.Facts(context.Background(), user, []uuid.UUID{uuid.New()})
		require.NoError(t, err)
	}
	assert.Equal(t, 8, c.Stats().Entries)
}

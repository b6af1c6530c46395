package porttest

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// LegacyIDStore is what the legacy id suite needs from an adapter. Ledger
// is there because the import fills the same mapping the API reads.
type LegacyIDStore struct {
	IDs    ports.LegacyIDs
	Ledger ports.ImportLedger
}

// legacyRounds is how often each race is run on one store: a race that
// passes once by luck rarely passes every time.
const legacyRounds = 4

// RunLegacyIDs runs the contract of ports.LegacyIDs against the store
// newStore returns; every subtest gets a fresh, empty store.
func RunLegacyIDs(t *testing.T, newStore func(t *testing.T) LegacyIDStore) {
	ctx := context.Background()

	// seed remembers users 1..5 and labs 1..2 the way the import does, plus
	// a membership row (no id of its own) with a large old id that no
	// other kind may count.
	seed := func(t *testing.T, s LegacyIDStore) (users, labs map[int64]uuid.UUID) {
		t.Helper()
		users, labs = map[int64]uuid.UUID{}, map[int64]uuid.UUID{}
		for old := int64(1); old <= 5; old++ {
			users[old] = uuid.New()
			require.NoError(t, s.Ledger.Remember(ctx, ports.LegacyUser, old, users[old], adminBase))
		}
		for old := int64(1); old <= 2; old++ {
			labs[old] = uuid.New()
			require.NoError(t, s.Ledger.Remember(ctx, ports.LegacyLab, old, labs[old], adminBase))
		}
		require.NoError(t, s.Ledger.Remember(ctx, ports.LegacyMembership, 900, uuid.Nil, adminBase))
		return users, labs
	}

	t.Run("unknown_old_id_is_the_kinds_not_found", func(t *testing.T) {
		s := newStore(t)
		seed(t, s)
		_, err := s.IDs.NewID(ctx, ports.LegacyIDUser, 42)
		assert.ErrorIs(t, err, domain.ErrUserNotFound)
		assert.Equal(t, domain.KindNotFound, domain.KindOf(err))
		_, err = s.IDs.NewID(ctx, ports.LegacyIDLab, 42)
		assert.ErrorIs(t, err, domain.ErrOrgNotFound)
		assert.Equal(t, domain.KindNotFound, domain.KindOf(err))
		_, err = s.IDs.NewID(ctx, ports.LegacyIDLab, 5)
		assert.ErrorIs(t, err, domain.ErrOrgNotFound, "user 5 is no lab 5")
	})

	t.Run("imported_rows_translate_both_ways", func(t *testing.T) {
		s := newStore(t)
		users, labs := seed(t, s)
		for kind, m := range map[string]map[int64]uuid.UUID{ports.LegacyIDUser: users, ports.LegacyIDLab: labs} {
			for old, id := range m {
				got, err := s.IDs.NewID(ctx, kind, old)
				require.NoError(t, err)
				assert.Equal(t, id, got, "%s %d", kind, old)
				gotOld, err := s.IDs.OldID(ctx, kind, id)
				require.NoError(t, err)
				assert.Equal(t, old, gotOld, "%s %s", kind, id)
			}
		}
	})

	t.Run("new_rows_get_the_next_integer_of_their_kind_once", func(t *testing.T) {
		s := newStore(t)
		seed(t, s)
		u1, u2, l1 := uuid.New(), uuid.New(), uuid.New()
		for _, c := range []struct {
			kind string
			id   uuid.UUID
			want int64
		}{
			{ports.LegacyIDUser, u1, 6},
			{ports.LegacyIDLab, l1, 3},
			{ports.LegacyIDUser, u2, 7},
			{ports.LegacyIDUser, u1, 6},
			{ports.LegacyIDLab, l1, 3},
			{ports.LegacyIDUser, u2, 7},
		} {
			got, err := s.IDs.OldID(ctx, c.kind, c.id)
			require.NoError(t, err)
			assert.Equal(t, c.want, got, "%s %s", c.kind, c.id)
		}
		for id, old := range map[uuid.UUID]int64{u1: 6, u2: 7} {
			got, err := s.IDs.NewID(ctx, ports.LegacyIDUser, old)
			require.NoError(t, err)
			assert.Equal(t, id, got, "an allocated id translates back")
		}
		got, err := s.IDs.NewID(ctx, ports.LegacyIDLab, 3)
		require.NoError(t, err)
		assert.Equal(t, l1, got)
	})

	t.Run("first_new_row_of_an_empty_kind_is_one", func(t *testing.T) {
		s := newStore(t)
		got, err := s.IDs.OldID(ctx, ports.LegacyIDLab, uuid.New())
		require.NoError(t, err)
		assert.Equal(t, int64(1), got)
	})

	t.Run("concurrent_new_rows_get_distinct_integers", func(t *testing.T) {
		s := newStore(t)
		seed(t, s)
		seen := map[int64]uuid.UUID{}
		for round := range legacyRounds {
			ids := make([]uuid.UUID, 20)
			for i := range ids {
				ids[i] = uuid.New()
			}
			olds := raceOldIDs(t, s.IDs, ports.LegacyIDUser, ids)
			for i, old := range olds {
				assert.Greater(t, old, int64(5), "round %d: above every imported id", round)
				if prev, dup := seen[old]; dup {
					t.Errorf("round %d: %d given to both %s and %s", round, old, prev, ids[i])
				}
				seen[old] = ids[i]
			}
		}
		assertLegacyMapping(t, s, ports.LegacyIDUser, seen)
	})

	t.Run("concurrent_calls_for_one_row_agree", func(t *testing.T) {
		s := newStore(t)
		seed(t, s)
		seen := map[int64]uuid.UUID{}
		for round := range legacyRounds {
			id := uuid.New()
			ids := make([]uuid.UUID, 20)
			for i := range ids {
				ids[i] = id
			}
			olds := raceOldIDs(t, s.IDs, ports.LegacyIDUser, ids)
			for _, old := range olds {
				assert.Equal(t, olds[0], old, "round %d: every caller gets one integer", round)
			}
			assert.Greater(t, olds[0], int64(5), "round %d", round)
			_, dup := seen[olds[0]]
			assert.False(t, dup, "round %d: %d was given before", round, olds[0])
			seen[olds[0]] = id
		}
		assertLegacyMapping(t, s, ports.LegacyIDUser, seen)
	})

	t.Run("concurrent_mixed_rows_and_kinds", func(t *testing.T) {
		// Four users and two labs, each asked for by several callers at
		// once: callers of one row agree, rows never share an integer,
		// and one kind's allocations never take the other's numbers.
		s := newStore(t)
		seed(t, s)
		seen := map[string]map[int64]uuid.UUID{ports.LegacyIDUser: {}, ports.LegacyIDLab: {}}
		floor := map[string]int64{ports.LegacyIDUser: 5, ports.LegacyIDLab: 2}
		for round := range legacyRounds {
			type call struct {
				kind string
				id   uuid.UUID
			}
			var calls []call
			for _, kind := range []string{ports.LegacyIDUser, ports.LegacyIDUser, ports.LegacyIDUser,
				ports.LegacyIDUser, ports.LegacyIDLab, ports.LegacyIDLab} {
				c := call{kind, uuid.New()}
				for range 4 {
					calls = append(calls, c)
				}
			}
			rand.Shuffle(len(calls), func(i, j int) { calls[i], calls[j] = calls[j], calls[i] })
			olds := raceLegacy(t, len(calls), func(i int) (int64, error) {
				return s.IDs.OldID(ctx, calls[i].kind, calls[i].id)
			})
			got := map[call]int64{}
			for i, c := range calls {
				if prev, ok := got[c]; ok {
					assert.Equal(t, prev, olds[i], "round %d: callers of %s %s agree", round, c.kind, c.id)
					continue
				}
				got[c] = olds[i]
				assert.Greater(t, olds[i], floor[c.kind], "round %d: %s", round, c.kind)
				if prev, dup := seen[c.kind][olds[i]]; dup {
					t.Errorf("round %d: %s %d given to both %s and %s", round, c.kind, olds[i], prev, c.id)
				}
				seen[c.kind][olds[i]] = c.id
			}
		}
		for kind, m := range seen {
			assertLegacyMapping(t, s, kind, m)
		}
	})
}

// raceOldIDs asks for the integer of every id at once and returns them in
// order.
func raceOldIDs(t *testing.T, ids ports.LegacyIDs, kind string, newIDs []uuid.UUID) []int64 {
	t.Helper()
	return raceLegacy(t, len(newIDs), func(i int) (int64, error) {
		return ids.OldID(context.Background(), kind, newIDs[i])
	})
}

// raceLegacy runs call n times at once, released together and then each
// after a small random delay, and fails t on any error.
func raceLegacy[T any](t *testing.T, n int, call func(i int) (T, error)) []T {
	t.Helper()
	var wg sync.WaitGroup
	start := make(chan struct{})
	out := make([]T, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
			out[i], errs[i] = call(i)
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "caller %d", i)
	}
	return out
}

// assertLegacyMapping checks that every allocated integer of kind
// translates back to its row and that the ledger holds each row once.
func assertLegacyMapping(t *testing.T, s LegacyIDStore, kind string, want map[int64]uuid.UUID) {
	t.Helper()
	ctx := context.Background()
	for old, id := range want {
		got, err := s.IDs.NewID(ctx, kind, old)
		require.NoError(t, err)
		assert.Equal(t, id, got, "%s %d", kind, old)
	}
	known, err := s.Ledger.Known(ctx, kind)
	require.NoError(t, err)
	rows := map[uuid.UUID]int{}
	for _, id := range known {
		rows[id]++
	}
	for _, id := range want {
		assert.Equal(t, 1, rows[id], "%s %s has one integer", kind, id)
	}
}

// LegacySessionLinkStore is what the legacy session link suite needs from
// an adapter: a link names a stored session, which needs a stored user.
type LegacySessionLinkStore struct {
	Links    ports.LegacySessionLinks
	Sessions ports.SessionRepository
	Users    ports.UserRepository
}

// RunLegacySessionLinks runs the contract of ports.LegacySessionLinks
// against the store newStore returns; every subtest gets a fresh store.
func RunLegacySessionLinks(t *testing.T, newStore func(t *testing.T) LegacySessionLinkStore) {
	ctx := context.Background()

	// setup returns a fresh store and n stored sessions of one user.
	setup := func(t *testing.T, n int) (LegacySessionLinkStore, []uuid.UUID) {
		t.Helper()
		s := newStore(t)
		u := NewUser("linked" + uuid.NewString()[:8])
		require.NoError(t, s.Users.Create(ctx, u))
		ids := make([]uuid.UUID, n)
		for i := range ids {
			sess, tok := newSession(u.ID(), adminBase)
			require.NoError(t, s.Sessions.Create(ctx, sess, tok))
			ids[i] = sess.ID
		}
		return s, ids
	}

	t.Run("unknown_token_has_no_session", func(t *testing.T) {
		s, _ := setup(t, 0)
		_, ok, err := s.Links.Session(ctx, randomHash())
		require.NoError(t, err)
		assert.False(t, ok)
	})

	t.Run("link_then_session", func(t *testing.T) {
		s, sessions := setup(t, 2)
		hash, other := randomHash(), randomHash()
		got, err := s.Links.Link(ctx, hash, sessions[0], adminBase)
		require.NoError(t, err)
		assert.Equal(t, sessions[0], got)
		got, ok, err := s.Links.Session(ctx, hash)
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, sessions[0], got)

		_, ok, err = s.Links.Session(ctx, other)
		require.NoError(t, err)
		assert.False(t, ok, "only that token is linked")
		got, err = s.Links.Link(ctx, other, sessions[0], adminBase)
		require.NoError(t, err)
		assert.Equal(t, sessions[0], got, "one session may have several old tokens")
	})

	t.Run("the_first_link_wins", func(t *testing.T) {
		s, sessions := setup(t, 2)
		hash := randomHash()
		_, err := s.Links.Link(ctx, hash, sessions[0], adminBase)
		require.NoError(t, err)
		got, err := s.Links.Link(ctx, hash, sessions[1], adminBase.Add(time.Minute))
		require.NoError(t, err)
		assert.Equal(t, sessions[0], got, "a second link returns the first session")
		got, ok, err := s.Links.Session(ctx, hash)
		require.NoError(t, err)
		require.True(t, ok)
		assert.Equal(t, sessions[0], got, "and does not replace it")
	})

	t.Run("concurrent_links_agree_on_one_session", func(t *testing.T) {
		const n = 20
		s, sessions := setup(t, n)
		for round := range legacyRounds {
			hash := randomHash()
			got := raceLegacy(t, n, func(i int) (uuid.UUID, error) {
				return s.Links.Link(ctx, hash, sessions[i], adminBase)
			})
			assert.Contains(t, sessions, got[0], "round %d: the winner is one of the callers", round)
			for i := range got {
				assert.Equal(t, got[0], got[i], "round %d: caller %d", round, i)
			}
			stored, ok, err := s.Links.Session(ctx, hash)
			require.NoError(t, err)
			require.True(t, ok)
			assert.Equal(t, got[0], stored, "round %d", round)
		}
	})
}

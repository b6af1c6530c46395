package porttest

import (
	"context"
	"crypto/rand"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// PasskeyStore is what the WebAuthn contract suites need from an adapter:
// the passkey and ceremony ports, and users, erasure and transactions to
// set them up. PersonalData may be nil for an adapter without erasure;
// the test that needs it is skipped then.
type PasskeyStore struct {
	Passkeys     ports.PasskeyRepository
	Ceremonies   ports.CeremonyStore
	Users        ports.UserRepository
	PersonalData ports.PersonalData
	Tx           ports.TxManager
}

// RunPasskeyStores runs the contracts of ports.PasskeyRepository and
// ports.CeremonyStore against the store newStore returns.
func RunPasskeyStores(t *testing.T, newStore func(t *testing.T) PasskeyStore) {
	t.Run("passkeys", func(t *testing.T) { RunPasskeys(t, newStore) })
	t.Run("ceremonies", func(t *testing.T) { RunCeremonies(t, newStore) })
}

// passkeyBase is a fixed instant in whole microseconds, the precision
// every store keeps.
var passkeyBase = time.Date(2030, 7, 8, 9, 10, 11, 123456000, time.UTC)

func passkeyBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// NewTestPasskey returns an unstored passkey of userID, created at, with
// a random credential id and every field set but LastUsedAt.
func NewTestPasskey(userID uuid.UUID, at time.Time) domain.Passkey {
	return domain.Passkey{
		ID:              uuid.Must(uuid.NewV7()),
		UserID:          userID,
		CredentialID:    passkeyBytes(32),
		PublicKey:       passkeyBytes(77),
		SignCount:       7,
		AAGUID:          passkeyBytes(16),
		Transports:      []string{"internal", "hybrid"},
		BackupEligible:  true,
		BackedUp:        true,
		AttestationType: "none",
		Name:            "Key " + uuid.NewString()[:6],
		CreatedAt:       at,
	}
}

// normPasskey makes nil lists and byte slices empty ones: a store may give
// back either.
func normPasskey(p domain.Passkey) domain.Passkey {
	p.Transports = oauthNorm(p.Transports)
	if len(p.AAGUID) == 0 {
		p.AAGUID = []byte{}
	}
	return p
}

func passkeyIDs(ps []domain.Passkey) []uuid.UUID {
	ids := make([]uuid.UUID, len(ps))
	for i, p := range ps {
		ids[i] = p.ID
	}
	return ids
}

// RunPasskeys runs the contract of ports.PasskeyRepository.
func RunPasskeys(t *testing.T, newStore func(t *testing.T) PasskeyStore) {
	ctx := context.Background()
	type world struct {
		s              PasskeyStore
		user, stranger uuid.UUID
	}
	setup := func(t *testing.T) world {
		t.Helper()
		s := newStore(t)
		u := NewUser("pk" + uuid.NewString()[:8])
		require.NoError(t, s.Users.Create(ctx, u))
		v := NewUser("pks" + uuid.NewString()[:8])
		require.NoError(t, s.Users.Create(ctx, v))
		return world{s: s, user: u.ID(), stranger: v.ID()}
	}
	create := func(t *testing.T, w world, userID uuid.UUID, at time.Time) domain.Passkey {
		t.Helper()
		p := NewTestPasskey(userID, at)
		require.NoError(t, w.s.Passkeys.Create(ctx, p))
		return p
	}
	byCred := func(t *testing.T, w world, p domain.Passkey) domain.Passkey {
		t.Helper()
		got, err := w.s.Passkeys.ByCredentialID(ctx, p.CredentialID)
		require.NoError(t, err)
		return got
	}

	t.Run("create_and_by_credential_id_round_trip", func(t *testing.T) {
		w := setup(t)
		p := create(t, w, w.user, passkeyBase)
		got := byCred(t, w, p)
		assert.Equal(t, normPasskey(p), normPasskey(got))
		assert.Nil(t, got.LastUsedAt, "never used")
	})

	t.Run("sparse_passkey_round_trips", func(t *testing.T) {
		w := setup(t)
		used := passkeyBase.Add(time.Minute)
		p := domain.Passkey{ID: uuid.Must(uuid.NewV7()), UserID: w.user, CredentialID: passkeyBytes(16),
			PublicKey: passkeyBytes(65), Name: "Bare", CreatedAt: passkeyBase, LastUsedAt: &used}
		require.NoError(t, w.s.Passkeys.Create(ctx, p))
		got := byCred(t, w, p)
		assert.Equal(t, normPasskey(p), normPasskey(got))
		assert.Empty(t, got.Transports)
		assert.Empty(t, got.AAGUID)
		assert.False(t, got.BackupEligible)
		assert.False(t, got.BackedUp)
	})

	t.Run("the_whole_uint32_counter_round_trips", func(t *testing.T) {
		w := setup(t)
		p := NewTestPasskey(w.user, passkeyBase)
		p.SignCount = math.MaxUint32
		require.NoError(t, w.s.Passkeys.Create(ctx, p))
		assert.Equal(t, uint32(math.MaxUint32), byCred(t, w, p).SignCount)
	})

	t.Run("times_come_back_in_utc", func(t *testing.T) {
		w := setup(t)
		zone := time.FixedZone("UTC-5", -5*3600)
		p := NewTestPasskey(w.user, passkeyBase.In(zone))
		used := passkeyBase.Add(time.Hour).In(zone)
		p.LastUsedAt = &used
		require.NoError(t, w.s.Passkeys.Create(ctx, p))
		got := byCred(t, w, p)
		assert.Equal(t, time.UTC, got.CreatedAt.Location())
		assert.True(t, got.CreatedAt.Equal(passkeyBase), "got %v", got.CreatedAt)
		require.NotNil(t, got.LastUsedAt)
		assert.Equal(t, time.UTC, got.LastUsedAt.Location())
		assert.True(t, got.LastUsedAt.Equal(used), "got %v", got.LastUsedAt)
	})

	t.Run("by_user_is_the_users_oldest_first", func(t *testing.T) {
		w := setup(t)
		got, err := w.s.Passkeys.ByUser(ctx, w.user)
		require.NoError(t, err)
		assert.Empty(t, got)

		middle := create(t, w, w.user, passkeyBase.Add(time.Minute))
		newest := create(t, w, w.user, passkeyBase.Add(2*time.Minute))
		oldest := create(t, w, w.user, passkeyBase)
		create(t, w, w.stranger, passkeyBase.Add(-time.Hour))
		got, err = w.s.Passkeys.ByUser(ctx, w.user)
		require.NoError(t, err)
		assert.Equal(t, []uuid.UUID{oldest.ID, middle.ID, newest.ID}, passkeyIDs(got))
		require.Len(t, got, 3)
		assert.Equal(t, normPasskey(middle), normPasskey(got[1]), "ByUser returns whole passkeys")

		got, err = w.s.Passkeys.ByUser(ctx, uuid.New())
		require.NoError(t, err)
		assert.Empty(t, got)
	})

	t.Run("unknown_credential_is_not_found", func(t *testing.T) {
		w := setup(t)
		create(t, w, w.user, passkeyBase)
		_, err := w.s.Passkeys.ByCredentialID(ctx, passkeyBytes(32))
		assert.ErrorIs(t, err, domain.ErrPasskeyNotFound)
		assert.Equal(t, domain.KindNotFound, domain.KindOf(err))
		_, err = w.s.Passkeys.ByCredentialID(ctx, nil)
		assert.ErrorIs(t, err, domain.ErrPasskeyNotFound)
	})

	t.Run("a_registered_credential_id_conflicts", func(t *testing.T) {
		w := setup(t)
		p := create(t, w, w.user, passkeyBase)
		for _, owner := range []uuid.UUID{w.user, w.stranger} {
			again := NewTestPasskey(owner, passkeyBase.Add(time.Hour))
			again.CredentialID = append([]byte(nil), p.CredentialID...)
			err := w.s.Passkeys.Create(ctx, again)
			assert.ErrorIs(t, err, domain.ErrConflict)
			assert.Equal(t, domain.KindConflict, domain.KindOf(err))
		}
		got := byCred(t, w, p)
		assert.Equal(t, p.ID, got.ID, "the first passkey stays")
		assert.Equal(t, w.user, got.UserID)
	})

	t.Run("a_taken_id_conflicts", func(t *testing.T) {
		w := setup(t)
		p := create(t, w, w.user, passkeyBase)
		again := NewTestPasskey(w.user, passkeyBase)
		again.ID = p.ID
		assert.Equal(t, domain.KindConflict, domain.KindOf(w.s.Passkeys.Create(ctx, again)))
	})

	t.Run("a_passkey_needs_its_user", func(t *testing.T) {
		w := setup(t)
		p := NewTestPasskey(uuid.New(), passkeyBase)
		assert.ErrorIs(t, w.s.Passkeys.Create(ctx, p), domain.ErrUserNotFound)
		_, err := w.s.Passkeys.ByCredentialID(ctx, p.CredentialID)
		assert.ErrorIs(t, err, domain.ErrPasskeyNotFound)
	})

	t.Run("record_use_writes_counter_flag_and_time_only", func(t *testing.T) {
		w := setup(t)
		p := create(t, w, w.user, passkeyBase)
		at := passkeyBase.Add(time.Hour).In(time.FixedZone("UTC+2", 2*3600))
		require.NoError(t, w.s.Passkeys.RecordUse(ctx, p.ID, domain.PasskeyUse{From: p.SignCount, To: 12, BackedUp: false, At: at}))
		got := byCred(t, w, p)
		want := p
		want.SignCount, want.BackedUp, want.LastUsedAt = 12, false, &at
		require.NotNil(t, got.LastUsedAt)
		assert.True(t, got.LastUsedAt.Equal(at), "got %v", got.LastUsedAt)
		assert.Equal(t, time.UTC, got.LastUsedAt.Location())
		got.LastUsedAt = &at
		assert.Equal(t, normPasskey(want), normPasskey(got))
	})

	t.Run("record_use_from_a_stale_counter_is_a_concurrent_change", func(t *testing.T) {
		w := setup(t)
		p := create(t, w, w.user, passkeyBase)
		first := domain.PasskeyUse{From: p.SignCount, To: p.SignCount + 5, BackedUp: true, At: passkeyBase.Add(time.Minute)}
		require.NoError(t, w.s.Passkeys.RecordUse(ctx, p.ID, first))
		stale := domain.PasskeyUse{From: p.SignCount, To: p.SignCount + 3, At: passkeyBase.Add(2 * time.Minute)}
		err := w.s.Passkeys.RecordUse(ctx, p.ID, stale)
		assert.ErrorIs(t, err, domain.ErrConcurrentChange)
		assert.Equal(t, domain.KindConflict, domain.KindOf(err))
		got := byCred(t, w, p)
		assert.Equal(t, first.To, got.SignCount, "the first use stays")
		assert.True(t, got.BackedUp)
		require.NotNil(t, got.LastUsedAt)
		assert.True(t, got.LastUsedAt.Equal(first.At))
	})

	t.Run("record_use_of_an_unknown_passkey_is_not_found", func(t *testing.T) {
		w := setup(t)
		create(t, w, w.user, passkeyBase)
		err := w.s.Passkeys.RecordUse(ctx, uuid.New(), domain.PasskeyUse{From: 7, To: 8, At: passkeyBase})
		assert.ErrorIs(t, err, domain.ErrPasskeyNotFound)
	})

	// Of concurrent uses that read the same counter exactly one is
	// recorded: the others are told the counter moved.
	t.Run("racing_uses_from_one_counter_one_wins", func(t *testing.T) {
		w := setup(t)
		p := create(t, w, w.user, passkeyBase)
		from := p.SignCount
		for round := range 3 {
			const n = 8
			uses := make([]domain.PasskeyUse, n)
			for i := range uses {
				uses[i] = domain.PasskeyUse{From: from, To: from + 1 + uint32(i), BackedUp: i%2 == 0,
					At: passkeyBase.Add(time.Duration(round*n+i) * time.Second)}
			}
			errs := oauthRace(n, func(i int) error { return w.s.Passkeys.RecordUse(ctx, p.ID, uses[i]) })
			winner := -1
			for i, err := range errs {
				if err == nil {
					assert.Equal(t, -1, winner, "two uses won in round %d", round)
					winner = i
					continue
				}
				assert.ErrorIs(t, err, domain.ErrConcurrentChange)
			}
			require.NotEqual(t, -1, winner, "no use won in round %d", round)
			got := byCred(t, w, p)
			assert.Equal(t, uses[winner].To, got.SignCount)
			assert.Equal(t, uses[winner].BackedUp, got.BackedUp)
			require.NotNil(t, got.LastUsedAt)
			assert.True(t, got.LastUsedAt.Equal(uses[winner].At))
			from = got.SignCount
		}
	})

	t.Run("rename_is_scoped_to_the_owner", func(t *testing.T) {
		w := setup(t)
		p := create(t, w, w.user, passkeyBase)
		other := create(t, w, w.user, passkeyBase.Add(time.Minute))

		assert.ErrorIs(t, w.s.Passkeys.Rename(ctx, w.stranger, p.ID, "Stolen"), domain.ErrPasskeyNotFound,
			"another user's passkey")
		assert.ErrorIs(t, w.s.Passkeys.Rename(ctx, w.user, uuid.New(), "Ghost"), domain.ErrPasskeyNotFound)
		assert.Equal(t, p.Name, byCred(t, w, p).Name, "a refused rename changes nothing")

		require.NoError(t, w.s.Passkeys.Rename(ctx, w.user, p.ID, "Work laptop"))
		got := byCred(t, w, p)
		want := p
		want.Name = "Work laptop"
		assert.Equal(t, normPasskey(want), normPasskey(got), "only the name changes")
		assert.Equal(t, other.Name, byCred(t, w, other).Name, "the user's other passkey keeps its name")
		assert.NoError(t, w.s.Passkeys.Rename(ctx, w.user, p.ID, "Work laptop"), "renaming to the same name is fine")
	})

	t.Run("delete_is_scoped_to_the_owner_and_happens_once", func(t *testing.T) {
		w := setup(t)
		p := create(t, w, w.user, passkeyBase)
		kept := create(t, w, w.user, passkeyBase.Add(time.Minute))

		assert.ErrorIs(t, w.s.Passkeys.Delete(ctx, w.stranger, p.ID), domain.ErrPasskeyNotFound, "another user's passkey")
		byCred(t, w, p)

		require.NoError(t, w.s.Passkeys.Delete(ctx, w.user, p.ID))
		_, err := w.s.Passkeys.ByCredentialID(ctx, p.CredentialID)
		assert.ErrorIs(t, err, domain.ErrPasskeyNotFound)
		assert.ErrorIs(t, w.s.Passkeys.Delete(ctx, w.user, p.ID), domain.ErrPasskeyNotFound, "deleted once")
		assert.ErrorIs(t, w.s.Passkeys.RecordUse(ctx, p.ID, domain.PasskeyUse{From: p.SignCount, To: p.SignCount + 1, At: passkeyBase}),
			domain.ErrPasskeyNotFound)
		got, err := w.s.Passkeys.ByUser(ctx, w.user)
		require.NoError(t, err)
		assert.Equal(t, []uuid.UUID{kept.ID}, passkeyIDs(got))

		again := NewTestPasskey(w.stranger, passkeyBase)
		again.CredentialID = p.CredentialID
		assert.NoError(t, w.s.Passkeys.Create(ctx, again), "a deleted credential id may be registered again")
	})

	t.Run("erasing_the_user_removes_their_passkeys", func(t *testing.T) {
		w := setup(t)
		if w.s.PersonalData == nil {
			t.Skip("the store has no erasure")
		}
		gone := []domain.Passkey{create(t, w, w.user, passkeyBase), create(t, w, w.user, passkeyBase.Add(time.Minute))}
		kept := create(t, w, w.stranger, passkeyBase)

		require.NoError(t, w.s.PersonalData.Erase(ctx, w.user, uuid.New()))

		got, err := w.s.Passkeys.ByUser(ctx, w.user)
		require.NoError(t, err)
		assert.Empty(t, got)
		for _, p := range gone {
			_, err := w.s.Passkeys.ByCredentialID(ctx, p.CredentialID)
			assert.ErrorIs(t, err, domain.ErrPasskeyNotFound)
		}
		assert.Equal(t, kept.ID, byCred(t, w, kept).ID, "another user's passkey stays")
	})

	t.Run("writes_join_the_callers_transaction", func(t *testing.T) {
		w := setup(t)
		kept := create(t, w, w.user, passkeyBase)
		boom := errors.New("boom")
		var gone domain.Passkey
		err := w.s.Tx.WithinTx(ctx, func(ctx context.Context) error {
			gone = NewTestPasskey(w.user, passkeyBase)
			require.NoError(t, w.s.Passkeys.Create(ctx, gone))
			require.NoError(t, w.s.Passkeys.RecordUse(ctx, kept.ID,
				domain.PasskeyUse{From: kept.SignCount, To: kept.SignCount + 1, At: passkeyBase.Add(time.Hour)}))
			require.NoError(t, w.s.Passkeys.Rename(ctx, w.user, kept.ID, "Rolled back"))
			return boom
		})
		require.ErrorIs(t, err, boom)
		_, err = w.s.Passkeys.ByCredentialID(ctx, gone.CredentialID)
		assert.ErrorIs(t, err, domain.ErrPasskeyNotFound, "rolled back with the transaction")
		assert.Equal(t, normPasskey(kept), normPasskey(byCred(t, w, kept)), "rolled back with the transaction")
	})
}

// RunCeremonies runs the contract of ports.CeremonyStore.
func RunCeremonies(t *testing.T, newStore func(t *testing.T) PasskeyStore) {
	ctx := context.Background()
	put := func(t *testing.T, s PasskeyStore, expiresAt time.Time) (string, []byte) {
		t.Helper()
		id := uuid.NewString()
		data := passkeyBytes(200)
		require.NoError(t, s.Ceremonies.Put(ctx, id, data, expiresAt))
		return id, data
	}

	t.Run("take_returns_the_data_once", func(t *testing.T) {
		s := newStore(t)
		id, data := put(t, s, passkeyBase.Add(5*time.Minute))
		other, otherData := put(t, s, passkeyBase.Add(5*time.Minute))
		got, err := s.Ceremonies.Take(ctx, id, passkeyBase)
		require.NoError(t, err)
		assert.Equal(t, data, got)

		_, err = s.Ceremonies.Take(ctx, id, passkeyBase)
		assert.ErrorIs(t, err, domain.ErrCeremonyExpired, "a ceremony is finished once")
		assert.Equal(t, domain.KindUnauthorized, domain.KindOf(err))

		got, err = s.Ceremonies.Take(ctx, other, passkeyBase)
		require.NoError(t, err, "another ceremony stays")
		assert.Equal(t, otherData, got)
	})

	t.Run("unknown_is_expired", func(t *testing.T) {
		s := newStore(t)
		put(t, s, passkeyBase.Add(time.Minute))
		_, err := s.Ceremonies.Take(ctx, uuid.NewString(), passkeyBase)
		assert.ErrorIs(t, err, domain.ErrCeremonyExpired)
		_, err = s.Ceremonies.Take(ctx, "", passkeyBase)
		assert.ErrorIs(t, err, domain.ErrCeremonyExpired)
	})

	t.Run("live_until_its_end", func(t *testing.T) {
		s := newStore(t)
		end := passkeyBase.Add(time.Minute)
		id, data := put(t, s, end.In(time.FixedZone("UTC+3", 3*3600)))
		got, err := s.Ceremonies.Take(ctx, id, end.Add(-time.Microsecond))
		require.NoError(t, err)
		assert.Equal(t, data, got)
	})

	t.Run("an_expired_ceremony_is_deleted_not_returned", func(t *testing.T) {
		s := newStore(t)
		end := passkeyBase.Add(time.Minute)
		id, _ := put(t, s, end)
		_, err := s.Ceremonies.Take(ctx, id, end)
		assert.ErrorIs(t, err, domain.ErrCeremonyExpired, "expired at its end")
		_, err = s.Ceremonies.Take(ctx, id, passkeyBase)
		assert.ErrorIs(t, err, domain.ErrCeremonyExpired, "the expired ceremony was deleted")
	})

	// Of concurrent takes of one ceremony exactly one gets the data.
	t.Run("racing_takes_one_wins", func(t *testing.T) {
		s := newStore(t)
		for round := range 5 {
			id, data := put(t, s, passkeyBase.Add(time.Hour))
			const n = 8
			got := make([][]byte, n)
			errs := oauthRace(n, func(i int) error {
				var err error
				got[i], err = s.Ceremonies.Take(ctx, id, passkeyBase)
				return err
			})
			wins := 0
			for i, err := range errs {
				if err == nil {
					wins++
					assert.Equal(t, data, got[i])
					continue
				}
				assert.ErrorIs(t, err, domain.ErrCeremonyExpired)
			}
			assert.Equal(t, 1, wins, "round %d", round)
		}
	})

	t.Run("delete_expired_counts_what_it_removed", func(t *testing.T) {
		s := newStore(t)
		now := passkeyBase.Add(time.Hour)
		var expired, live []string
		for _, end := range []time.Duration{-time.Hour, -time.Microsecond, 0} {
			id, _ := put(t, s, now.Add(end))
			expired = append(expired, id)
		}
		for _, end := range []time.Duration{time.Microsecond, time.Hour} {
			id, _ := put(t, s, now.Add(end))
			live = append(live, id)
		}
		n, err := s.Ceremonies.DeleteExpired(ctx, now)
		require.NoError(t, err)
		assert.Equal(t, len(expired), n)
		for _, id := range expired {
			_, err := s.Ceremonies.Take(ctx, id, passkeyBase)
			assert.ErrorIs(t, err, domain.ErrCeremonyExpired, "deleted")
		}
		n, err = s.Ceremonies.DeleteExpired(ctx, now)
		require.NoError(t, err)
		assert.Zero(t, n)
		for _, id := range live {
			_, err := s.Ceremonies.Take(ctx, id, now)
			assert.NoError(t, err, "a live ceremony stays")
		}
	})
}

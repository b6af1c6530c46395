package porttest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/domain"
)

// userWrites is the part of the user contract about intent-named writes:
// each writes what the aggregate changed and nothing else, guards hold
// against the row as committed, and concurrent writes of different intents
// all survive.
func userWrites(t *testing.T, newStore func(t *testing.T) UserStore) {
	ctx := context.Background()
	at := time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)

	// reload reads u back and checks the store holds what the aggregate
	// says.
	agrees := func(t *testing.T, s UserStore, u *domain.User) {
		t.Helper()
		got, err := s.Users.ByID(ctx, u.ID())
		require.NoError(t, err)
		assert.Equal(t, u.State(), got.State())
	}
	created := func(t *testing.T, s UserStore, name string) *domain.User {
		t.Helper()
		u := NewUser(name)
		require.NoError(t, s.Users.Create(ctx, u))
		return u
	}
	f, tr := false, true

	t.Run("each_write_stores_what_the_aggregate_changed", func(t *testing.T) {
		s := newStore(t)
		u := created(t, s, "intent")

		rec, guard := u.RecordLogin(at, "198.51.100.4", "Firefox", "$argon2id$rehashed")
		require.NoError(t, s.Users.RecordLogin(ctx, u.ID(), rec, guard))
		agrees(t, s, u)

		name := "Grace"
		ch, err := u.ChangeProfile(&name, nil, at.Add(time.Second))
		require.NoError(t, err)
		require.NoError(t, s.Users.SetProfile(ctx, u.ID(), ch))
		agrees(t, s, u)

		require.NoError(t, s.Users.SetAccess(ctx, u.ID(), u.ChangeAccess(nil, &tr, &tr, at.Add(2*time.Second))))
		agrees(t, s, u)

		u.RequirePasswordChange(at.Add(3 * time.Second))
		require.NoError(t, s.Users.RequirePasswordChange(ctx, u.ID(), at.Add(3*time.Second)))
		agrees(t, s, u)

		require.NoError(t, s.Users.SetPassword(ctx, u.ID(), u.SetPassword("$argon2id$new", at.Add(4*time.Second), 90*24*time.Hour)))
		agrees(t, s, u)

		require.NoError(t, u.StartMFASetup([]byte("sealed-secret"), at.Add(5*time.Second)))
		require.NoError(t, s.Users.SetPendingMFASecret(ctx, u.ID(), u.MFASecretSealed(), at.Add(5*time.Second)))
		agrees(t, s, u)
		act, err := u.EnableMFA(at.Add(6 * time.Second))
		require.NoError(t, err)
		require.NoError(t, s.Users.EnableMFA(ctx, u.ID(), act))
		agrees(t, s, u)
		require.NoError(t, u.DisableMFA(at.Add(7*time.Second)))
		require.NoError(t, s.Users.DisableMFA(ctx, u.ID(), at.Add(7*time.Second)))
		agrees(t, s, u)

		ech, moved := u.ConfirmEmail(domain.MustEmail("grace@example.com"), at.Add(8*time.Second))
		require.True(t, moved)
		require.NoError(t, s.Users.SetEmail(ctx, u.ID(), ech))
		agrees(t, s, u)
	})

	t.Run("unlock_lifts_an_imported_lock", func(t *testing.T) {
		s := newStore(t)
		locked := at.Add(time.Hour)
		u := Edit(NewUser("lockedout"), func(s *domain.UserState) { s.Lock = domain.AccountLock{Until: &locked, Failures: 5} })
		require.NoError(t, s.Users.Create(ctx, u))
		require.True(t, u.Unlock(at))
		require.NoError(t, s.Users.Unlock(ctx, u.ID(), at))
		agrees(t, s, u)
	})

	t.Run("login_guard_refuses_a_changed_account_and_writes_nothing", func(t *testing.T) {
		cases := map[string]func(s UserStore, u *domain.User){
			"password_changed": func(s UserStore, u *domain.User) {
				require.NoError(t, s.Users.SetPassword(ctx, u.ID(), u.SetPassword("$argon2id$other", at, 0)))
			},
			"deactivated": func(s UserStore, u *domain.User) {
				require.NoError(t, s.Users.SetAccess(ctx, u.ID(), u.ChangeAccess(&f, nil, nil, at)))
			},
			"mfa_turned_on": func(s UserStore, u *domain.User) {
				require.NoError(t, u.StartMFASetup([]byte("x"), at))
				require.NoError(t, s.Users.SetPendingMFASecret(ctx, u.ID(), []byte("x"), at))
				act, err := u.EnableMFA(at)
				require.NoError(t, err)
				require.NoError(t, s.Users.EnableMFA(ctx, u.ID(), act))
			},
		}
		for name, change := range cases {
			t.Run(name, func(t *testing.T) {
				s := newStore(t)
				u := created(t, s, "guarded")
				read, err := s.Users.ByID(ctx, u.ID())
				require.NoError(t, err)
				change(s, u)
				rec, guard := read.RecordLogin(at.Add(time.Minute), "192.0.2.1", "ua", "$argon2id$rehash")
				assert.ErrorIs(t, s.Users.RecordLogin(ctx, u.ID(), rec, guard), domain.ErrConcurrentChange)
				agrees(t, s, u)
			})
		}
	})

	t.Run("password_write_refuses_a_password_set_meanwhile", func(t *testing.T) {
		s := newStore(t)
		u := created(t, s, "stalepw")
		read, err := s.Users.ByID(ctx, u.ID())
		require.NoError(t, err)
		require.NoError(t, s.Users.SetPassword(ctx, u.ID(), u.SetPassword("$argon2id$owner", at, 0)))
		assert.ErrorIs(t, s.Users.SetPassword(ctx, u.ID(), read.SetPassword("$argon2id$thief", at, 0)), domain.ErrConcurrentChange)
		agrees(t, s, u)
	})

	t.Run("email_write_refuses_a_stale_or_taken_address", func(t *testing.T) {
		s := newStore(t)
		u, other := created(t, s, "mailer"), created(t, s, "othermailer")
		read, err := s.Users.ByID(ctx, u.ID())
		require.NoError(t, err)
		ch, _ := u.ConfirmEmail(domain.MustEmail("first@example.com"), at)
		require.NoError(t, s.Users.SetEmail(ctx, u.ID(), ch))
		late, _ := read.ConfirmEmail(domain.MustEmail("second@example.com"), at)
		assert.ErrorIs(t, s.Users.SetEmail(ctx, u.ID(), late), domain.ErrConcurrentChange)
		taken, _ := u.ConfirmEmail(other.Email(), at)
		assert.ErrorIs(t, s.Users.SetEmail(ctx, u.ID(), taken), domain.ErrEmailTaken)
	})

	t.Run("mfa_writes_refuse_a_changed_second_factor", func(t *testing.T) {
		s := newStore(t)
		u := created(t, s, "twofactor")
		require.NoError(t, s.Users.SetPendingMFASecret(ctx, u.ID(), []byte("first"), at))
		read, err := s.Users.ByID(ctx, u.ID())
		require.NoError(t, err)
		require.NoError(t, s.Users.SetPendingMFASecret(ctx, u.ID(), []byte("second"), at))
		act, err := read.EnableMFA(at)
		require.NoError(t, err)
		assert.ErrorIs(t, s.Users.EnableMFA(ctx, u.ID(), act), domain.ErrConcurrentChange,
			"a code checked against a replaced secret turns nothing on")

		current, err := s.Users.ByID(ctx, u.ID())
		require.NoError(t, err)
		act, err = current.EnableMFA(at)
		require.NoError(t, err)
		require.NoError(t, s.Users.EnableMFA(ctx, u.ID(), act))
		assert.ErrorIs(t, s.Users.SetPendingMFASecret(ctx, u.ID(), []byte("third"), at), domain.ErrMFAAlreadyEnabled,
			"the secret in use is never replaced")
	})

	t.Run("outdated_hash_finds_a_hash_made_otherwise", func(t *testing.T) {
		s := newStore(t)
		created(t, s, "current")
		const prefix = "$argon2id$v=19$m=19456,t=2,p=1$"
		h, err := s.Users.OutdatedHash(ctx, prefix)
		require.NoError(t, err)
		assert.Empty(t, h, "every hash is current")
		legacy := Edit(NewUser("legacy"), func(s *domain.UserState) { s.Password.Hash = "pbkdf2:sha256:600000$salt$ab" })
		require.NoError(t, s.Users.Create(ctx, legacy))
		h, err = s.Users.OutdatedHash(ctx, prefix)
		require.NoError(t, err)
		assert.Equal(t, "pbkdf2:sha256:600000$salt$ab", h)
	})

	t.Run("concurrent_intent_writes_all_survive", func(t *testing.T) {
		s := newStore(t)
		for i := range 20 {
			u := created(t, s, fmt.Sprintf("racer%02d", i))
			// Every writer works from its own read of the same row, as
			// concurrent requests do.
			reads := make([]*domain.User, 4)
			for j := range reads {
				r, err := s.Users.ByID(ctx, u.ID())
				require.NoError(t, err)
				reads[j] = r
			}
			name := "Renamed"
			writes := []func() error{
				func() error {
					ch, err := reads[0].ChangeProfile(&name, nil, at)
					if err != nil {
						return err
					}
					return s.Users.SetProfile(ctx, u.ID(), ch)
				},
				func() error { return s.Users.SetAccess(ctx, u.ID(), reads[1].ChangeAccess(nil, nil, &tr, at)) },
				func() error { return s.Users.RequirePasswordChange(ctx, u.ID(), at) },
				func() error {
					rec, guard := reads[3].RecordLogin(at, "192.0.2.9", "ua", "")
					return s.Users.RecordLogin(ctx, u.ID(), rec, guard)
				},
			}
			var wg sync.WaitGroup
			errs := make([]error, len(writes))
			for j, w := range writes {
				wg.Add(1)
				go func() {
					defer wg.Done()
					time.Sleep(time.Duration(rand.IntN(5)) * time.Millisecond)
					errs[j] = w()
				}()
			}
			wg.Wait()
			for _, err := range errs {
				require.NoError(t, err)
			}
			got, err := s.Users.ByID(ctx, u.ID())
			require.NoError(t, err)
			assert.Equal(t, "Renamed", got.FirstName(), "try %d", i)
			assert.True(t, got.EmailVerified(), "try %d", i)
			assert.True(t, got.MustChangePassword(), "try %d", i)
			assert.NotNil(t, got.LastLoginAt(), "try %d", i)
		}
	})
}

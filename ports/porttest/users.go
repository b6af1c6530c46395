// Package porttest holds the contract suites every adapter of a port must
// pass. An adapter's tests call the suite with a constructor for a fresh,
// empty store.
package porttest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// UserStore is what the user contract suite needs from an adapter.
type UserStore struct {
	Users ports.UserRepository
	Tx    ports.TxManager
}

// NewUser returns a valid user with a unique email and username derived
// from name.
func NewUser(name string) *domain.User {
	now := time.Now().UTC().Truncate(time.Microsecond)
	return domain.NewUser(domain.NewUserParams{
		ID:           uuid.Must(uuid.NewV7()),
		Email:        domain.MustEmail(name + "@example.com"),
		Username:     domain.MustUsername(name),
		FirstName:    "Ada",
		LastName:     "Lovelace",
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2g",
		Now:          now,
	})
}

// Edit returns u with its stored state changed by edit: how tests build
// users in states no use case would produce in one step.
func Edit(u *domain.User, edit func(s *domain.UserState)) *domain.User {
	s := u.State()
	edit(&s)
	return domain.RehydrateUser(s)
}

// UserRepository runs the contract of ports.UserRepository and
// ports.TxManager against the store newStore returns.
func UserRepository(t *testing.T, newStore func(t *testing.T) UserStore) {
	ctx := context.Background()

	t.Run("round_trip_keeps_every_field", func(t *testing.T) {
		s := newStore(t)
		u := Edit(NewUser("roundtrip"), func(s *domain.UserState) {
			exp := s.CreatedAt.Add(90 * 24 * time.Hour)
			locked := s.CreatedAt.Add(time.Hour)
			step := int64(42)
			s.Password.ExpiresAt, s.Password.MustChange, s.EmailVerified = &exp, true, true
			s.Lock = domain.AccountLock{Until: &locked, Failures: 3}
			s.MFA = domain.MFA{Enabled: true, SecretSealed: []byte("sealed"), LastUsedStep: &step}
			s.LastLogin = domain.LastLogin{At: &s.CreatedAt, IP: "203.0.113.7", UserAgent: "curl"}
		})
		require.NoError(t, s.Users.Create(ctx, u))
		got, err := s.Users.ByID(ctx, u.ID())
		require.NoError(t, err)
		assert.Equal(t, u.State(), got.State())
	})

	t.Run("by_login_matches_email_or_username_case_insensitively", func(t *testing.T) {
		s := newStore(t)
		u := NewUser("MixedCase")
		require.NoError(t, s.Users.Create(ctx, u))
		for _, login := range []string{"mixedcase", "MIXEDCASE", "MixedCase@Example.com", " mixedcase@example.com "} {
			got, err := s.Users.ByLogin(ctx, login)
			require.NoError(t, err, login)
			assert.Equal(t, u.ID(), got.ID(), login)
		}
		assert.Equal(t, "MixedCase", u.Username().String(), "display case is kept")
	})

	t.Run("missing_user_is_not_found", func(t *testing.T) {
		s := newStore(t)
		_, err := s.Users.ByID(ctx, uuid.New())
		assert.ErrorIs(t, err, domain.ErrUserNotFound)
		_, err = s.Users.ByLogin(ctx, "nobody")
		assert.ErrorIs(t, err, domain.ErrUserNotFound)
		_, err = s.Users.ByLogin(ctx, "nobody@example.com")
		assert.ErrorIs(t, err, domain.ErrUserNotFound)
		ghost := NewUser("ghost")
		now := time.Now()
		assert.ErrorIs(t, s.Users.Unlock(ctx, ghost.ID(), now), domain.ErrUserNotFound)
		assert.ErrorIs(t, s.Users.SetPassword(ctx, ghost.ID(), ghost.SetPassword("h", now, 0)), domain.ErrUserNotFound)
		assert.ErrorIs(t, s.Users.RequirePasswordChange(ctx, ghost.ID(), now), domain.ErrUserNotFound)
	})

	t.Run("duplicates_conflict_case_insensitively", func(t *testing.T) {
		s := newStore(t)
		require.NoError(t, s.Users.Create(ctx, NewUser("taken")))

		sameEmail := Edit(NewUser("other"), func(s *domain.UserState) { s.Email = domain.MustEmail("TAKEN@example.com") })
		err := s.Users.Create(ctx, sameEmail)
		assert.ErrorIs(t, err, domain.ErrEmailTaken)
		assert.Equal(t, domain.KindConflict, domain.KindOf(err))

		sameName := Edit(NewUser("another"), func(s *domain.UserState) { s.Username = domain.MustUsername("TaKeN") })
		assert.ErrorIs(t, s.Users.Create(ctx, sameName), domain.ErrUsernameTaken)
	})

	userWrites(t, newStore)

	t.Run("failing_transaction_rolls_back", func(t *testing.T) {
		s := newStore(t)
		u := NewUser("rolledback")
		boom := errors.New("boom")
		err := s.Tx.WithinTx(ctx, func(ctx context.Context) error {
			require.NoError(t, s.Users.Create(ctx, u))
			return boom
		})
		assert.ErrorIs(t, err, boom)
		_, err = s.Users.ByID(ctx, u.ID())
		assert.ErrorIs(t, err, domain.ErrUserNotFound)
	})

	t.Run("committed_transaction_is_visible", func(t *testing.T) {
		s := newStore(t)
		u := NewUser("committed")
		require.NoError(t, s.Tx.WithinTx(ctx, func(ctx context.Context) error { return s.Users.Create(ctx, u) }))
		_, err := s.Users.ByID(ctx, u.ID())
		assert.NoError(t, err)
	})

	t.Run("concurrent_creates_of_one_email_have_one_winner", func(t *testing.T) {
		s := newStore(t)
		const n = 10
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				u := Edit(NewUser(fmt.Sprintf("racer%d", i)), func(s *domain.UserState) { s.Email = domain.MustEmail("race@example.com") })
				errs[i] = s.Tx.WithinTx(ctx, func(ctx context.Context) error { return s.Users.Create(ctx, u) })
			}()
		}
		wg.Wait()
		wins := 0
		for _, err := range errs {
			if err == nil {
				wins++
				continue
			}
			assert.ErrorIs(t, err, domain.ErrEmailTaken)
		}
		assert.Equal(t, 1, wins)
	})
}

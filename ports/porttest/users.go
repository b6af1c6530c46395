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

// UserRepository runs the contract of ports.UserRepository and
// ports.TxManager against the store newStore returns.
func UserRepository(t *testing.T, newStore func(t *testing.T) UserStore) {
	ctx := context.Background()

	t.Run("round_trip_keeps_every_field", func(t *testing.T) {
		s := newStore(t)
		u := NewUser("roundtrip")
		exp := u.CreatedAt.Add(90 * 24 * time.Hour)
		u.PasswordExpiresAt = &exp
		u.EmailVerified = true
		require.NoError(t, s.Users.Create(ctx, u))
		got, err := s.Users.ByID(ctx, u.ID)
		require.NoError(t, err)
		assert.Equal(t, u, got)
	})

	t.Run("by_login_matches_email_or_username_case_insensitively", func(t *testing.T) {
		s := newStore(t)
		u := NewUser("MixedCase")
		require.NoError(t, s.Users.Create(ctx, u))
		for _, login := range []string{"mixedcase", "MIXEDCASE", "MixedCase@Example.com", " mixedcase@example.com "} {
			got, err := s.Users.ByLogin(ctx, login)
			require.NoError(t, err, login)
			assert.Equal(t, u.ID, got.ID, login)
		}
		assert.Equal(t, "MixedCase", u.Username.String(), "display case is kept")
	})

	t.Run("missing_user_is_not_found", func(t *testing.T) {
		s := newStore(t)
		_, err := s.Users.ByID(ctx, uuid.New())
		assert.ErrorIs(t, err, domain.ErrUserNotFound)
		_, err = s.Users.ByLogin(ctx, "nobody")
		assert.ErrorIs(t, err, domain.ErrUserNotFound)
		_, err = s.Users.ByLogin(ctx, "nobody@example.com")
		assert.ErrorIs(t, err, domain.ErrUserNotFound)
		assert.ErrorIs(t, s.Users.Update(ctx, NewUser("ghost")), domain.ErrUserNotFound)
	})

	t.Run("duplicates_conflict_case_insensitively", func(t *testing.T) {
		s := newStore(t)
		require.NoError(t, s.Users.Create(ctx, NewUser("taken")))

		sameEmail := NewUser("other")
		sameEmail.Email = domain.MustEmail("TAKEN@example.com")
		err := s.Users.Create(ctx, sameEmail)
		assert.ErrorIs(t, err, domain.ErrEmailTaken)
		assert.Equal(t, domain.KindConflict, domain.KindOf(err))

		sameName := NewUser("another")
		sameName.Username = domain.MustUsername("TaKeN")
		assert.ErrorIs(t, s.Users.Create(ctx, sameName), domain.ErrUsernameTaken)
	})

	t.Run("update_writes_mutable_fields", func(t *testing.T) {
		s := newStore(t)
		u := NewUser("updatable")
		require.NoError(t, s.Users.Create(ctx, u))
		locked := u.CreatedAt.Add(15 * time.Minute)
		u.FirstName, u.IsActive, u.FailedLoginCount, u.LockedUntil = "Grace", false, 3, &locked
		u.UpdatedAt = u.UpdatedAt.Add(time.Second)
		require.NoError(t, s.Users.Update(ctx, u))
		got, err := s.Users.ByID(ctx, u.ID)
		require.NoError(t, err)
		assert.Equal(t, u, got)
	})

	t.Run("update_to_taken_email_conflicts", func(t *testing.T) {
		s := newStore(t)
		a, b := NewUser("first"), NewUser("second")
		require.NoError(t, s.Users.Create(ctx, a))
		require.NoError(t, s.Users.Create(ctx, b))
		b.Email = a.Email
		assert.ErrorIs(t, s.Users.Update(ctx, b), domain.ErrEmailTaken)
	})

	t.Run("failing_transaction_rolls_back", func(t *testing.T) {
		s := newStore(t)
		u := NewUser("rolledback")
		boom := errors.New("boom")
		err := s.Tx.WithinTx(ctx, func(ctx context.Context) error {
			require.NoError(t, s.Users.Create(ctx, u))
			return boom
		})
		assert.ErrorIs(t, err, boom)
		_, err = s.Users.ByID(ctx, u.ID)
		assert.ErrorIs(t, err, domain.ErrUserNotFound)
	})

	t.Run("committed_transaction_is_visible", func(t *testing.T) {
		s := newStore(t)
		u := NewUser("committed")
		require.NoError(t, s.Tx.WithinTx(ctx, func(ctx context.Context) error { return s.Users.Create(ctx, u) }))
		_, err := s.Users.ByID(ctx, u.ID)
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
				u := NewUser(fmt.Sprintf("racer%d", i))
				u.Email = domain.MustEmail("race@example.com")
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

package porttest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// CredentialStore is what the credential contract suite needs from an
// adapter. Users is there because every credential row belongs to a stored
// user; Tx because the stores must join a caller's transaction.
type CredentialStore struct {
	Users   ports.UserRepository
	Tx      ports.TxManager
	Tokens  ports.OneTimeTokenRepository
	History ports.PasswordHistory
	Codes   ports.RecoveryCodes
}

// RunCredentialStores runs the contracts of ports.OneTimeTokenRepository,
// ports.PasswordHistory and ports.RecoveryCodes against the store newStore
// returns.
func RunCredentialStores(t *testing.T, newStore func(t *testing.T) CredentialStore) {
	ctx := context.Background()
	// Whole microseconds: the precision every store keeps.
	base := time.Date(2030, 3, 4, 5, 6, 7, 123456000, time.UTC)

	setup := func(t *testing.T) (CredentialStore, uuid.UUID) {
		t.Helper()
		s := newStore(t)
		u := NewUser("cred" + uuid.NewString()[:8])
		require.NoError(t, s.Users.Create(ctx, u))
		return s, u.ID()
	}
	addUser := func(t *testing.T, s CredentialStore) uuid.UUID {
		t.Helper()
		u := NewUser("other" + uuid.NewString()[:8])
		require.NoError(t, s.Users.Create(ctx, u))
		return u.ID()
	}
	createToken := func(t *testing.T, s CredentialStore, userID uuid.UUID, purpose domain.TokenPurpose, created time.Time) domain.OneTimeToken {
		t.Helper()
		tok := newOneTimeToken(userID, purpose, created)
		require.NoError(t, s.Tokens.Create(ctx, tok))
		return tok
	}

	t.Run("token_consumes_once_and_round_trips", func(t *testing.T) {
		s, userID := setup(t)
		tok := newOneTimeToken(userID, domain.PurposeEmailVerify, base)
		tok.Payload = "new.address+tag@example.org"
		require.NoError(t, s.Tokens.Create(ctx, tok))

		now := base.Add(time.Minute)
		got, err := s.Tokens.Consume(ctx, domain.PurposeEmailVerify, tok.Hash, now)
		require.NoError(t, err)
		want := tok
		want.UsedAt = &now
		assert.Equal(t, want, got, "the consumed token comes back, payload included, used at now")
		require.NotNil(t, got.UsedAt)
		assert.Equal(t, time.UTC, got.CreatedAt.Location())

		_, err = s.Tokens.Consume(ctx, domain.PurposeEmailVerify, tok.Hash, now.Add(time.Second))
		assert.ErrorIs(t, err, domain.ErrInvalidToken, "a token is single-use")
	})

	t.Run("token_times_come_back_in_utc", func(t *testing.T) {
		s, userID := setup(t)
		zone := time.FixedZone("UTC-7", -7*3600)
		tok := createToken(t, s, userID, domain.PurposePasswordReset, base.In(zone))
		got, err := s.Tokens.Consume(ctx, domain.PurposePasswordReset, tok.Hash, base.In(zone))
		require.NoError(t, err)
		assert.Equal(t, time.UTC, got.CreatedAt.Location())
		assert.True(t, got.CreatedAt.Equal(base), "got %v", got.CreatedAt)
		assert.True(t, got.ExpiresAt.Equal(tok.ExpiresAt))
		require.NotNil(t, got.UsedAt)
		assert.True(t, got.UsedAt.Equal(base))
	})

	t.Run("token_with_wrong_purpose_is_invalid", func(t *testing.T) {
		s, userID := setup(t)
		tok := createToken(t, s, userID, domain.PurposePasswordReset, base)
		_, err := s.Tokens.Consume(ctx, domain.PurposeEmailVerify, tok.Hash, base)
		assert.ErrorIs(t, err, domain.ErrInvalidToken)
		_, err = s.Tokens.Consume(ctx, domain.PurposePasswordReset, tok.Hash, base)
		assert.NoError(t, err, "a wrong purpose does not spend the token")
	})

	t.Run("unknown_or_empty_token_is_invalid", func(t *testing.T) {
		s, _ := setup(t)
		unknown := sha256.Sum256([]byte("never issued"))
		_, err := s.Tokens.Consume(ctx, domain.PurposePasswordReset, unknown[:], base)
		assert.ErrorIs(t, err, domain.ErrInvalidToken)
		assert.Equal(t, domain.KindUnauthorized, domain.KindOf(err))
		_, err = s.Tokens.Consume(ctx, domain.PurposePasswordReset, nil, base)
		assert.ErrorIs(t, err, domain.ErrInvalidToken)
	})

	t.Run("expired_token_is_invalid", func(t *testing.T) {
		s, userID := setup(t)
		tok := createToken(t, s, userID, domain.PurposePasswordReset, base)
		_, err := s.Tokens.Consume(ctx, domain.PurposePasswordReset, tok.Hash, tok.ExpiresAt.Add(time.Second))
		assert.ErrorIs(t, err, domain.ErrInvalidToken)
		_, err = s.Tokens.Consume(ctx, domain.PurposePasswordReset, tok.Hash, tok.ExpiresAt)
		assert.ErrorIs(t, err, domain.ErrInvalidToken, "a token ends at its expiry")
		_, err = s.Tokens.Consume(ctx, domain.PurposePasswordReset, tok.Hash, tok.ExpiresAt.Add(-time.Microsecond))
		assert.NoError(t, err, "and works until then")
	})

	t.Run("duplicate_token_hash_conflicts", func(t *testing.T) {
		s, userID := setup(t)
		tok := createToken(t, s, userID, domain.PurposePasswordReset, base)
		dup := newOneTimeToken(userID, domain.PurposeEmailVerify, base)
		dup.Hash = tok.Hash
		assert.ErrorIs(t, s.Tokens.Create(ctx, dup), domain.ErrConflict)
	})

	t.Run("token_for_unknown_user_fails", func(t *testing.T) {
		s, _ := setup(t)
		tok := newOneTimeToken(uuid.New(), domain.PurposePasswordReset, base)
		assert.Error(t, s.Tokens.Create(ctx, tok))
		_, err := s.Tokens.Consume(ctx, domain.PurposePasswordReset, tok.Hash, base)
		assert.ErrorIs(t, err, domain.ErrInvalidToken)
	})

	t.Run("concurrent_consumes_have_one_winner", func(t *testing.T) {
		s, userID := setup(t)
		tok := createToken(t, s, userID, domain.PurposePasswordReset, base)
		wins := raceSpend(t, 20, func(int) (bool, error) {
			_, err := s.Tokens.Consume(ctx, domain.PurposePasswordReset, tok.Hash, base.Add(time.Second))
			if errors.Is(err, domain.ErrInvalidToken) {
				return false, nil
			}
			return err == nil, err
		})
		assert.Equal(t, 1, wins)
	})

	t.Run("invalidate_for_user_spends_only_that_users_purpose", func(t *testing.T) {
		s, userID := setup(t)
		otherID := addUser(t, s)
		old1 := createToken(t, s, userID, domain.PurposePasswordReset, base)
		old2 := createToken(t, s, userID, domain.PurposePasswordReset, base.Add(time.Minute))
		otherPurpose := createToken(t, s, userID, domain.PurposeEmailVerify, base)
		otherUser := createToken(t, s, otherID, domain.PurposePasswordReset, base)

		at := base.Add(2 * time.Minute)
		require.NoError(t, s.Tokens.InvalidateForUser(ctx, userID, domain.PurposePasswordReset, at))
		fresh := createToken(t, s, userID, domain.PurposePasswordReset, at)

		now := at.Add(time.Second)
		for _, tok := range []domain.OneTimeToken{old1, old2} {
			_, err := s.Tokens.Consume(ctx, domain.PurposePasswordReset, tok.Hash, now)
			assert.ErrorIs(t, err, domain.ErrInvalidToken, "older tokens are spent")
		}
		_, err := s.Tokens.Consume(ctx, domain.PurposePasswordReset, fresh.Hash, now)
		assert.NoError(t, err, "a token made after the invalidation works")
		_, err = s.Tokens.Consume(ctx, domain.PurposeEmailVerify, otherPurpose.Hash, now)
		assert.NoError(t, err, "other purposes are left alone")
		_, err = s.Tokens.Consume(ctx, domain.PurposePasswordReset, otherUser.Hash, now)
		assert.NoError(t, err, "other users' tokens are left alone")

		assert.NoError(t, s.Tokens.InvalidateForUser(ctx, uuid.New(), domain.PurposePasswordReset, now),
			"nothing to invalidate is not an error")
	})

	t.Run("history_recent_is_newest_first_and_limited", func(t *testing.T) {
		s, userID := setup(t)
		otherID := addUser(t, s)
		for i, h := range []string{"h0", "h1", "h2", "h3"} {
			require.NoError(t, s.History.Add(ctx, uuid.Must(uuid.NewV7()), userID, h, base.Add(time.Duration(i)*time.Minute)))
		}
		require.NoError(t, s.History.Add(ctx, uuid.Must(uuid.NewV7()), otherID, "theirs", base.Add(time.Hour)))

		got, err := s.History.Recent(ctx, userID, 3)
		require.NoError(t, err)
		assert.Equal(t, []string{"h3", "h2", "h1"}, got)
		got, err = s.History.Recent(ctx, userID, 10)
		require.NoError(t, err)
		assert.Equal(t, []string{"h3", "h2", "h1", "h0"}, got)
		got, err = s.History.Recent(ctx, userID, 0)
		require.NoError(t, err)
		assert.Nil(t, got)
		got, err = s.History.Recent(ctx, userID, -1)
		require.NoError(t, err)
		assert.Nil(t, got)
		got, err = s.History.Recent(ctx, uuid.New(), 5)
		require.NoError(t, err)
		assert.Empty(t, got)
	})

	t.Run("history_breaks_created_at_ties_by_id", func(t *testing.T) {
		s, userID := setup(t)
		a, b := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
		require.NoError(t, s.History.Add(ctx, a, userID, "a", base))
		require.NoError(t, s.History.Add(ctx, b, userID, "b", base))
		want := []string{"a", "b"}
		if uuidLess(a, b) {
			want = []string{"b", "a"}
		}
		got, err := s.History.Recent(ctx, userID, 2)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	})

	t.Run("recovery_codes_replace_use_once_and_count", func(t *testing.T) {
		s, userID := setup(t)
		otherID := addUser(t, s)
		old := codeHashes(3)
		require.NoError(t, s.Codes.Replace(ctx, userID, old, base))
		n, err := s.Codes.Remaining(ctx, userID)
		require.NoError(t, err)
		assert.Equal(t, 3, n)

		fresh := codeHashes(4)
		require.NoError(t, s.Codes.Replace(ctx, userID, fresh, base.Add(time.Minute)))
		theirs := codeHashes(2)
		require.NoError(t, s.Codes.Replace(ctx, otherID, theirs, base))
		n, err = s.Codes.Remaining(ctx, userID)
		require.NoError(t, err)
		assert.Equal(t, 4, n, "the old codes are gone")
		ok, err := s.Codes.Use(ctx, userID, old[0], base.Add(time.Hour))
		require.NoError(t, err)
		assert.False(t, ok, "a replaced code no longer works")

		ok, err = s.Codes.Use(ctx, userID, fresh[1], base.Add(time.Hour))
		require.NoError(t, err)
		assert.True(t, ok)
		ok, err = s.Codes.Use(ctx, userID, fresh[1], base.Add(2*time.Hour))
		require.NoError(t, err)
		assert.False(t, ok, "a code is single-use")
		n, err = s.Codes.Remaining(ctx, userID)
		require.NoError(t, err)
		assert.Equal(t, 3, n)

		ok, err = s.Codes.Use(ctx, userID, theirs[0], base.Add(time.Hour))
		require.NoError(t, err)
		assert.False(t, ok, "another user's code does not work")
		ok, err = s.Codes.Use(ctx, uuid.New(), fresh[0], base.Add(time.Hour))
		require.NoError(t, err)
		assert.False(t, ok, "the code belongs to its user")
		ok, err = s.Codes.Use(ctx, userID, nil, base.Add(time.Hour))
		require.NoError(t, err)
		assert.False(t, ok)
		n, err = s.Codes.Remaining(ctx, otherID)
		require.NoError(t, err)
		assert.Equal(t, 2, n, "another user's codes are untouched")

		require.NoError(t, s.Codes.Replace(ctx, userID, nil, base.Add(3*time.Hour)))
		n, err = s.Codes.Remaining(ctx, userID)
		require.NoError(t, err)
		assert.Equal(t, 0, n, "replacing with none clears the codes")
		n, err = s.Codes.Remaining(ctx, uuid.New())
		require.NoError(t, err)
		assert.Equal(t, 0, n)
	})

	t.Run("concurrent_code_uses_have_one_winner", func(t *testing.T) {
		s, userID := setup(t)
		codes := codeHashes(2)
		require.NoError(t, s.Codes.Replace(ctx, userID, codes, base))
		wins := raceSpend(t, 20, func(int) (bool, error) {
			return s.Codes.Use(ctx, userID, codes[0], base.Add(time.Second))
		})
		assert.Equal(t, 1, wins)
		n, err := s.Codes.Remaining(ctx, userID)
		require.NoError(t, err)
		assert.Equal(t, 1, n)
	})

	t.Run("rolled_back_transaction_leaves_nothing", func(t *testing.T) {
		s, userID := setup(t)
		kept := codeHashes(2)
		require.NoError(t, s.Codes.Replace(ctx, userID, kept, base))
		spendable := createToken(t, s, userID, domain.PurposeEmailVerify, base)
		tok := newOneTimeToken(userID, domain.PurposePasswordReset, base)

		boom := errors.New("boom")
		err := s.Tx.WithinTx(ctx, func(ctx context.Context) error {
			require.NoError(t, s.Tokens.Create(ctx, tok))
			require.NoError(t, s.Tokens.InvalidateForUser(ctx, userID, domain.PurposePasswordReset, base))
			_, err := s.Tokens.Consume(ctx, domain.PurposeEmailVerify, spendable.Hash, base)
			require.NoError(t, err)
			require.NoError(t, s.History.Add(ctx, uuid.Must(uuid.NewV7()), userID, "h", base))
			require.NoError(t, s.Codes.Replace(ctx, userID, codeHashes(5), base))
			ok, err := s.Codes.Use(ctx, userID, kept[0], base)
			require.NoError(t, err)
			assert.False(t, ok, "replaced inside the transaction")

			got, err := s.History.Recent(ctx, userID, 5)
			require.NoError(t, err)
			assert.Equal(t, []string{"h"}, got, "visible inside the transaction")
			n, err := s.Codes.Remaining(ctx, userID)
			require.NoError(t, err)
			assert.Equal(t, 5, n, "visible inside the transaction")
			return boom
		})
		assert.ErrorIs(t, err, boom)

		_, err = s.Tokens.Consume(ctx, domain.PurposePasswordReset, tok.Hash, base)
		assert.ErrorIs(t, err, domain.ErrInvalidToken, "the token was not kept")
		_, err = s.Tokens.Consume(ctx, domain.PurposeEmailVerify, spendable.Hash, base)
		assert.NoError(t, err, "the rolled-back consume did not spend the token")
		got, err := s.History.Recent(ctx, userID, 5)
		require.NoError(t, err)
		assert.Empty(t, got)
		n, err := s.Codes.Remaining(ctx, userID)
		require.NoError(t, err)
		assert.Equal(t, 2, n, "the old codes are back")
		ok, err := s.Codes.Use(ctx, userID, kept[0], base)
		require.NoError(t, err)
		assert.True(t, ok)
	})
}

// newOneTimeToken returns an unstored token of userID created at created,
// valid for an hour, with a random hash.
func newOneTimeToken(userID uuid.UUID, purpose domain.TokenPurpose, created time.Time) domain.OneTimeToken {
	return domain.OneTimeToken{
		ID:        uuid.Must(uuid.NewV7()),
		UserID:    userID,
		Purpose:   purpose,
		Hash:      randomHash(),
		CreatedAt: created,
		ExpiresAt: created.Add(time.Hour),
	}
}

// codeHashes returns n distinct random recovery-code hashes.
func codeHashes(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = randomHash()
	}
	return out
}

func randomHash() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	h := sha256.Sum256(b)
	return h[:]
}

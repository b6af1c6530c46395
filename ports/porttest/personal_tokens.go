package porttest

import (
	"context"
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

// PersonalTokenStore is what the personal access token contract needs
// from an adapter: the port, and users, organizations and transactions to
// set it up.
type PersonalTokenStore struct {
	Tokens ports.PersonalTokenRepository
	Users  ports.UserRepository
	Orgs   ports.OrgRepository
	Tx     ports.TxManager
}

var patBase = time.Date(2030, 3, 4, 5, 6, 7, 123456000, time.UTC)

// NewTestPersonalToken returns an unstored token of userID made at.
func NewTestPersonalToken(userID uuid.UUID, at time.Time) domain.PersonalToken {
	h := sha256.Sum256([]byte(uuid.NewString()))
	return domain.PersonalToken{ID: uuid.Must(uuid.NewV7()), UserID: userID, Name: "script", Hash: h[:], Hint: "abcd",
		Permissions: []string{"docs.read", "docs.write"}, CreatedAt: at, ExpiresAt: at.Add(24 * time.Hour)}
}

// RunPersonalTokens runs the contract of ports.PersonalTokenRepository.
func RunPersonalTokens(t *testing.T, newStore func(t *testing.T) PersonalTokenStore) {
	ctx := context.Background()
	type world struct {
		s              PersonalTokenStore
		user, stranger uuid.UUID
	}
	setup := func(t *testing.T) world {
		t.Helper()
		s := newStore(t)
		u := NewUser("pat" + uuid.NewString()[:8])
		require.NoError(t, s.Users.Create(ctx, u))
		v := NewUser("pas" + uuid.NewString()[:8])
		require.NoError(t, s.Users.Create(ctx, v))
		return world{s: s, user: u.ID(), stranger: v.ID()}
	}
	create := func(t *testing.T, w world, tok domain.PersonalToken) domain.PersonalToken {
		t.Helper()
		require.NoError(t, w.s.Tokens.Create(ctx, tok, 50))
		return tok
	}

	t.Run("create_and_by_hash_round_trip", func(t *testing.T) {
		w := setup(t)
		org := NewOrg("pat-"+uuid.NewString()[:8], patBase)
		require.NoError(t, w.s.Orgs.Create(ctx, org))
		tok := NewTestPersonalToken(w.user, patBase)
		tok.OrgID = &org.ID
		create(t, w, tok)
		got, err := w.s.Tokens.ByHash(ctx, tok.Hash)
		require.NoError(t, err)
		assert.Equal(t, tok, got)
	})

	t.Run("unknown_hash_is_not_found", func(t *testing.T) {
		w := setup(t)
		_, err := w.s.Tokens.ByHash(ctx, []byte("nope"))
		assert.ErrorIs(t, err, domain.ErrPersonalTokenNotFound)
	})

	t.Run("a_token_needs_its_owner_and_organization", func(t *testing.T) {
		w := setup(t)
		assert.ErrorIs(t, w.s.Tokens.Create(ctx, NewTestPersonalToken(uuid.New(), patBase), 50), domain.ErrUserNotFound)
		tok := NewTestPersonalToken(w.user, patBase)
		gone := uuid.New()
		tok.OrgID = &gone
		assert.ErrorIs(t, w.s.Tokens.Create(ctx, tok, 50), domain.ErrOrgNotFound)
	})

	t.Run("by_user_lists_the_unrevoked_newest_first", func(t *testing.T) {
		w := setup(t)
		old := create(t, w, NewTestPersonalToken(w.user, patBase))
		revoked := create(t, w, NewTestPersonalToken(w.user, patBase.Add(time.Second)))
		newer := create(t, w, NewTestPersonalToken(w.user, patBase.Add(2*time.Second)))
		create(t, w, NewTestPersonalToken(w.stranger, patBase))
		require.NoError(t, w.s.Tokens.Revoke(ctx, w.user, revoked.ID, patBase.Add(time.Minute), "test"))
		got, err := w.s.Tokens.ByUser(ctx, w.user)
		require.NoError(t, err)
		require.Len(t, got, 2)
		assert.Equal(t, []uuid.UUID{newer.ID, old.ID}, []uuid.UUID{got[0].ID, got[1].ID})
	})

	t.Run("revoke_is_scoped_to_the_owner_and_happens_once", func(t *testing.T) {
		w := setup(t)
		tok := create(t, w, NewTestPersonalToken(w.user, patBase))
		assert.ErrorIs(t, w.s.Tokens.Revoke(ctx, w.stranger, tok.ID, patBase, "x"), domain.ErrPersonalTokenNotFound)
		errs := oauthRace(8, func(int) error { return w.s.Tokens.Revoke(ctx, w.user, tok.ID, patBase.Add(time.Minute), "mine") })
		wins := 0
		for _, err := range errs {
			if err == nil {
				wins++
				continue
			}
			assert.ErrorIs(t, err, domain.ErrPersonalTokenNotFound)
		}
		assert.Equal(t, 1, wins)
		got, err := w.s.Tokens.ByHash(ctx, tok.Hash)
		require.NoError(t, err)
		require.NotNil(t, got.RevokedAt)
		assert.True(t, got.RevokedAt.Equal(patBase.Add(time.Minute)))
		assert.Equal(t, "mine", got.RevokeReason)
		assert.Equal(t, tok.Name, got.Name, "a revocation touches its columns only")
	})

	t.Run("revoke_all_ends_the_users_tokens_only", func(t *testing.T) {
		w := setup(t)
		a := create(t, w, NewTestPersonalToken(w.user, patBase))
		b := create(t, w, NewTestPersonalToken(w.user, patBase))
		other := create(t, w, NewTestPersonalToken(w.stranger, patBase))
		require.NoError(t, w.s.Tokens.Revoke(ctx, w.user, a.ID, patBase, "earlier"))
		n, err := w.s.Tokens.RevokeAllForUser(ctx, w.user, patBase.Add(time.Hour), "logout_all")
		require.NoError(t, err)
		assert.Equal(t, 1, n, "an already revoked token keeps its revocation")
		got, _ := w.s.Tokens.ByHash(ctx, a.Hash)
		assert.Equal(t, "earlier", got.RevokeReason)
		got, _ = w.s.Tokens.ByHash(ctx, b.Hash)
		assert.Equal(t, "logout_all", got.RevokeReason)
		got, _ = w.s.Tokens.ByHash(ctx, other.Hash)
		assert.Nil(t, got.RevokedAt)
	})

	t.Run("record_use_writes_last_used_at_once_per_resolution", func(t *testing.T) {
		w := setup(t)
		tok := create(t, w, NewTestPersonalToken(w.user, patBase))
		use := func(at time.Time) {
			require.NoError(t, w.s.Tokens.RecordUse(ctx, tok.ID, at, at.Add(-time.Minute)))
		}
		use(patBase.Add(time.Second))
		use(patBase.Add(30 * time.Second)) // within the minute: not written
		got, _ := w.s.Tokens.ByHash(ctx, tok.Hash)
		require.NotNil(t, got.LastUsedAt)
		assert.True(t, got.LastUsedAt.Equal(patBase.Add(time.Second)))
		use(patBase.Add(2 * time.Minute))
		got, _ = w.s.Tokens.ByHash(ctx, tok.Hash)
		assert.True(t, got.LastUsedAt.Equal(patBase.Add(2*time.Minute)))
		// Racing uses leave one of their times, never an older one.
		errs := oauthRace(8, func(i int) error {
			at := patBase.Add(10*time.Minute + time.Duration(i)*time.Second)
			return w.s.Tokens.RecordUse(ctx, tok.ID, at, at.Add(-time.Minute))
		})
		for _, err := range errs {
			require.NoError(t, err)
		}
		got, _ = w.s.Tokens.ByHash(ctx, tok.Hash)
		assert.False(t, got.LastUsedAt.Before(patBase.Add(10*time.Minute)))
		assert.Nil(t, got.RevokedAt, "a use touches last_used_at only")
	})

	t.Run("racing_creations_never_pass_the_limit", func(t *testing.T) {
		w := setup(t)
		const max = 3
		create(t, w, NewTestPersonalToken(w.user, patBase))
		expired := NewTestPersonalToken(w.user, patBase.Add(-48*time.Hour))
		create(t, w, expired) // expired by patBase: not counted
		errs := oauthRace(8, func(int) error {
			return w.s.Tx.WithinTx(ctx, func(ctx context.Context) error {
				return w.s.Tokens.Create(ctx, NewTestPersonalToken(w.user, patBase), max)
			})
		})
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case errors.Is(err, domain.ErrTooManyPersonalTokens), errors.Is(err, domain.ErrConcurrentChange):
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}
		assert.Equal(t, max-1, wins, "the limit counts unexpired, unrevoked tokens")
		got, err := w.s.Tokens.ByUser(ctx, w.user)
		require.NoError(t, err)
		assert.Len(t, got, max+1)
	})
}

package porttest

import (
	"context"
	"crypto/sha256"
	"errors"
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

// SessionStore is what the session contract suite needs from an adapter.
// Users is there because a session belongs to a stored user.
type SessionStore struct {
	Sessions ports.SessionRepository
	Users    ports.UserRepository
	Tx       ports.TxManager
}

// RunSessionRepository runs the contract of ports.SessionRepository against
// the store newStore returns.
func RunSessionRepository(t *testing.T, newStore func(t *testing.T) SessionStore) {
	ctx := context.Background()
	// Whole microseconds: the precision every store keeps.
	base := time.Date(2030, 3, 4, 5, 6, 7, 123456000, time.UTC)

	// setup returns a fresh store with one stored user.
	setup := func(t *testing.T) (SessionStore, uuid.UUID) {
		t.Helper()
		s := newStore(t)
		u := NewUser("owner" + uuid.NewString()[:8])
		require.NoError(t, s.Users.Create(ctx, u))
		return s, u.ID()
	}
	create := func(t *testing.T, s SessionStore, userID uuid.UUID, created time.Time) (domain.Session, domain.RefreshToken) {
		t.Helper()
		sess, tok := newSession(userID, created)
		require.NoError(t, s.Sessions.Create(ctx, sess, tok))
		return sess, tok
	}

	t.Run("create_and_by_id_round_trip", func(t *testing.T) {
		s, userID := setup(t)
		sess, tok := newSession(userID, base)
		sess.IP, sess.UserAgent = "203.0.113.7", "Mozilla/5.0 (X11)"
		require.NoError(t, s.Sessions.Create(ctx, sess, tok))

		got, err := s.Sessions.ByID(ctx, sess.ID)
		require.NoError(t, err)
		assert.Equal(t, sess, got)
		assert.True(t, got.Active(base))

		gotTok, err := s.Sessions.RefreshTokenByHash(ctx, tok.Hash)
		require.NoError(t, err)
		assert.Equal(t, tok, gotTok, "the first token is stored with the session")
	})

	t.Run("times_come_back_in_utc", func(t *testing.T) {
		s, userID := setup(t)
		zone := time.FixedZone("UTC+5", 5*3600)
		sess, tok := newSession(userID, base.In(zone))
		require.NoError(t, s.Sessions.Create(ctx, sess, tok))
		got, err := s.Sessions.ByID(ctx, sess.ID)
		require.NoError(t, err)
		assert.Equal(t, time.UTC, got.CreatedAt.Location())
		assert.True(t, got.CreatedAt.Equal(base), "got %v", got.CreatedAt)
		assert.True(t, got.ExpiresAt.Equal(sess.ExpiresAt))
	})

	t.Run("unknown_session_is_not_found", func(t *testing.T) {
		s, _ := setup(t)
		_, err := s.Sessions.ByID(ctx, uuid.New())
		assert.ErrorIs(t, err, domain.ErrSessionNotFound)
		assert.Equal(t, domain.KindNotFound, domain.KindOf(err))
	})

	t.Run("duplicate_session_conflicts", func(t *testing.T) {
		s, userID := setup(t)
		sess, _ := create(t, s, userID, base)
		_, tok := newSession(userID, base)
		tok.SessionID = sess.ID
		assert.ErrorIs(t, s.Sessions.Create(ctx, sess, tok), domain.ErrConflict)
	})

	t.Run("active_by_user_excludes_revoked_and_expired_newest_first", func(t *testing.T) {
		s, userID := setup(t)
		other := NewUser("stranger" + uuid.NewString()[:8])
		require.NoError(t, s.Users.Create(ctx, other))

		oldest, _ := create(t, s, userID, base)
		middle, _ := create(t, s, userID, base.Add(time.Minute))
		newest, _ := create(t, s, userID, base.Add(2*time.Minute))
		revoked, _ := create(t, s, userID, base.Add(3*time.Minute))
		ok, err := s.Sessions.Revoke(ctx, revoked.ID, base.Add(4*time.Minute), domain.RevokeLogout)
		require.NoError(t, err)
		require.True(t, ok)
		expired, tok := newSession(userID, base.Add(-48*time.Hour))
		expired.ExpiresAt = base.Add(5 * time.Minute) // ends exactly at now
		require.NoError(t, s.Sessions.Create(ctx, expired, tok))
		create(t, s, other.ID(), base.Add(time.Minute)) // someone else's

		now := base.Add(5 * time.Minute)
		got, err := s.Sessions.ActiveByUser(ctx, userID, now)
		require.NoError(t, err)
		assert.Equal(t, []uuid.UUID{newest.ID, middle.ID, oldest.ID}, sessionIDs(got))
		for _, g := range got {
			assert.True(t, g.Active(now))
		}

		got, err = s.Sessions.ActiveByUser(ctx, userID, now.Add(-time.Microsecond))
		require.NoError(t, err)
		assert.Contains(t, sessionIDs(got), expired.ID, "a session is active until its end")

		got, err = s.Sessions.ActiveByUser(ctx, uuid.New(), now)
		require.NoError(t, err)
		assert.Empty(t, got)
	})

	t.Run("active_by_user_breaks_created_at_ties_by_id", func(t *testing.T) {
		s, userID := setup(t)
		a, _ := create(t, s, userID, base)
		b, _ := create(t, s, userID, base)
		want := []uuid.UUID{a.ID, b.ID}
		if uuidLess(a.ID, b.ID) {
			want = []uuid.UUID{b.ID, a.ID}
		}
		got, err := s.Sessions.ActiveByUser(ctx, userID, base)
		require.NoError(t, err)
		assert.Equal(t, want, sessionIDs(got))
	})

	t.Run("revoke_reports_true_once", func(t *testing.T) {
		s, userID := setup(t)
		sess, _ := create(t, s, userID, base)
		at := base.Add(time.Minute)

		ok, err := s.Sessions.Revoke(ctx, sess.ID, at, domain.RevokeLogout)
		require.NoError(t, err)
		assert.True(t, ok)
		ok, err = s.Sessions.Revoke(ctx, sess.ID, at.Add(time.Minute), domain.RevokeByAdmin)
		require.NoError(t, err)
		assert.False(t, ok, "already revoked")

		got, err := s.Sessions.ByID(ctx, sess.ID)
		require.NoError(t, err)
		require.NotNil(t, got.RevokedAt)
		assert.True(t, got.RevokedAt.Equal(at), "the first revocation stays")
		assert.Equal(t, domain.RevokeLogout, got.RevokeReason)
		assert.False(t, got.Active(base))

		ok, err = s.Sessions.Revoke(ctx, uuid.New(), at, domain.RevokeLogout)
		require.NoError(t, err)
		assert.False(t, ok, "unknown session")
	})

	t.Run("revoke_all_for_user_returns_only_newly_revoked", func(t *testing.T) {
		s, userID := setup(t)
		other := NewUser("bystander" + uuid.NewString()[:8])
		require.NoError(t, s.Users.Create(ctx, other))

		a, _ := create(t, s, userID, base)
		b, _ := create(t, s, userID, base.Add(time.Second))
		already, _ := create(t, s, userID, base.Add(2*time.Second))
		expired, tok := newSession(userID, base.Add(-48*time.Hour))
		expired.ExpiresAt = base.Add(-time.Hour)
		require.NoError(t, s.Sessions.Create(ctx, expired, tok))
		theirs, _ := create(t, s, other.ID(), base)
		ok, err := s.Sessions.Revoke(ctx, already.ID, base.Add(time.Minute), domain.RevokeLogout)
		require.NoError(t, err)
		require.True(t, ok)

		at := base.Add(time.Hour)
		ids, err := s.Sessions.RevokeAllForUser(ctx, userID, at, domain.RevokeLogoutAll)
		require.NoError(t, err)
		assert.ElementsMatch(t, []uuid.UUID{a.ID, b.ID, expired.ID}, ids,
			"every unrevoked session, expired or not, and none revoked before")

		for _, id := range []uuid.UUID{a.ID, b.ID} {
			got, err := s.Sessions.ByID(ctx, id)
			require.NoError(t, err)
			require.NotNil(t, got.RevokedAt)
			assert.True(t, got.RevokedAt.Equal(at))
			assert.Equal(t, domain.RevokeLogoutAll, got.RevokeReason)
		}
		got, err := s.Sessions.ByID(ctx, already.ID)
		require.NoError(t, err)
		assert.Equal(t, domain.RevokeLogout, got.RevokeReason, "an earlier revocation is kept")
		got, err = s.Sessions.ByID(ctx, theirs.ID)
		require.NoError(t, err)
		assert.Nil(t, got.RevokedAt, "other users' sessions are left alone")

		ids, err = s.Sessions.RevokeAllForUser(ctx, userID, at.Add(time.Minute), domain.RevokeLogoutAll)
		require.NoError(t, err)
		assert.Empty(t, ids, "nothing left to revoke")
	})

	t.Run("revoked_since_includes_the_boundary", func(t *testing.T) {
		s, userID := setup(t)
		early, _ := create(t, s, userID, base)
		atBoundary, _ := create(t, s, userID, base)
		late, _ := create(t, s, userID, base)
		create(t, s, userID, base) // never revoked
		since := base.Add(time.Hour)
		for id, at := range map[uuid.UUID]time.Time{
			early.ID:      since.Add(-time.Microsecond),
			atBoundary.ID: since,
			late.ID:       since.Add(time.Minute),
		} {
			ok, err := s.Sessions.Revoke(ctx, id, at, domain.RevokeByUser)
			require.NoError(t, err)
			require.True(t, ok)
		}

		got, err := s.Sessions.RevokedSince(ctx, since)
		require.NoError(t, err)
		assert.ElementsMatch(t, []domain.RevokedSession{
			{SessionID: atBoundary.ID, RevokedAt: since},
			{SessionID: late.ID, RevokedAt: since.Add(time.Minute)},
		}, got)

		got, err = s.Sessions.RevokedSince(ctx, since.Add(time.Hour))
		require.NoError(t, err)
		assert.Empty(t, got)
	})

	t.Run("touch_records_use", func(t *testing.T) {
		s, userID := setup(t)
		sess, _ := create(t, s, userID, base)
		at := base.Add(10 * time.Minute)
		require.NoError(t, s.Sessions.Touch(ctx, sess.ID, at, "198.51.100.9", "curl/8.5"))

		got, err := s.Sessions.ByID(ctx, sess.ID)
		require.NoError(t, err)
		want := sess
		want.LastUsedAt, want.IP, want.UserAgent = at, "198.51.100.9", "curl/8.5"
		assert.Equal(t, want, got, "only the use is recorded")

		assert.ErrorIs(t, s.Sessions.Touch(ctx, uuid.New(), at, "", ""), domain.ErrSessionNotFound)
	})

	t.Run("refresh_tokens_are_found_by_hash", func(t *testing.T) {
		s, userID := setup(t)
		sess, first := create(t, s, userID, base)
		next := newRefreshToken(sess.ID, base.Add(time.Minute), sess.ExpiresAt)
		won, err := s.Sessions.RotateRefreshToken(ctx, first.ID, next, "", "")
		require.NoError(t, err)
		require.True(t, won)

		got, err := s.Sessions.RefreshTokenByHash(ctx, next.Hash)
		require.NoError(t, err)
		assert.Equal(t, next, got)
		got, err = s.Sessions.RefreshTokenByHash(ctx, first.Hash)
		require.NoError(t, err)
		assert.Equal(t, first.ID, got.ID)

		unknown := sha256.Sum256([]byte("never issued"))
		_, err = s.Sessions.RefreshTokenByHash(ctx, unknown[:])
		assert.ErrorIs(t, err, domain.ErrInvalidToken)
		_, err = s.Sessions.RefreshTokenByHash(ctx, nil)
		assert.ErrorIs(t, err, domain.ErrInvalidToken)
	})

	t.Run("a_token_comes_with_its_session", func(t *testing.T) {
		s, userID := setup(t)
		sess, first := create(t, s, userID, base)
		tok, gotSess, err := s.Sessions.RefreshTokenWithSession(ctx, first.Hash)
		require.NoError(t, err)
		assert.Equal(t, first, tok)
		assert.Equal(t, sess, gotSess)

		_, err = s.Sessions.Revoke(ctx, sess.ID, base.Add(time.Minute), "logout")
		require.NoError(t, err)
		_, gotSess, err = s.Sessions.RefreshTokenWithSession(ctx, first.Hash)
		require.NoError(t, err, "a revoked session's token is still found, for the caller to judge")
		require.NotNil(t, gotSess.RevokedAt)
		assert.Equal(t, "logout", gotSess.RevokeReason)

		unknown := sha256.Sum256([]byte("never issued"))
		for _, h := range [][]byte{unknown[:], nil} {
			_, _, err = s.Sessions.RefreshTokenWithSession(ctx, h)
			assert.ErrorIs(t, err, domain.ErrInvalidToken)
		}
	})

	t.Run("rotation_spends_adds_and_touches_once", func(t *testing.T) {
		s, userID := setup(t)
		sess, first := create(t, s, userID, base)
		at := base.Add(time.Minute)
		next := newRefreshToken(sess.ID, at, sess.ExpiresAt)

		won, err := s.Sessions.RotateRefreshToken(ctx, first.ID, next, "198.51.100.9", "curl/8.5")
		require.NoError(t, err)
		assert.True(t, won)
		got, err := s.Sessions.RefreshTokenByHash(ctx, first.Hash)
		require.NoError(t, err, "a spent token is still found, for reuse detection")
		require.NotNil(t, got.UsedAt)
		assert.True(t, got.UsedAt.Equal(at))
		require.NotNil(t, got.ReplacedBy)
		assert.Equal(t, next.ID, *got.ReplacedBy)
		stored, err := s.Sessions.ByID(ctx, sess.ID)
		require.NoError(t, err)
		want := sess
		want.LastUsedAt, want.IP, want.UserAgent = at, "198.51.100.9", "curl/8.5"
		assert.Equal(t, want, stored, "the session's use is recorded, nothing else")

		again := newRefreshToken(sess.ID, at.Add(time.Second), sess.ExpiresAt)
		won, err = s.Sessions.RotateRefreshToken(ctx, first.ID, again, "", "")
		require.NoError(t, err)
		assert.False(t, won, "a spent token cannot be spent again")
		got, err = s.Sessions.RefreshTokenByHash(ctx, first.Hash)
		require.NoError(t, err)
		assert.Equal(t, next.ID, *got.ReplacedBy, "the first successor stays")
		_, err = s.Sessions.RefreshTokenByHash(ctx, again.Hash)
		assert.ErrorIs(t, err, domain.ErrInvalidToken, "a loser's successor is not stored")

		won, err = s.Sessions.RotateRefreshToken(ctx, uuid.New(), newRefreshToken(sess.ID, at, sess.ExpiresAt), "", "")
		require.NoError(t, err)
		assert.False(t, won, "unknown token")
	})

	t.Run("a_revoked_sessions_token_does_not_rotate", func(t *testing.T) {
		s, userID := setup(t)
		sess, first := create(t, s, userID, base)
		_, err := s.Sessions.Revoke(ctx, sess.ID, base.Add(time.Second), "logout")
		require.NoError(t, err)
		next := newRefreshToken(sess.ID, base.Add(time.Minute), sess.ExpiresAt)
		won, err := s.Sessions.RotateRefreshToken(ctx, first.ID, next, "", "")
		require.NoError(t, err)
		assert.False(t, won)
		got, err := s.Sessions.RefreshTokenByHash(ctx, first.Hash)
		require.NoError(t, err)
		assert.Nil(t, got.UsedAt, "nothing changed")
		_, err = s.Sessions.RefreshTokenByHash(ctx, next.Hash)
		assert.ErrorIs(t, err, domain.ErrInvalidToken)
	})

	t.Run("a_failed_rotation_changes_nothing", func(t *testing.T) {
		s, userID := setup(t)
		sess, first := create(t, s, userID, base)
		dup := newRefreshToken(sess.ID, base.Add(time.Minute), sess.ExpiresAt)
		_, taken := create(t, s, userID, base)
		dup.Hash = taken.Hash
		_, err := s.Sessions.RotateRefreshToken(ctx, first.ID, dup, "192.0.2.1", "x")
		assert.ErrorIs(t, err, domain.ErrConflict, "hashes are unique")
		got, err := s.Sessions.RefreshTokenByHash(ctx, first.Hash)
		require.NoError(t, err)
		assert.Nil(t, got.UsedAt, "the spend is undone with the insert")
		stored, err := s.Sessions.ByID(ctx, sess.ID)
		require.NoError(t, err)
		assert.Equal(t, sess, stored, "and so is the touch")
	})

	t.Run("concurrent_rotations_have_one_winner", func(t *testing.T) {
		s, userID := setup(t)
		sess, first := create(t, s, userID, base)
		successors := make([]domain.RefreshToken, 20)
		wins := raceSpend(t, 20, func(i int) (bool, error) {
			successors[i] = newRefreshToken(sess.ID, base.Add(time.Second), sess.ExpiresAt)
			return s.Sessions.RotateRefreshToken(ctx, first.ID, successors[i], "", "")
		})
		assert.Equal(t, 1, wins)
		got, err := s.Sessions.RefreshTokenByHash(ctx, first.Hash)
		require.NoError(t, err)
		require.NotNil(t, got.ReplacedBy)
		stored := 0
		for _, next := range successors {
			if _, err := s.Sessions.RefreshTokenByHash(ctx, next.Hash); err == nil {
				stored++
				assert.Equal(t, *got.ReplacedBy, next.ID, "the stored successor is the winner's")
			}
		}
		assert.Equal(t, 1, stored, "only the winner's successor is stored")
	})

	t.Run("concurrent_rotations_in_transactions_have_one_winner", func(t *testing.T) {
		s, userID := setup(t)
		sess, first := create(t, s, userID, base)
		wins := raceSpend(t, 20, func(i int) (bool, error) {
			var won bool
			err := s.Tx.WithinTx(ctx, func(ctx context.Context) error {
				var err error
				won, err = s.Sessions.RotateRefreshToken(ctx, first.ID, newRefreshToken(sess.ID, base.Add(time.Second), sess.ExpiresAt), "", "")
				return err
			})
			return won && err == nil, err
		})
		assert.Equal(t, 1, wins)
	})

	t.Run("a_rotation_races_a_revocation", func(t *testing.T) {
		// Whatever the order, a revoked session never ends up with an
		// unspent successor that was added after the revocation committed.
		s, userID := setup(t)
		for range 10 {
			sess, first := create(t, s, userID, base)
			next := newRefreshToken(sess.ID, base.Add(time.Second), sess.ExpiresAt)
			var wg sync.WaitGroup
			var won bool
			var rotErr, revErr error
			wg.Add(2)
			go func() {
				defer wg.Done()
				time.Sleep(time.Duration(rand.IntN(500)) * time.Microsecond)
				won, rotErr = s.Sessions.RotateRefreshToken(ctx, first.ID, next, "", "")
			}()
			go func() {
				defer wg.Done()
				time.Sleep(time.Duration(rand.IntN(500)) * time.Microsecond)
				_, revErr = s.Sessions.Revoke(ctx, sess.ID, base.Add(time.Second), "logout")
			}()
			wg.Wait()
			require.NoError(t, rotErr)
			require.NoError(t, revErr)
			_, err := s.Sessions.RefreshTokenByHash(ctx, next.Hash)
			assert.Equal(t, won, err == nil, "the successor exists exactly when the rotation won")
			stored, err := s.Sessions.ByID(ctx, sess.ID)
			require.NoError(t, err)
			assert.NotNil(t, stored.RevokedAt, "the revocation always holds")
		}
	})

	t.Run("rolled_back_create_leaves_nothing", func(t *testing.T) {
		s, userID := setup(t)
		sess, tok := newSession(userID, base)
		boom := errors.New("boom")
		err := s.Tx.WithinTx(ctx, func(ctx context.Context) error {
			require.NoError(t, s.Sessions.Create(ctx, sess, tok))
			_, err := s.Sessions.ByID(ctx, sess.ID)
			require.NoError(t, err, "visible inside the transaction")
			return boom
		})
		assert.ErrorIs(t, err, boom)
		_, err = s.Sessions.ByID(ctx, sess.ID)
		assert.ErrorIs(t, err, domain.ErrSessionNotFound)
		_, err = s.Sessions.RefreshTokenByHash(ctx, tok.Hash)
		assert.ErrorIs(t, err, domain.ErrInvalidToken)
	})

	t.Run("create_with_unknown_user_fails_and_leaves_nothing", func(t *testing.T) {
		s, _ := setup(t)
		sess, tok := newSession(uuid.New(), base)
		assert.Error(t, s.Sessions.Create(ctx, sess, tok))
		_, err := s.Sessions.RefreshTokenByHash(ctx, tok.Hash)
		assert.ErrorIs(t, err, domain.ErrInvalidToken)
	})

	t.Run("extend_moves_an_unspent_token_later_only", func(t *testing.T) {
		s, userID := setup(t)
		sess, tok := create(t, s, userID, base)
		expiresAt := func(hash []byte) time.Time {
			t.Helper()
			got, err := s.Sessions.RefreshTokenByHash(ctx, hash)
			require.NoError(t, err)
			return got.ExpiresAt
		}

		later := tok.ExpiresAt.Add(time.Hour)
		ok, err := s.Sessions.ExtendRefreshToken(ctx, tok.ID, later)
		require.NoError(t, err)
		assert.True(t, ok)
		assert.True(t, expiresAt(tok.Hash).Equal(later), "got %v", expiresAt(tok.Hash))

		for name, at := range map[string]time.Time{"earlier": later.Add(-time.Minute), "same": later} {
			ok, err = s.Sessions.ExtendRefreshToken(ctx, tok.ID, at)
			require.NoError(t, err)
			assert.False(t, ok, name)
			assert.True(t, expiresAt(tok.Hash).Equal(later), "%s: unchanged, got %v", name, expiresAt(tok.Hash))
		}

		ok, err = s.Sessions.ExtendRefreshToken(ctx, uuid.New(), later.Add(time.Hour))
		require.NoError(t, err)
		assert.False(t, ok, "unknown token")

		next := newRefreshToken(sess.ID, base.Add(time.Minute), sess.ExpiresAt)
		spent, err := s.Sessions.RotateRefreshToken(ctx, tok.ID, next, "", "")
		require.NoError(t, err)
		require.True(t, spent)
		ok, err = s.Sessions.ExtendRefreshToken(ctx, tok.ID, later.Add(time.Hour))
		require.NoError(t, err)
		assert.False(t, ok, "a spent token is not extended")
		assert.True(t, expiresAt(tok.Hash).Equal(later), "got %v", expiresAt(tok.Hash))
	})
}

// newSession returns an unstored session of userID created at created and
// its first refresh token.
func newSession(userID uuid.UUID, created time.Time) (domain.Session, domain.RefreshToken) {
	s := domain.Session{
		ID:         uuid.Must(uuid.NewV7()),
		UserID:     userID,
		CreatedAt:  created,
		LastUsedAt: created,
		ExpiresAt:  created.Add(30 * 24 * time.Hour),
		IP:         "192.0.2.1",
		UserAgent:  "porttest",
	}
	return s, newRefreshToken(s.ID, created, s.ExpiresAt)
}

// newRefreshToken returns an unstored token of session; its hash is the
// hash of its id, so a test can find a token it only knows the id of.
func newRefreshToken(session uuid.UUID, created, sessionEnd time.Time) domain.RefreshToken {
	id := uuid.Must(uuid.NewV7())
	exp := created.Add(14 * 24 * time.Hour)
	if exp.After(sessionEnd) {
		exp = sessionEnd
	}
	return domain.RefreshToken{ID: id, SessionID: session, Hash: hashOf(id), CreatedAt: created, ExpiresAt: exp}
}

func hashOf(id uuid.UUID) []byte {
	h := sha256.Sum256(id[:])
	return h[:]
}

// raceSpend runs spend n times at once, released together, and counts the
// callers that got true.
func raceSpend(t *testing.T, n int, spend func(i int) (bool, error)) int {
	t.Helper()
	var wg sync.WaitGroup
	start := make(chan struct{})
	oks := make([]bool, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			oks[i], errs[i] = spend(i)
		}()
	}
	close(start)
	wg.Wait()
	wins := 0
	for i := range n {
		assert.NoError(t, errs[i])
		if oks[i] {
			wins++
		}
	}
	return wins
}

func sessionIDs(ss []domain.Session) []uuid.UUID {
	ids := make([]uuid.UUID, len(ss))
	for i, s := range ss {
		ids[i] = s.ID
	}
	return ids
}

// uuidLess orders ids the way both stores do: Postgres compares uuid bytes,
// SQLite the lowercase text, and the two agree.
func uuidLess(a, b uuid.UUID) bool { return a.String() < b.String() }

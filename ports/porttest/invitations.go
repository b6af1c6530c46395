package porttest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// InvitationStore is what the invitation contract suite needs from an
// adapter: the invitation port, and organizations, users and transactions
// to set it up.
type InvitationStore struct {
	Invitations ports.InvitationRepository
	Orgs        ports.OrgRepository
	Users       ports.UserRepository
	Tx          ports.TxManager
}

// invitationBase is a fixed instant in whole microseconds, the precision
// every store keeps.
var invitationBase = time.Date(2030, 9, 10, 11, 12, 13, 654321000, time.UTC)

// NewTestInvitation returns an unstored pending invitation of orgID to
// email from `by`, created at and working for a week, with a random token
// hash.
func NewTestInvitation(orgID uuid.UUID, email string, by uuid.UUID, at time.Time) domain.Invitation {
	return domain.Invitation{ID: uuid.Must(uuid.NewV7()), OrgID: orgID, Email: domain.MustEmail(email),
		Role: domain.RoleMember, TokenHash: invitationHash(), InvitedBy: &by,
		CreatedAt: at, ExpiresAt: at.Add(domain.InvitationTTL), LastSentAt: at}
}

func invitationHash() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return b
}

// RunInvitations runs the contract of ports.InvitationRepository.
func RunInvitations(t *testing.T, newStore func(t *testing.T) InvitationStore) {
	ctx := context.Background()
	type world struct {
		s             InvitationStore
		org, otherOrg uuid.UUID
		admin, joiner uuid.UUID
	}
	setup := func(t *testing.T) world {
		t.Helper()
		s := newStore(t)
		w := world{s: s}
		for _, o := range []*uuid.UUID{&w.org, &w.otherOrg} {
			org := NewOrg("inv-"+uuid.NewString()[:8], invitationBase)
			require.NoError(t, s.Orgs.Create(ctx, org))
			*o = org.ID
		}
		for _, u := range []*uuid.UUID{&w.admin, &w.joiner} {
			user := NewUser("inv" + uuid.NewString()[:8])
			require.NoError(t, s.Users.Create(ctx, user))
			*u = user.ID()
		}
		return w
	}
	create := func(t *testing.T, w world, email string, at time.Time) domain.Invitation {
		t.Helper()
		inv := NewTestInvitation(w.org, email, w.admin, at)
		require.NoError(t, w.s.Invitations.Create(ctx, inv))
		return inv
	}
	get := func(t *testing.T, w world, id uuid.UUID) domain.Invitation {
		t.Helper()
		got, err := w.s.Invitations.Get(ctx, w.org, id)
		require.NoError(t, err)
		return got
	}
	at := invitationBase.Add(time.Hour)

	t.Run("create_get_and_by_token_round_trip", func(t *testing.T) {
		w := setup(t)
		inv := NewTestInvitation(w.org, "Round.Trip@Example.com", w.admin, invitationBase)
		inv.Role = domain.RoleAdmin
		require.NoError(t, w.s.Invitations.Create(ctx, inv))
		got := get(t, w, inv.ID)
		assert.Equal(t, inv, got)
		assert.Equal(t, "round.trip@example.com", got.Email.String())
		assert.Equal(t, time.UTC, got.ExpiresAt.Location())
		byToken, err := w.s.Invitations.ByTokenHash(ctx, inv.TokenHash)
		require.NoError(t, err)
		assert.Equal(t, inv, byToken)
	})

	t.Run("unknown_or_foreign_is_not_found", func(t *testing.T) {
		w := setup(t)
		inv := create(t, w, "found@example.com", invitationBase)
		_, err := w.s.Invitations.Get(ctx, w.otherOrg, inv.ID)
		assert.ErrorIs(t, err, domain.ErrInvitationNotFound, "another organization's invitation")
		_, err = w.s.Invitations.Get(ctx, w.org, uuid.New())
		assert.ErrorIs(t, err, domain.ErrInvitationNotFound)
		_, err = w.s.Invitations.ByTokenHash(ctx, invitationHash())
		assert.ErrorIs(t, err, domain.ErrInvitationNotFound)
		_, err = w.s.Invitations.ByTokenHash(ctx, nil)
		assert.ErrorIs(t, err, domain.ErrInvitationNotFound)
	})

	t.Run("unknown_organization_is_org_not_found", func(t *testing.T) {
		w := setup(t)
		inv := NewTestInvitation(uuid.New(), "orphan@example.com", w.admin, invitationBase)
		assert.ErrorIs(t, w.s.Invitations.Create(ctx, inv), domain.ErrOrgNotFound)
	})

	t.Run("one_open_invitation_per_org_and_address", func(t *testing.T) {
		w := setup(t)
		first := create(t, w, "twice@example.com", invitationBase)
		again := NewTestInvitation(w.org, "TWICE@example.com", w.admin, invitationBase.Add(time.Minute))
		assert.ErrorIs(t, w.s.Invitations.Create(ctx, again), domain.ErrInvitationPending, "compared case-insensitively")
		elsewhere := NewTestInvitation(w.otherOrg, "twice@example.com", w.admin, invitationBase)
		require.NoError(t, w.s.Invitations.Create(ctx, elsewhere), "another organization may invite the same address")

		require.NoError(t, w.s.Invitations.Revoke(ctx, w.org, first.ID, at))
		require.NoError(t, w.s.Invitations.Create(ctx, again), "a revoked invitation no longer counts")
		require.NoError(t, w.s.Invitations.Accept(ctx, again.ID, again.TokenHash, w.joiner, at))
		third := NewTestInvitation(w.org, "twice@example.com", w.admin, at)
		require.NoError(t, w.s.Invitations.Create(ctx, third), "nor does an accepted one")
	})

	t.Run("a_token_hash_is_unique", func(t *testing.T) {
		w := setup(t)
		inv := create(t, w, "hash@example.com", invitationBase)
		clash := NewTestInvitation(w.org, "other@example.com", w.admin, invitationBase)
		clash.TokenHash = inv.TokenHash
		err := w.s.Invitations.Create(ctx, clash)
		assert.ErrorIs(t, err, domain.ErrConflict)
		assert.NotErrorIs(t, err, domain.ErrInvitationPending)
	})

	// Of concurrent invitations of one address exactly one is stored.
	t.Run("racing_creates_one_wins", func(t *testing.T) {
		w := setup(t)
		for round := range 3 {
			email := fmt.Sprintf("race%d@example.com", round)
			errs := oauthRace(8, func(int) error {
				return w.s.Invitations.Create(ctx, NewTestInvitation(w.org, email, w.admin, invitationBase))
			})
			won := 0
			for _, err := range errs {
				if err == nil {
					won++
					continue
				}
				assert.ErrorIs(t, err, domain.ErrInvitationPending)
			}
			assert.Equal(t, 1, won, "round %d", round)
		}
	})

	t.Run("open_lists_open_invitations_in_pages", func(t *testing.T) {
		w := setup(t)
		var want []uuid.UUID
		for i := range 5 {
			inv := create(t, w, fmt.Sprintf("page%d@example.com", i), invitationBase.Add(time.Duration(i)*time.Second))
			want = append(want, inv.ID)
		}
		expired := create(t, w, "expired@example.com", invitationBase.Add(-30*24*time.Hour))
		want = append([]uuid.UUID{expired.ID}, want...)
		gone := create(t, w, "revoked@example.com", invitationBase.Add(time.Minute))
		require.NoError(t, w.s.Invitations.Revoke(ctx, w.org, gone.ID, at))
		joined := create(t, w, "joined@example.com", invitationBase.Add(time.Minute))
		require.NoError(t, w.s.Invitations.Accept(ctx, joined.ID, joined.TokenHash, w.joiner, at))
		foreign := NewTestInvitation(w.otherOrg, "foreign@example.com", w.admin, invitationBase)
		require.NoError(t, w.s.Invitations.Create(ctx, foreign))

		var got []uuid.UUID
		cursor := ""
		for pages := 0; pages < 10; pages++ {
			list, next, err := w.s.Invitations.Open(ctx, w.org, ports.Page{Limit: 4, Cursor: cursor})
			require.NoError(t, err)
			assert.LessOrEqual(t, len(list), 4)
			for _, inv := range list {
				got = append(got, inv.ID)
			}
			if next == "" {
				break
			}
			cursor = next
		}
		assert.Equal(t, want, got, "open ones only, expired included, oldest first")

		_, _, err := w.s.Invitations.Open(ctx, w.org, ports.Page{Cursor: "not-a-cursor"})
		requireInvalidCursor(t, err)
	})

	t.Run("delete_expired_frees_the_address", func(t *testing.T) {
		w := setup(t)
		old := create(t, w, "stale@example.com", invitationBase.Add(-8*24*time.Hour))
		live := create(t, w, "live@example.com", invitationBase)
		foreign := NewTestInvitation(w.otherOrg, "stale@example.com", w.admin, invitationBase.Add(-8*24*time.Hour))
		require.NoError(t, w.s.Invitations.Create(ctx, foreign))

		require.NoError(t, w.s.Invitations.DeleteExpired(ctx, w.org, domain.MustEmail("live@example.com"), invitationBase))
		get(t, w, live.ID)
		require.NoError(t, w.s.Invitations.DeleteExpired(ctx, w.org, domain.MustEmail("stale@example.com"), invitationBase))
		_, err := w.s.Invitations.Get(ctx, w.org, old.ID)
		assert.ErrorIs(t, err, domain.ErrInvitationNotFound)
		_, err = w.s.Invitations.Get(ctx, w.otherOrg, foreign.ID)
		require.NoError(t, err, "another organization's stays")
		create(t, w, "stale@example.com", invitationBase)
	})

	t.Run("accept_marks_it_once", func(t *testing.T) {
		w := setup(t)
		inv := create(t, w, "accept@example.com", invitationBase)
		require.NoError(t, w.s.Invitations.Accept(ctx, inv.ID, inv.TokenHash, w.joiner, at))
		got := get(t, w, inv.ID)
		require.NotNil(t, got.AcceptedAt)
		assert.True(t, got.AcceptedAt.Equal(at))
		assert.Equal(t, &w.joiner, got.AcceptedBy)
		assert.Nil(t, got.RevokedAt)
		assert.Equal(t, domain.InvitationAccepted, got.Status(at))

		assert.ErrorIs(t, w.s.Invitations.Accept(ctx, inv.ID, inv.TokenHash, w.admin, at), domain.ErrConcurrentChange,
			"single use")
		assert.Equal(t, &w.joiner, get(t, w, inv.ID).AcceptedBy, "the first acceptance stays")
	})

	t.Run("accept_is_refused_out_of_its_guard", func(t *testing.T) {
		w := setup(t)
		inv := create(t, w, "guard@example.com", invitationBase)
		assert.ErrorIs(t, w.s.Invitations.Accept(ctx, inv.ID, invitationHash(), w.joiner, at), domain.ErrConcurrentChange,
			"another token")
		assert.ErrorIs(t, w.s.Invitations.Accept(ctx, inv.ID, inv.TokenHash, w.joiner, inv.ExpiresAt), domain.ErrConcurrentChange,
			"expired")
		assert.ErrorIs(t, w.s.Invitations.Accept(ctx, uuid.New(), inv.TokenHash, w.joiner, at), domain.ErrInvitationNotFound)
		require.NoError(t, w.s.Invitations.Revoke(ctx, w.org, inv.ID, at))
		assert.ErrorIs(t, w.s.Invitations.Accept(ctx, inv.ID, inv.TokenHash, w.joiner, at), domain.ErrConcurrentChange,
			"revoked")
		assert.Nil(t, get(t, w, inv.ID).AcceptedAt)
	})

	t.Run("a_failed_transaction_leaves_it_pending", func(t *testing.T) {
		w := setup(t)
		inv := create(t, w, "rollback@example.com", invitationBase)
		boom := errors.New("boom")
		err := w.s.Tx.WithinTx(ctx, func(ctx context.Context) error {
			if err := w.s.Invitations.Accept(ctx, inv.ID, inv.TokenHash, w.joiner, at); err != nil {
				return err
			}
			return boom
		})
		require.ErrorIs(t, err, boom)
		assert.Equal(t, domain.InvitationPending, get(t, w, inv.ID).Status(at))
		require.NoError(t, w.s.Invitations.Accept(ctx, inv.ID, inv.TokenHash, w.joiner, at))
	})

	// Single use under concurrency: of accepts of one token, exactly one
	// wins, in a transaction as the use case runs it.
	t.Run("racing_accepts_one_wins", func(t *testing.T) {
		w := setup(t)
		for round := range 3 {
			inv := create(t, w, fmt.Sprintf("race-accept%d@example.com", round), invitationBase)
			users := make([]uuid.UUID, 8)
			for i := range users {
				u := NewUser(fmt.Sprintf("ra%d%s", i, uuid.NewString()[:6]))
				require.NoError(t, w.s.Users.Create(ctx, u))
				users[i] = u.ID()
			}
			errs := oauthRace(len(users), func(i int) error {
				return w.s.Tx.WithinTx(ctx, func(ctx context.Context) error {
					return w.s.Invitations.Accept(ctx, inv.ID, inv.TokenHash, users[i], at)
				})
			})
			winner := -1
			for i, err := range errs {
				if err == nil {
					assert.Equal(t, -1, winner, "two accepts won in round %d", round)
					winner = i
					continue
				}
				assert.ErrorIs(t, err, domain.ErrConcurrentChange)
			}
			require.NotEqual(t, -1, winner, "no accept won in round %d", round)
			assert.Equal(t, &users[winner], get(t, w, inv.ID).AcceptedBy)
		}
	})

	// An accept racing a revocation or a resend: one of the two wins.
	t.Run("accept_racing_revoke_or_renew_one_wins", func(t *testing.T) {
		w := setup(t)
		for round := range 6 {
			inv := create(t, w, fmt.Sprintf("race-mix%d@example.com", round), invitationBase)
			renew := round%2 == 1
			rn := domain.InvitationRenewal{TokenHash: invitationHash(), ExpiresAt: at.Add(time.Hour), SentAt: at}
			errs := oauthRace(2, func(i int) error {
				if i == 0 {
					return w.s.Invitations.Accept(ctx, inv.ID, inv.TokenHash, w.joiner, at)
				}
				if renew {
					return w.s.Invitations.Renew(ctx, w.org, inv.ID, inv.TokenHash, rn)
				}
				return w.s.Invitations.Revoke(ctx, w.org, inv.ID, at)
			})
			require.True(t, (errs[0] == nil) != (errs[1] == nil), "exactly one wins in round %d: %v", round, errs)
			for _, err := range errs {
				if err != nil {
					assert.ErrorIs(t, err, domain.ErrConcurrentChange)
				}
			}
			got := get(t, w, inv.ID)
			assert.Equal(t, errs[0] == nil, got.AcceptedAt != nil)
			if errs[0] != nil && renew {
				assert.Equal(t, rn.TokenHash, got.TokenHash)
			}
		}
	})

	t.Run("renew_replaces_the_token", func(t *testing.T) {
		w := setup(t)
		inv := create(t, w, "renew@example.com", invitationBase)
		rn := domain.InvitationRenewal{TokenHash: invitationHash(), ExpiresAt: at.Add(48 * time.Hour), SentAt: at}
		assert.ErrorIs(t, w.s.Invitations.Renew(ctx, w.otherOrg, inv.ID, inv.TokenHash, rn), domain.ErrInvitationNotFound)
		assert.ErrorIs(t, w.s.Invitations.Renew(ctx, w.org, inv.ID, invitationHash(), rn), domain.ErrConcurrentChange,
			"a stale token")
		require.NoError(t, w.s.Invitations.Renew(ctx, w.org, inv.ID, inv.TokenHash, rn))
		got := get(t, w, inv.ID)
		assert.Equal(t, rn.TokenHash, got.TokenHash)
		assert.True(t, got.ExpiresAt.Equal(rn.ExpiresAt))
		assert.True(t, got.LastSentAt.Equal(at))
		assert.True(t, got.CreatedAt.Equal(inv.CreatedAt), "created_at stays")
		_, err := w.s.Invitations.ByTokenHash(ctx, inv.TokenHash)
		assert.ErrorIs(t, err, domain.ErrInvitationNotFound, "the old token is dead")
		assert.ErrorIs(t, w.s.Invitations.Accept(ctx, inv.ID, inv.TokenHash, w.joiner, at), domain.ErrConcurrentChange)
		require.NoError(t, w.s.Invitations.Accept(ctx, inv.ID, rn.TokenHash, w.joiner, at))
		again := domain.InvitationRenewal{TokenHash: invitationHash(), ExpiresAt: at.Add(time.Hour), SentAt: at}
		assert.ErrorIs(t, w.s.Invitations.Renew(ctx, w.org, inv.ID, rn.TokenHash, again), domain.ErrConcurrentChange,
			"an accepted invitation is not resent")
	})

	t.Run("revoke_once", func(t *testing.T) {
		w := setup(t)
		inv := create(t, w, "revoke@example.com", invitationBase)
		assert.ErrorIs(t, w.s.Invitations.Revoke(ctx, w.otherOrg, inv.ID, at), domain.ErrInvitationNotFound)
		assert.ErrorIs(t, w.s.Invitations.Revoke(ctx, w.org, uuid.New(), at), domain.ErrInvitationNotFound)
		errs := oauthRace(6, func(int) error { return w.s.Invitations.Revoke(ctx, w.org, inv.ID, at) })
		won := 0
		for _, err := range errs {
			if err == nil {
				won++
				continue
			}
			assert.ErrorIs(t, err, domain.ErrConcurrentChange)
		}
		assert.Equal(t, 1, won)
		got := get(t, w, inv.ID)
		require.NotNil(t, got.RevokedAt)
		assert.True(t, got.RevokedAt.Equal(at))
		assert.Equal(t, domain.InvitationRevoked, got.Status(at))
	})
}

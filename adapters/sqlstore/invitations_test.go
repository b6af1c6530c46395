package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/adapters/sqlstore"
	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports/porttest"
)

func invitationStore(db *sqlstore.DB) porttest.InvitationStore {
	return porttest.InvitationStore{
		Invitations: sqlstore.NewInvitationRepository(db),
		Orgs:        sqlstore.NewOrgRepository(db),
		Users:       sqlstore.NewUserRepository(db),
		Tx:          sqlstore.NewTxManager(db),
	}
}

func TestInvitationRepositoryContract(t *testing.T) {
	for name, url := range stores() {
		t.Run(name, func(t *testing.T) {
			porttest.RunInvitations(t, func(t *testing.T) porttest.InvitationStore {
				return invitationStore(openMigrated(t, url(t)))
			})
		})
	}
}

// TestInvitationsFollowTheirAccounts deletes user rows directly, the way
// any erasure ends: the invitation an erased person accepted (it holds
// their address) goes with them; one sent by an erased inviter stays,
// forgetting who sent it.
func TestInvitationsFollowTheirAccounts(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2030, 7, 8, 9, 10, 11, 0, time.UTC)
	for name, url := range stores() {
		t.Run(name, func(t *testing.T) {
			db := openMigrated(t, url(t))
			s := invitationStore(db)
			org := porttest.NewOrg("erasure-inv", at)
			require.NoError(t, s.Orgs.Create(ctx, org))
			inviter, joiner := porttest.NewUser("inviter"), porttest.NewUser("joiner")
			require.NoError(t, s.Users.Create(ctx, inviter))
			require.NoError(t, s.Users.Create(ctx, joiner))
			accepted := porttest.NewTestInvitation(org.ID, "joiner@example.com", inviter.ID(), at)
			pending := porttest.NewTestInvitation(org.ID, "someone@example.com", inviter.ID(), at)
			require.NoError(t, s.Invitations.Create(ctx, accepted))
			require.NoError(t, s.Invitations.Create(ctx, pending))
			require.NoError(t, s.Invitations.Accept(ctx, accepted.ID, accepted.TokenHash, joiner.ID(), at.Add(time.Minute)))

			for _, id := range []any{joiner.ID(), inviter.ID()} {
				_, err := db.NewDelete().TableExpr("users").Where("id = ?", id).Exec(ctx)
				require.NoError(t, err)
			}
			_, err := s.Invitations.Get(ctx, org.ID, accepted.ID)
			assert.ErrorIs(t, err, domain.ErrInvitationNotFound)
			got, err := s.Invitations.Get(ctx, org.ID, pending.ID)
			require.NoError(t, err)
			assert.Nil(t, got.InvitedBy)
		})
	}
}

// TestInvitationsMigrationRollsBack runs the migration down and up again.
func TestInvitationsMigrationRollsBack(t *testing.T) {
	ctx := context.Background()
	for name, url := range stores() {
		t.Run(name, func(t *testing.T) {
			db := openMigrated(t, url(t))
			m, err := sqlstore.NewMigrator(db)
			require.NoError(t, err)
			_, err = m.Down(ctx)
			require.NoError(t, err)
			_, err = db.NewSelect().TableExpr("org_invitations").ColumnExpr("count(*)").Exec(ctx)
			require.Error(t, err, "org_invitations is gone")
			_, err = m.Up(ctx)
			require.NoError(t, err)
			s := invitationStore(db)
			org := porttest.NewOrg("again", time.Now())
			require.NoError(t, s.Orgs.Create(ctx, org))
			u := porttest.NewUser("invitedagain")
			require.NoError(t, s.Users.Create(ctx, u))
			require.NoError(t, s.Invitations.Create(ctx, porttest.NewTestInvitation(org.ID, "again@example.com", u.ID(), time.Now())))
		})
	}
}

// TestErasureDeletesInvitationsToTheAddress: erasing a person deletes the
// invitations addressed to them (they hold the address), open or spent,
// and no one else's.
func TestErasureDeletesInvitationsToTheAddress(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2030, 7, 8, 9, 10, 11, 0, time.UTC)
	for name, url := range stores() {
		t.Run(name, func(t *testing.T) {
			db := openMigrated(t, url(t))
			s := invitationStore(db)
			org := porttest.NewOrg("erasure-addr", at)
			require.NoError(t, s.Orgs.Create(ctx, org))
			inviter, invitee := porttest.NewUser("inviter2"), porttest.NewUser("invitee")
			require.NoError(t, s.Users.Create(ctx, inviter))
			require.NoError(t, s.Users.Create(ctx, invitee))
			theirs := porttest.NewTestInvitation(org.ID, "INVITEE@example.com", inviter.ID(), at)
			other := porttest.NewTestInvitation(org.ID, "someone-else@example.com", inviter.ID(), at)
			require.NoError(t, s.Invitations.Create(ctx, theirs))
			require.NoError(t, s.Invitations.Create(ctx, other))

			require.NoError(t, sqlstore.NewPersonalData(db).Erase(ctx, invitee.ID(), porttest.NewUser("pseudo").ID()))
			_, err := s.Invitations.Get(ctx, org.ID, theirs.ID)
			assert.ErrorIs(t, err, domain.ErrInvitationNotFound, "the invitation to the erased address goes")
			_, err = s.Invitations.Get(ctx, org.ID, other.ID)
			assert.NoError(t, err, "another address's stays")
		})
	}
}

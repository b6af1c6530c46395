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

// runAccessStamps checks ports.AccessStamps: every write that can change a
// user's access facts changes their stamp, through every port that makes
// it; a rolled-back write and writes that decide nothing leave it; racing
// writes lose no bump.
func runAccessStamps(t *testing.T, newStore func(t *testing.T) OrgStore) {
	ctx := context.Background()
	ids := func() uuid.UUID { return uuid.New() }

	// world is one user in one organization with a permission, a grant
	// and role permissions, as /authorize sees them.
	type world struct {
		s     OrgStore
		user  *domain.User
		other *domain.User
		org   domain.Organization
		spare domain.Organization // one the user is not in
		grant domain.Grant
	}
	setup := func(t *testing.T) world {
		s := newStore(t)
		require.NotNil(t, s.Stamps, "the store must provide ports.AccessStamps")
		w := world{s: s, user: NewUser("stamped"), other: NewUser("bystander"), org: NewOrg("stamps", orgBase), spare: NewOrg("spare", orgBase)}
		require.NoError(t, s.Users.Create(ctx, w.user))
		require.NoError(t, s.Users.Create(ctx, w.other))
		require.NoError(t, s.Orgs.Create(ctx, w.org))
		require.NoError(t, s.Orgs.Create(ctx, w.spare))
		for _, name := range []string{"stamp.read", "stamp.write"} {
			require.NoError(t, s.Perms.Create(ctx, NewPermission(name, true)))
		}
		require.NoError(t, s.Members.Add(ctx, domain.Membership{OrgID: w.org.ID, UserID: w.user.ID(), Role: domain.RoleMember,
			CreatedAt: orgBase, UpdatedAt: orgBase}))
		require.NoError(t, s.Members.Add(ctx, domain.Membership{OrgID: w.org.ID, UserID: w.other.ID(), Role: domain.RoleMember,
			CreatedAt: orgBase, UpdatedAt: orgBase}))
		w.grant = domain.Grant{ID: uuid.New(), OrgID: w.org.ID, UserID: w.user.ID(), Permission: "stamp.write", IsActive: true, CreatedAt: orgBase}
		require.NoError(t, s.Perms.AddGrant(ctx, w.grant))
		return w
	}
	stamp := func(t *testing.T, s OrgStore, id uuid.UUID) ports.AccessStamp {
		t.Helper()
		st, err := s.Stamps.Stamp(ctx, id)
		require.NoError(t, err)
		return st
	}
	later := orgBase.Add(time.Hour)
	yes, no := true, false

	// Each write changes the user's stamp (user), or every user's (global).
	writes := []struct {
		name   string
		global bool
		write  func(w world) error
	}{
		{"membership_added", false, func(w world) error {
			return w.s.Members.Add(ctx, domain.Membership{OrgID: w.spare.ID, UserID: w.user.ID(), Role: domain.RoleViewer, CreatedAt: later, UpdatedAt: later})
		}},
		{"role_changed", false, func(w world) error {
			return w.s.Members.SetRole(ctx, w.org.ID, w.user.ID(), domain.RoleMember, domain.RoleViewer, later)
		}},
		{"membership_removed", false, func(w world) error {
			return w.s.Members.Remove(ctx, w.org.ID, w.user.ID())
		}},
		{"grant_added", false, func(w world) error {
			return w.s.Perms.AddGrant(ctx, domain.Grant{ID: uuid.New(), OrgID: w.org.ID, UserID: w.user.ID(), Permission: "stamp.read",
				IsActive: true, CreatedAt: later})
		}},
		{"grant_deleted", false, func(w world) error {
			return w.s.Perms.DeleteGrant(ctx, w.org.ID, w.grant.ID)
		}},
		{"grants_of_the_user_deleted", false, func(w world) error {
			_, err := w.s.Perms.DeleteUserGrants(ctx, w.org.ID, w.user.ID())
			return err
		}},
		{"account_deactivated", false, func(w world) error {
			return w.s.Users.SetAccess(ctx, w.user.ID(), w.user.ChangeAccess(&no, nil, nil, later))
		}},
		{"made_system_admin", false, func(w world) error {
			return w.s.Users.SetAccess(ctx, w.user.ID(), w.user.ChangeAccess(nil, &yes, nil, later))
		}},
		{"organization_deactivated", true, func(w world) error {
			return w.s.Orgs.Update(ctx, w.org.ID, domain.OrgChange{Active: &no, At: later, Fields: []string{"is_active"}})
		}},
		{"organization_renamed", true, func(w world) error {
			name := "Renamed"
			return w.s.Orgs.Update(ctx, w.org.ID, domain.OrgChange{Name: &name, At: later, Fields: []string{"name"}})
		}},
		{"organization_created", true, func(w world) error {
			return w.s.Orgs.Create(ctx, NewOrg("newcomer", later))
		}},
		{"permission_created", true, func(w world) error {
			return w.s.Perms.Create(ctx, NewPermission("stamp.new", true))
		}},
		{"permission_deactivated", true, func(w world) error {
			return w.s.Perms.SetActive(ctx, "stamp.write", false, later)
		}},
		{"global_role_permissions_set", true, func(w world) error {
			return w.s.Perms.SetRolePermissions(ctx, nil, domain.RoleMember, []string{"stamp.read"}, ids, later)
		}},
		{"org_role_permissions_set", true, func(w world) error {
			return w.s.Perms.SetRolePermissions(ctx, &w.org.ID, domain.RoleViewer, []string{"stamp.read"}, ids, later)
		}},
	}
	for _, wr := range writes {
		t.Run("changed_by_"+wr.name, func(t *testing.T) {
			w := setup(t)
			before, bystander := stamp(t, w.s, w.user.ID()), stamp(t, w.s, w.other.ID())
			require.NoError(t, wr.write(w))
			after := stamp(t, w.s, w.user.ID())
			assert.NotEqual(t, before, after, "the user's stamp must change")
			if wr.global {
				assert.NotEqual(t, before.Global, after.Global)
				assert.NotEqual(t, bystander, stamp(t, w.s, w.other.ID()), "a global change concerns every user")
			} else {
				assert.Equal(t, before.Global, after.Global)
				assert.Equal(t, bystander, stamp(t, w.s, w.other.ID()), "another user's stamp stays")
			}
		})
	}

	t.Run("a_rolled_back_write_leaves_the_stamp", func(t *testing.T) {
		w := setup(t)
		before := stamp(t, w.s, w.user.ID())
		err := w.s.Tx.WithinTx(ctx, func(ctx context.Context) error {
			require.NoError(t, w.s.Members.Remove(ctx, w.org.ID, w.user.ID()))
			return assert.AnError
		})
		require.ErrorIs(t, err, assert.AnError)
		assert.Equal(t, before, stamp(t, w.s, w.user.ID()))
	})

	t.Run("writes_that_decide_nothing_leave_it", func(t *testing.T) {
		w := setup(t)
		before := stamp(t, w.s, w.user.ID())
		rec, guard := w.user.RecordLogin(later, "192.0.2.1", "test", "")
		require.NoError(t, w.s.Users.RecordLogin(ctx, w.user.ID(), rec, guard))
		first := "Renamed"
		ch, err := w.user.ChangeProfile(&first, nil, later)
		require.NoError(t, err)
		require.NoError(t, w.s.Users.SetProfile(ctx, w.user.ID(), ch))
		require.NoError(t, w.s.Users.SetAccess(ctx, w.user.ID(), w.user.ChangeAccess(&yes, nil, nil, later)), "active already")
		assert.Equal(t, before, stamp(t, w.s, w.user.ID()))
	})

	t.Run("an_unknown_user_has_a_stamp_too", func(t *testing.T) {
		w := setup(t)
		ghost := uuid.New()
		st := stamp(t, w.s, ghost)
		assert.Zero(t, st.User)
		assert.Equal(t, stamp(t, w.s, w.user.ID()).Global, st.Global)
	})

	// Writers racing on one user's rows lose no bump: a lost one could
	// leave the stamp at a value a reader already cached facts under.
	t.Run("racing_writes_lose_no_bump", func(t *testing.T) {
		w := setup(t)
		initial := stamp(t, w.s, w.user.ID())
		const rounds = 10
		for round := range rounds {
			var wg sync.WaitGroup
			for i := range 2 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					time.Sleep(time.Duration(rand.IntN(2000)) * time.Microsecond)
					g := domain.Grant{ID: uuid.New(), OrgID: w.org.ID, UserID: w.user.ID(), Permission: "stamp.read", IsActive: true,
						CreatedAt: later.Add(time.Duration(round*2+i) * time.Second)}
					assert.NoError(t, w.s.Perms.AddGrant(ctx, g))
				}()
			}
			wg.Wait()
		}
		assert.Equal(t, initial.User+2*rounds, stamp(t, w.s, w.user.ID()).User)
		assert.Equal(t, initial.Global, stamp(t, w.s, w.user.ID()).Global)
	})
}

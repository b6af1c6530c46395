package sqlstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/uptrace/bun"

	"github.com/ums-project/ums/adapters/sqlstore"
	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports/porttest"
)

// queryCounter is a bun query hook that records every statement run.
type queryCounter struct {
	mu      sync.Mutex
	queries []string
}

func (c *queryCounter) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	return ctx
}

func (c *queryCounter) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queries = append(c.queries, e.Query)
}

// count runs fn and returns how many statements it ran.
func (c *queryCounter) count(fn func()) int {
	c.mu.Lock()
	c.queries = nil
	c.mu.Unlock()
	fn()
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queries)
}

// TestAccessQueryRunsAFixedNumberOfQueries proves Facts has no N+1: a
// member of 50 organizations, each with its own role permissions and
// grants, costs as many statements as a member of one.
func TestAccessQueryRunsAFixedNumberOfQueries(t *testing.T) {
	for name, url := range stores() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db := openMigrated(t, url(t))
			users, orgs := sqlstore.NewUserRepository(db), sqlstore.NewOrgRepository(db)
			members, perms := sqlstore.NewMembershipRepository(db), sqlstore.NewPermissionRepository(db)
			var access *sqlstore.AccessQuery
			at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

			user, admin := porttest.NewUser("counted"), porttest.NewUser("countedadmin")
			admin = porttest.Edit(admin, func(s *domain.UserState) { s.IsSystemAdmin = true })
			var orgIDs []uuid.UUID
			require.NoError(t, sqlstore.NewTxManager(db).WithinTx(ctx, func(ctx context.Context) error {
				require.NoError(t, users.Create(ctx, user))
				require.NoError(t, users.Create(ctx, admin))
				require.NoError(t, perms.Create(ctx, porttest.NewPermission("lab.default", true)))
				require.NoError(t, perms.SetRolePermissions(ctx, nil, domain.RoleMember, []string{"lab.default"}, uuid.New, at))
				roles := []domain.Role{domain.RoleAdmin, domain.RoleMember, domain.RoleViewer}
				for i := range 50 {
					o := porttest.NewOrg(fmt.Sprintf("counted-%d", i), at)
					require.NoError(t, orgs.Create(ctx, o))
					orgIDs = append(orgIDs, o.ID)
					role := roles[i%3]
					require.NoError(t, members.Add(ctx, domain.Membership{OrgID: o.ID, UserID: user.ID(), Role: role, CreatedAt: at, UpdatedAt: at}))
					own, granted := fmt.Sprintf("lab.org%d", i), fmt.Sprintf("lab.grant%d", i)
					require.NoError(t, perms.Create(ctx, porttest.NewPermission(own, true)))
					require.NoError(t, perms.Create(ctx, porttest.NewPermission(granted, true)))
					require.NoError(t, perms.SetRolePermissions(ctx, &o.ID, role, []string{own}, uuid.New, at))
					require.NoError(t, perms.AddGrant(ctx, domain.Grant{ID: uuid.New(), OrgID: o.ID, UserID: user.ID(),
						Permission: granted, IsActive: true, CreatedAt: at}))
				}
				return nil
			}))

			counter := &queryCounter{}
			access = sqlstore.NewAccessQuery(&sqlstore.DB{DB: db.DB.WithQueryHook(counter), Dialect: db.Dialect})
			facts := func(userID uuid.UUID, ids []uuid.UUID) (map[uuid.UUID]domain.AccessFacts, int) {
				var got map[uuid.UUID]domain.AccessFacts
				n := counter.count(func() {
					var err error
					got, err = access.Facts(ctx, userID, ids)
					require.NoError(t, err)
				})
				return got, n
			}
			queriesFor := func(userID uuid.UUID, ids []uuid.UUID) int {
				_, n := facts(userID, ids)
				t.Logf("%d orgs: %d queries", len(ids), n)
				return n
			}

			one, fifty := queriesFor(user.ID(), orgIDs[:1]), queriesFor(user.ID(), orgIDs)
			assert.Equal(t, 4, one, "user, orgs with membership, role permissions, grants")
			assert.Equal(t, one, fifty, "no query per organization")

			adminOne, adminFifty := queriesFor(admin.ID(), orgIDs[:1]), queriesFor(admin.ID(), orgIDs)
			assert.Equal(t, 3, adminOne, "user, orgs, catalog")
			assert.Equal(t, adminOne, adminFifty)

			assert.Equal(t, 1, queriesFor(uuid.New(), orgIDs), "an unknown user stops at the user")
			assert.Equal(t, 0, queriesFor(user.ID(), nil))

			// The 50 answers are right, not only cheap.
			got, _ := facts(user.ID(), orgIDs)
			require.Len(t, got, 50)
			for i, id := range orgIDs {
				want := []string{fmt.Sprintf("lab.grant%d", i), fmt.Sprintf("lab.org%d", i)}
				if got[id].Role == domain.RoleMember {
					want = append([]string{"lab.default"}, want...)
				}
				assert.Equal(t, want, domain.EffectivePermissions(got[id], at), "org %d", i)
			}
		})
	}
}

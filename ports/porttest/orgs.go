package porttest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// OrgStore is what the organization contract suite needs from an adapter:
// the organization, membership, permission and access ports, and users and
// transactions to set them up.
type OrgStore struct {
	Users   ports.UserRepository
	Tx      ports.TxManager
	Orgs    ports.OrgRepository
	Members ports.MembershipRepository
	Perms   ports.PermissionRepository
	Access  ports.AccessQuery
	Stamps  ports.AccessStamps
}

// RunOrgStores runs the contracts of ports.OrgRepository,
// ports.MembershipRepository, ports.PermissionRepository, ports.AccessQuery
// and ports.AccessStamps against the store newStore returns.
func RunOrgStores(t *testing.T, newStore func(t *testing.T) OrgStore) {
	t.Run("orgs", func(t *testing.T) { runOrgRepository(t, newStore) })
	t.Run("memberships", func(t *testing.T) { runMembershipRepository(t, newStore) })
	t.Run("permissions", func(t *testing.T) { runPermissionRepository(t, newStore) })
	t.Run("access", func(t *testing.T) { runAccessQuery(t, newStore) })
	t.Run("access_stamps", func(t *testing.T) { runAccessStamps(t, newStore) })
}

// orgBase is a fixed instant in whole microseconds, the precision every
// store keeps.
var orgBase = time.Date(2030, 3, 4, 5, 6, 7, 123456000, time.UTC)

// NewOrg returns a valid active organization named after slug, created at.
func NewOrg(slug string, at time.Time) domain.Organization {
	return domain.Organization{
		ID: uuid.New(), Name: "Org " + slug, Slug: slug, Description: "the " + slug + " lab",
		IsActive: true, CreatedAt: at, UpdatedAt: at,
	}
}

// NewPermission returns a catalog entry.
func NewPermission(name string, active bool) domain.Permission {
	return domain.Permission{
		ID: uuid.New(), Name: name, Description: "may " + name, Category: "lab",
		IsActive: active, CreatedAt: orgBase, UpdatedAt: orgBase,
	}
}

func requireInvalidCursor(t *testing.T, err error) {
	t.Helper()
	require.Error(t, err)
	assert.Equal(t, domain.KindInvalid, domain.KindOf(err), "%v", err)
	var de *domain.Error
	require.True(t, errors.As(err, &de))
	require.NotEmpty(t, de.Fields)
	assert.Equal(t, "cursor", de.Fields[0].Field)
}

func orgIDs(orgs []domain.Organization) []uuid.UUID {
	out := make([]uuid.UUID, len(orgs))
	for i, o := range orgs {
		out[i] = o.ID
	}
	return out
}

// sortOrgs orders organizations the way List must: by (created_at, id).
func sortOrgs(orgs []domain.Organization) {
	sort.Slice(orgs, func(i, j int) bool {
		if !orgs[i].CreatedAt.Equal(orgs[j].CreatedAt) {
			return orgs[i].CreatedAt.Before(orgs[j].CreatedAt)
		}
		return orgs[i].ID.String() < orgs[j].ID.String()
	})
}

func runOrgRepository(t *testing.T, newStore func(t *testing.T) OrgStore) {
	ctx := context.Background()

	// listAll follows cursors to the end, limit rows a page.
	listAll := func(t *testing.T, s OrgStore, f ports.OrgFilter, limit int) []domain.Organization {
		t.Helper()
		var all []domain.Organization
		cursor := ""
		for range 1000 {
			page, next, err := s.Orgs.List(ctx, f, ports.Page{Limit: limit, Cursor: cursor})
			require.NoError(t, err)
			require.LessOrEqual(t, len(page), limit)
			all = append(all, page...)
			if next == "" {
				return all
			}
			require.Len(t, page, limit, "only the last page may be short")
			cursor = next
		}
		t.Fatal("the cursors never ended")
		return nil
	}

	t.Run("create_and_by_id_round_trip", func(t *testing.T) {
		s := newStore(t)
		o := NewOrg("acme", orgBase)
		require.NoError(t, s.Orgs.Create(ctx, o))
		got, err := s.Orgs.ByID(ctx, o.ID)
		require.NoError(t, err)
		assert.Equal(t, o, got)
	})

	t.Run("unknown_org_is_not_found", func(t *testing.T) {
		s := newStore(t)
		_, err := s.Orgs.ByID(ctx, uuid.New())
		assert.ErrorIs(t, err, domain.ErrOrgNotFound)
		ghost := NewOrg("ghost", orgBase)
		name := "Ghost"
		ch, err := ghost.Change(&name, nil, nil, nil, orgBase)
		require.NoError(t, err)
		assert.ErrorIs(t, s.Orgs.Update(ctx, ghost.ID, ch), domain.ErrOrgNotFound)
	})

	t.Run("slug_conflicts_case_insensitively", func(t *testing.T) {
		s := newStore(t)
		require.NoError(t, s.Orgs.Create(ctx, NewOrg("acme", orgBase)))
		err := s.Orgs.Create(ctx, NewOrg("ACME", orgBase))
		assert.ErrorIs(t, err, domain.ErrSlugTaken)
		assert.Equal(t, domain.KindConflict, domain.KindOf(err))

		other := NewOrg("beta", orgBase)
		require.NoError(t, s.Orgs.Create(ctx, other))
		slug := "Acme"
		ch, err := other.Change(nil, &slug, nil, nil, orgBase)
		require.NoError(t, err)
		assert.ErrorIs(t, s.Orgs.Update(ctx, other.ID, ch), domain.ErrSlugTaken)
	})

	t.Run("update_writes_mutable_fields", func(t *testing.T) {
		s := newStore(t)
		o := NewOrg("mutable", orgBase)
		require.NoError(t, s.Orgs.Create(ctx, o))
		name, slug, desc, off := "Renamed", "renamed", "", false
		ch, err := o.Change(&name, &slug, &desc, &off, orgBase.Add(time.Hour))
		require.NoError(t, err)
		require.NoError(t, s.Orgs.Update(ctx, o.ID, ch))
		got, err := s.Orgs.ByID(ctx, o.ID)
		require.NoError(t, err)
		assert.Equal(t, o, got)
		same := domain.OrgChange{Slug: &slug, At: orgBase.Add(2 * time.Hour), Fields: []string{"slug"}}
		require.NoError(t, s.Orgs.Update(ctx, o.ID, same), "keeping its own slug is no conflict")
	})

	t.Run("concurrent_updates_of_different_fields_both_survive", func(t *testing.T) {
		s := newStore(t)
		for i := range 10 {
			o := NewOrg(fmt.Sprintf("both%d", i), orgBase)
			require.NoError(t, s.Orgs.Create(ctx, o))
			a, b := o, o
			name, desc := "Renamed", "described"
			chA, err := a.Change(&name, nil, nil, nil, orgBase.Add(time.Minute))
			require.NoError(t, err)
			chB, err := b.Change(nil, nil, &desc, nil, orgBase.Add(time.Minute))
			require.NoError(t, err)
			var wg sync.WaitGroup
			wg.Add(2)
			go func() { defer wg.Done(); assert.NoError(t, s.Orgs.Update(ctx, o.ID, chA)) }()
			go func() { defer wg.Done(); assert.NoError(t, s.Orgs.Update(ctx, o.ID, chB)) }()
			wg.Wait()
			got, err := s.Orgs.ByID(ctx, o.ID)
			require.NoError(t, err)
			assert.Equal(t, "Renamed", got.Name)
			assert.Equal(t, "described", got.Description)
		}
	})

	t.Run("list_pages_by_created_at_then_id", func(t *testing.T) {
		s := newStore(t)
		var want []domain.Organization
		for i, off := range []int{4, 1, 3, 1, 0, 2, 1} {
			o := NewOrg(fmt.Sprintf("org%d", i), orgBase.Add(time.Duration(off)*time.Second))
			require.NoError(t, s.Orgs.Create(ctx, o))
			want = append(want, o)
		}
		sortOrgs(want)
		for _, limit := range []int{1, 2, 3, 7, 50} {
			assert.Equal(t, want, listAll(t, s, ports.OrgFilter{}, limit), "limit %d", limit)
		}
		page, next, err := s.Orgs.List(ctx, ports.OrgFilter{}, ports.Page{Limit: 7})
		require.NoError(t, err)
		assert.Len(t, page, 7)
		assert.Empty(t, next, "an exactly full last page has no next cursor")
	})

	t.Run("list_is_stable_when_rows_are_inserted_between_pages", func(t *testing.T) {
		s := newStore(t)
		var originals []domain.Organization
		for i := range 6 {
			o := NewOrg(fmt.Sprintf("orig%d", i), orgBase.Add(time.Duration(i)*time.Minute))
			require.NoError(t, s.Orgs.Create(ctx, o))
			originals = append(originals, o)
		}
		page, cursor, err := s.Orgs.List(ctx, ports.OrgFilter{}, ports.Page{Limit: 2})
		require.NoError(t, err)
		require.Equal(t, orgIDs(originals[:2]), orgIDs(page))
		seen := orgIDs(page)

		// Later than the cursor, some between the originals not read yet,
		// and one before it, which must never show up.
		var added []domain.Organization
		for i, at := range []time.Duration{90 * time.Second, 150 * time.Second, 10 * time.Minute} {
			o := NewOrg(fmt.Sprintf("new%d", i), orgBase.Add(at))
			require.NoError(t, s.Orgs.Create(ctx, o))
			added = append(added, o)
		}
		early := NewOrg("early", orgBase.Add(-time.Hour))
		require.NoError(t, s.Orgs.Create(ctx, early))

		for cursor != "" {
			page, cursor, err = s.Orgs.List(ctx, ports.OrgFilter{}, ports.Page{Limit: 2, Cursor: cursor})
			require.NoError(t, err)
			seen = append(seen, orgIDs(page)...)
			// more rows arrive while paging
			if len(seen) == 4 {
				o := NewOrg("later", orgBase.Add(time.Hour))
				require.NoError(t, s.Orgs.Create(ctx, o))
				added = append(added, o)
			}
		}
		count := map[uuid.UUID]int{}
		for _, id := range seen {
			count[id]++
		}
		for _, o := range originals {
			assert.Equal(t, 1, count[o.ID], "original %s seen once", o.Slug)
		}
		for _, o := range added {
			assert.Equal(t, 1, count[o.ID], "added %s seen once", o.Slug)
		}
		assert.Zero(t, count[early.ID], "a row before the cursor is not seen")
		all := append(append([]domain.Organization{}, originals...), added...)
		sortOrgs(all)
		assert.Equal(t, orgIDs(all), seen, "the order holds across pages")
	})

	t.Run("list_limit_defaults_to_50_and_caps_at_200", func(t *testing.T) {
		s := newStore(t)
		require.NoError(t, s.Tx.WithinTx(ctx, func(ctx context.Context) error {
			for i := range 205 {
				if err := s.Orgs.Create(ctx, NewOrg(fmt.Sprintf("bulk%d", i), orgBase.Add(time.Duration(i)*time.Millisecond))); err != nil {
					return err
				}
			}
			return nil
		}))
		for limit, want := range map[int]int{0: 50, -1: 50, 200: 200, 1000: 200} {
			page, next, err := s.Orgs.List(ctx, ports.OrgFilter{}, ports.Page{Limit: limit})
			require.NoError(t, err)
			assert.Len(t, page, want, "limit %d", limit)
			assert.NotEmpty(t, next, "limit %d", limit)
		}
	})

	t.Run("list_filters_by_member_and_query", func(t *testing.T) {
		s := newStore(t)
		u := NewUser("filterer")
		require.NoError(t, s.Users.Create(ctx, u))
		mk := func(slug, name string, off int) domain.Organization {
			o := NewOrg(slug, orgBase.Add(time.Duration(off)*time.Second))
			o.Name = name
			require.NoError(t, s.Orgs.Create(ctx, o))
			return o
		}
		acme := mk("acme", "Acme Corp", 0)
		pct := mk("pct", "100% Labs", 1)
		zeros := mk("zeros", "1000 Labs", 2)
		under := mk("a-b", "a_b research", 3)
		dash := mk("axb", "axb research", 4)
		for _, o := range []domain.Organization{acme, under} {
			require.NoError(t, s.Members.Add(ctx, domain.Membership{OrgID: o.ID, UserID: u.ID(), Role: domain.RoleMember, CreatedAt: orgBase, UpdatedAt: orgBase}))
		}
		ids := func(f ports.OrgFilter) []uuid.UUID {
			got, _, err := s.Orgs.List(ctx, f, ports.Page{})
			require.NoError(t, err)
			return orgIDs(got)
		}
		assert.Equal(t, []uuid.UUID{acme.ID, pct.ID, zeros.ID, under.ID, dash.ID}, ids(ports.OrgFilter{}))
		assert.Equal(t, []uuid.UUID{acme.ID, under.ID}, ids(ports.OrgFilter{MemberID: ptr(u.ID())}))
		assert.Equal(t, []uuid.UUID{acme.ID}, ids(ports.OrgFilter{Q: "ACME co"}), "name, any case")
		assert.Equal(t, []uuid.UUID{acme.ID}, ids(ports.OrgFilter{Q: "CM"}), "substring")
		assert.Equal(t, []uuid.UUID{under.ID}, ids(ports.OrgFilter{Q: "A-B"}), "slug")
		assert.Equal(t, []uuid.UUID{pct.ID}, ids(ports.OrgFilter{Q: "0%"}), "%% is literal")
		assert.Equal(t, []uuid.UUID{under.ID}, ids(ports.OrgFilter{Q: "a_b"}), "_ is literal")
		assert.Equal(t, []uuid.UUID{under.ID}, ids(ports.OrgFilter{MemberID: ptr(u.ID()), Q: "research"}))
		assert.Empty(t, ids(ports.OrgFilter{Q: `\`}))
		nobody := uuid.New()
		assert.Empty(t, ids(ports.OrgFilter{MemberID: &nobody}))
	})

	t.Run("list_refuses_a_bad_cursor", func(t *testing.T) {
		s := newStore(t)
		for _, c := range []string{"!!!", "bm9wZQ", "e30"} {
			_, _, err := s.Orgs.List(ctx, ports.OrgFilter{}, ports.Page{Cursor: c})
			requireInvalidCursor(t, err)
		}
	})
}

func runMembershipRepository(t *testing.T, newStore func(t *testing.T) OrgStore) {
	ctx := context.Background()

	// setup stores an organization and n users.
	setup := func(t *testing.T, n int) (OrgStore, domain.Organization, []*domain.User) {
		t.Helper()
		s := newStore(t)
		o := NewOrg("org"+uuid.NewString()[:8], orgBase)
		require.NoError(t, s.Orgs.Create(ctx, o))
		users := make([]*domain.User, n)
		for i := range users {
			users[i] = NewUser(fmt.Sprintf("user%d-%s", i, uuid.NewString()[:8]))
			require.NoError(t, s.Users.Create(ctx, users[i]))
		}
		return s, o, users
	}
	member := func(o domain.Organization, u *domain.User, role domain.Role, at time.Time) domain.Membership {
		return domain.Membership{OrgID: o.ID, UserID: u.ID(), Role: role, CreatedAt: at, UpdatedAt: at}
	}

	t.Run("add_get_set_role_remove", func(t *testing.T) {
		s, o, users := setup(t, 1)
		m := member(o, users[0], domain.RoleViewer, orgBase)
		require.NoError(t, s.Members.Add(ctx, m))
		got, err := s.Members.Get(ctx, o.ID, users[0].ID())
		require.NoError(t, err)
		assert.Equal(t, m, got)

		err = s.Members.Add(ctx, member(o, users[0], domain.RoleAdmin, orgBase))
		assert.ErrorIs(t, err, domain.ErrAlreadyMember)
		assert.Equal(t, domain.KindConflict, domain.KindOf(err))

		later := orgBase.Add(time.Hour)
		require.NoError(t, s.Members.SetRole(ctx, o.ID, users[0].ID(), domain.RoleViewer, domain.RoleAdmin, later))
		assert.ErrorIs(t, s.Members.SetRole(ctx, o.ID, users[0].ID(), domain.RoleViewer, domain.RoleMember, later),
			domain.ErrConcurrentChange, "a role changed meanwhile is not overwritten")
		locked, err := s.Members.Lock(ctx, o.ID, users[0].ID())
		require.NoError(t, err)
		assert.Equal(t, domain.RoleAdmin, locked.Role)
		got, err = s.Members.Get(ctx, o.ID, users[0].ID())
		require.NoError(t, err)
		m.Role, m.UpdatedAt = domain.RoleAdmin, later
		assert.Equal(t, m, got)

		require.NoError(t, s.Members.Remove(ctx, o.ID, users[0].ID()))
		_, err = s.Members.Get(ctx, o.ID, users[0].ID())
		assert.ErrorIs(t, err, domain.ErrMembershipNotFound)
	})

	t.Run("unknown_membership_is_not_found", func(t *testing.T) {
		s, o, users := setup(t, 1)
		_, err := s.Members.Get(ctx, o.ID, users[0].ID())
		assert.ErrorIs(t, err, domain.ErrMembershipNotFound)
		assert.ErrorIs(t, s.Members.SetRole(ctx, o.ID, users[0].ID(), domain.RoleViewer, domain.RoleAdmin, orgBase), domain.ErrMembershipNotFound)
		_, err = s.Members.Lock(ctx, o.ID, users[0].ID())
		assert.ErrorIs(t, err, domain.ErrMembershipNotFound)
		assert.ErrorIs(t, s.Members.Remove(ctx, o.ID, users[0].ID()), domain.ErrMembershipNotFound)
		assert.ErrorIs(t, s.Members.Remove(ctx, uuid.New(), uuid.New()), domain.ErrMembershipNotFound)
	})

	t.Run("by_user_lists_oldest_first", func(t *testing.T) {
		s, o1, users := setup(t, 2)
		o2, o3 := NewOrg("second", orgBase), NewOrg("third", orgBase)
		require.NoError(t, s.Orgs.Create(ctx, o2))
		require.NoError(t, s.Orgs.Create(ctx, o3))
		m2 := member(o2, users[0], domain.RoleMember, orgBase.Add(-time.Hour))
		m1 := member(o1, users[0], domain.RoleAdmin, orgBase)
		m3 := member(o3, users[0], domain.RoleViewer, orgBase.Add(time.Hour))
		for _, m := range []domain.Membership{m1, m3, m2, member(o1, users[1], domain.RoleMember, orgBase)} {
			require.NoError(t, s.Members.Add(ctx, m))
		}
		got, err := s.Members.ByUser(ctx, users[0].ID())
		require.NoError(t, err)
		assert.Equal(t, []domain.Membership{m2, m1, m3}, got)
		got, err = s.Members.ByUser(ctx, uuid.New())
		require.NoError(t, err)
		assert.Empty(t, got)
	})

	t.Run("by_org_pages_members_with_their_names", func(t *testing.T) {
		s, o, users := setup(t, 6)
		other := NewOrg("other", orgBase)
		require.NoError(t, s.Orgs.Create(ctx, other))
		var want []ports.MembershipWithUser
		for i, u := range users[:5] {
			// two share a created_at: user_id breaks the tie
			m := member(o, u, domain.RoleMember, orgBase.Add(time.Duration(i/2)*time.Second))
			require.NoError(t, s.Members.Add(ctx, m))
			want = append(want, ports.MembershipWithUser{Membership: m, Email: u.Email().String(), Username: u.Username().String()})
		}
		require.NoError(t, s.Members.Add(ctx, member(other, users[5], domain.RoleAdmin, orgBase)))
		sort.Slice(want, func(i, j int) bool {
			a, b := want[i].Membership, want[j].Membership
			if !a.CreatedAt.Equal(b.CreatedAt) {
				return a.CreatedAt.Before(b.CreatedAt)
			}
			return a.UserID.String() < b.UserID.String()
		})

		var got []ports.MembershipWithUser
		cursor := ""
		for pages := 0; ; pages++ {
			require.Less(t, pages, 10)
			page, next, err := s.Members.ByOrg(ctx, o.ID, ports.Page{Limit: 2, Cursor: cursor})
			require.NoError(t, err)
			got = append(got, page...)
			if next == "" {
				break
			}
			cursor = next
		}
		assert.Equal(t, want, got)

		all, next, err := s.Members.ByOrg(ctx, o.ID, ports.Page{})
		require.NoError(t, err)
		assert.Equal(t, want, all)
		assert.Empty(t, next)

		none, next, err := s.Members.ByOrg(ctx, uuid.New(), ports.Page{})
		require.NoError(t, err)
		assert.Empty(t, none)
		assert.Empty(t, next)
	})

	t.Run("by_org_refuses_a_bad_cursor", func(t *testing.T) {
		s, o, _ := setup(t, 0)
		for i := range 3 {
			require.NoError(t, s.Orgs.Create(ctx, NewOrg(fmt.Sprintf("o%d", i), orgBase)))
		}
		_, orgCursor, err := s.Orgs.List(ctx, ports.OrgFilter{}, ports.Page{Limit: 1})
		require.NoError(t, err)
		require.NotEmpty(t, orgCursor)
		for _, c := range []string{"not a cursor", orgCursor} {
			_, _, err := s.Members.ByOrg(ctx, o.ID, ports.Page{Cursor: c})
			requireInvalidCursor(t, err)
		}
	})

	t.Run("lock_admins_counts_the_orgs_admins", func(t *testing.T) {
		s, o, users := setup(t, 5)
		other := NewOrg("other", orgBase)
		require.NoError(t, s.Orgs.Create(ctx, other))
		for i, role := range []domain.Role{domain.RoleAdmin, domain.RoleAdmin, domain.RoleMember, domain.RoleViewer} {
			require.NoError(t, s.Members.Add(ctx, member(o, users[i], role, orgBase)))
		}
		require.NoError(t, s.Members.Add(ctx, member(other, users[4], domain.RoleAdmin, orgBase)))
		machine := domain.NewServiceAccountUser(uuid.Must(uuid.NewV7()), domain.MustUsername("sa-admin-"+uuid.NewString()[:6]), "!", orgBase)
		require.NoError(t, s.Users.Create(ctx, machine))
		require.NoError(t, s.Members.Add(ctx, member(o, machine, domain.RoleAdmin, orgBase)))
		require.NoError(t, s.Tx.WithinTx(ctx, func(ctx context.Context) error {
			n, err := s.Members.LockAdmins(ctx, o.ID)
			require.NoError(t, err)
			assert.Equal(t, 2, n, "people only: a service account's admin role is not counted")
			n, err = s.Members.LockAdmins(ctx, uuid.New())
			require.NoError(t, err)
			assert.Zero(t, n)
			return nil
		}))
	})

	t.Run("concurrent_demotions_keep_one_admin", func(t *testing.T) {
		s, o, users := setup(t, 2)
		for _, u := range users {
			require.NoError(t, s.Members.Add(ctx, member(o, u, domain.RoleAdmin, orgBase)))
		}
		var wg sync.WaitGroup
		errs := make([]error, len(users))
		start := make(chan struct{})
		for i, u := range users {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = s.Tx.WithinTx(ctx, func(ctx context.Context) error {
					n, err := s.Members.LockAdmins(ctx, o.ID)
					if err != nil {
						return err
					}
					if n <= 1 {
						return domain.ErrLastOrgAdmin
					}
					time.Sleep(20 * time.Millisecond) // widen the race window
					return s.Members.SetRole(ctx, o.ID, u.ID(), domain.RoleAdmin, domain.RoleMember, orgBase.Add(time.Minute))
				})
			}()
		}
		close(start)
		wg.Wait()
		wins := 0
		for _, err := range errs {
			if err == nil {
				wins++
				continue
			}
			assert.ErrorIs(t, err, domain.ErrLastOrgAdmin)
		}
		assert.Equal(t, 1, wins)
		var n int
		require.NoError(t, s.Tx.WithinTx(ctx, func(ctx context.Context) (err error) {
			n, err = s.Members.LockAdmins(ctx, o.ID)
			return err
		}))
		assert.Equal(t, 1, n)
	})
}

func runPermissionRepository(t *testing.T, newStore func(t *testing.T) OrgStore) {
	ctx := context.Background()
	seq := func() uuid.UUID { return uuid.New() }

	// setup stores an organization and the given catalog entries.
	setup := func(t *testing.T, perms ...domain.Permission) (OrgStore, domain.Organization) {
		t.Helper()
		s := newStore(t)
		o := NewOrg("perms"+uuid.NewString()[:8], orgBase)
		require.NoError(t, s.Orgs.Create(ctx, o))
		for _, p := range perms {
			require.NoError(t, s.Perms.Create(ctx, p))
		}
		return s, o
	}
	names := func(t *testing.T, s OrgStore, orgID *uuid.UUID, role domain.Role) []string {
		t.Helper()
		got, err := s.Perms.RolePermissions(ctx, orgID, role)
		require.NoError(t, err)
		return got
	}

	t.Run("catalog_create_by_name_list_set_active", func(t *testing.T) {
		read, write := NewPermission("lab.patient.read", true), NewPermission("lab.patient.write", true)
		old := NewPermission("lab.legacy_report", false)
		under := NewPermission("lab.patient_notes.read", true)
		s, _ := setup(t, write, old, read, under)

		got, err := s.Perms.ByName(ctx, "lab.legacy_report")
		require.NoError(t, err)
		assert.Equal(t, old, got, "inactive entries are found by name")
		_, err = s.Perms.ByName(ctx, "lab.nothing")
		assert.ErrorIs(t, err, domain.ErrPermissionNotFound)

		err = s.Perms.Create(ctx, NewPermission("lab.patient.read", true))
		assert.ErrorIs(t, err, domain.ErrPermissionExists)
		assert.Equal(t, domain.KindConflict, domain.KindOf(err))

		active, err := s.Perms.List(ctx, false)
		require.NoError(t, err)
		assert.Equal(t, []domain.Permission{read, write, under}, active, "sorted by name bytewise")
		all, err := s.Perms.List(ctx, true)
		require.NoError(t, err)
		assert.Equal(t, []domain.Permission{old, read, write, under}, all)

		later := orgBase.Add(time.Hour)
		require.NoError(t, s.Perms.SetActive(ctx, "lab.patient.write", false, later))
		got, err = s.Perms.ByName(ctx, "lab.patient.write")
		require.NoError(t, err)
		assert.False(t, got.IsActive)
		assert.True(t, got.UpdatedAt.Equal(later))
		assert.ErrorIs(t, s.Perms.SetActive(ctx, "lab.nothing", true, later), domain.ErrPermissionNotFound)
	})

	t.Run("set_role_permissions_replaces_one_scope_and_role", func(t *testing.T) {
		s, o := setup(t, NewPermission("a.one", true), NewPermission("a.two", true),
			NewPermission("a.three", true), NewPermission("a.four", true))
		other := NewOrg("other", orgBase)
		require.NoError(t, s.Orgs.Create(ctx, other))

		require.NoError(t, s.Perms.SetRolePermissions(ctx, nil, domain.RoleMember, []string{"a.two", "a.one", "a.two"}, seq, orgBase))
		require.NoError(t, s.Perms.SetRolePermissions(ctx, &o.ID, domain.RoleMember, []string{"a.three"}, seq, orgBase))
		require.NoError(t, s.Perms.SetRolePermissions(ctx, &o.ID, domain.RoleViewer, []string{"a.four"}, seq, orgBase))
		require.NoError(t, s.Perms.SetRolePermissions(ctx, &other.ID, domain.RoleMember, []string{"a.four"}, seq, orgBase))

		assert.Equal(t, []string{"a.one", "a.two"}, names(t, s, nil, domain.RoleMember))
		assert.Equal(t, []string{"a.three"}, names(t, s, &o.ID, domain.RoleMember))
		assert.Equal(t, []string{"a.four"}, names(t, s, &o.ID, domain.RoleViewer))
		assert.Equal(t, []string{"a.four"}, names(t, s, &other.ID, domain.RoleMember))
		assert.Empty(t, names(t, s, nil, domain.RoleAdmin))
		assert.Empty(t, names(t, s, &o.ID, domain.RoleAdmin))

		require.NoError(t, s.Perms.SetRolePermissions(ctx, nil, domain.RoleMember, []string{"a.two", "a.four"}, seq, orgBase))
		assert.Equal(t, []string{"a.four", "a.two"}, names(t, s, nil, domain.RoleMember), "replaced, not merged")
		assert.Equal(t, []string{"a.three"}, names(t, s, &o.ID, domain.RoleMember), "other scopes untouched")

		require.NoError(t, s.Perms.SetRolePermissions(ctx, &o.ID, domain.RoleMember, nil, seq, orgBase))
		assert.Empty(t, names(t, s, &o.ID, domain.RoleMember))
		assert.Equal(t, []string{"a.four"}, names(t, s, &o.ID, domain.RoleViewer))
		assert.Equal(t, []string{"a.four", "a.two"}, names(t, s, nil, domain.RoleMember))
	})

	t.Run("role_permissions_list_active_entries_only", func(t *testing.T) {
		s, o := setup(t, NewPermission("b.on", true), NewPermission("b.off", false))
		require.NoError(t, s.Perms.SetRolePermissions(ctx, &o.ID, domain.RoleAdmin, []string{"b.on", "b.off"}, seq, orgBase))
		assert.Equal(t, []string{"b.on"}, names(t, s, &o.ID, domain.RoleAdmin))
		require.NoError(t, s.Perms.SetActive(ctx, "b.off", true, orgBase))
		assert.Equal(t, []string{"b.off", "b.on"}, names(t, s, &o.ID, domain.RoleAdmin), "kept while inactive")
	})

	t.Run("unknown_name_leaves_the_set_unchanged", func(t *testing.T) {
		s, o := setup(t, NewPermission("c.one", true), NewPermission("c.two", true))
		require.NoError(t, s.Perms.SetRolePermissions(ctx, &o.ID, domain.RoleMember, []string{"c.one"}, seq, orgBase))
		err := s.Perms.SetRolePermissions(ctx, &o.ID, domain.RoleMember, []string{"c.two", "c.nope"}, seq, orgBase)
		assert.ErrorIs(t, err, domain.ErrPermissionNotFound)
		assert.Equal(t, []string{"c.one"}, names(t, s, &o.ID, domain.RoleMember))
	})

	t.Run("set_role_permissions_joins_the_callers_transaction", func(t *testing.T) {
		s, o := setup(t, NewPermission("d.one", true), NewPermission("d.two", true))
		require.NoError(t, s.Perms.SetRolePermissions(ctx, &o.ID, domain.RoleMember, []string{"d.one"}, seq, orgBase))
		boom := errors.New("boom")
		err := s.Tx.WithinTx(ctx, func(ctx context.Context) error {
			require.NoError(t, s.Perms.SetRolePermissions(ctx, &o.ID, domain.RoleMember, []string{"d.two"}, seq, orgBase))
			inside, err := s.Perms.RolePermissions(ctx, &o.ID, domain.RoleMember)
			require.NoError(t, err)
			assert.Equal(t, []string{"d.two"}, inside, "visible inside")
			return boom
		})
		assert.ErrorIs(t, err, boom)
		assert.Equal(t, []string{"d.one"}, names(t, s, &o.ID, domain.RoleMember), "rolled back with the caller")
	})

	t.Run("concurrent_replacements_leave_one_whole_set", func(t *testing.T) {
		s, o := setup(t, NewPermission("e.one", true), NewPermission("e.two", true), NewPermission("e.three", true))
		sets := [][]string{{"e.one", "e.two"}, {"e.two", "e.three"}, {"e.three"}, {"e.one"}}
		var wg sync.WaitGroup
		errs := make([]error, len(sets))
		for i, set := range sets {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.Perms.SetRolePermissions(ctx, &o.ID, domain.RoleMember, set, seq, orgBase)
			}()
		}
		wg.Wait()
		for _, err := range errs {
			assert.NoError(t, err)
		}
		got := names(t, s, &o.ID, domain.RoleMember)
		ok := false
		for _, set := range sets {
			want := append([]string(nil), set...)
			sort.Strings(want)
			ok = ok || assert.ObjectsAreEqual(want, got)
		}
		assert.True(t, ok, "%v is one of the sets written", got)
	})

	t.Run("grants_add_list_delete_scoped_to_org", func(t *testing.T) {
		s, o := setup(t, NewPermission("f.read", true), NewPermission("f.write", false))
		other := NewOrg("other", orgBase)
		require.NoError(t, s.Orgs.Create(ctx, other))
		holder, granter := NewUser("holder"), NewUser("granter")
		require.NoError(t, s.Users.Create(ctx, holder))
		require.NoError(t, s.Users.Create(ctx, granter))

		exp := orgBase.Add(24 * time.Hour)
		g1 := domain.Grant{ID: uuid.New(), OrgID: o.ID, UserID: holder.ID(), Permission: "f.read", IsActive: true,
			ExpiresAt: &exp, GrantedBy: ptr(granter.ID()), CreatedAt: orgBase}
		g2 := domain.Grant{ID: uuid.New(), OrgID: o.ID, UserID: holder.ID(), Permission: "f.write", IsActive: false,
			CreatedAt: orgBase.Add(time.Minute)}
		g3 := domain.Grant{ID: uuid.New(), OrgID: other.ID, UserID: holder.ID(), Permission: "f.read", IsActive: true,
			CreatedAt: orgBase.Add(2 * time.Minute)}
		for _, g := range []domain.Grant{g1, g2, g3} {
			require.NoError(t, s.Perms.AddGrant(ctx, g))
		}
		bad := g1
		bad.ID, bad.Permission = uuid.New(), "f.nothing"
		assert.ErrorIs(t, s.Perms.AddGrant(ctx, bad), domain.ErrPermissionNotFound)

		got, err := s.Perms.Grants(ctx, o.ID)
		require.NoError(t, err)
		assert.Equal(t, []domain.Grant{g2, g1}, got, "newest first, with names, inactive ones too")

		assert.ErrorIs(t, s.Perms.DeleteGrant(ctx, other.ID, g1.ID), domain.ErrGrantNotFound, "another org's grant")
		require.NoError(t, s.Perms.DeleteGrant(ctx, o.ID, g1.ID))
		assert.ErrorIs(t, s.Perms.DeleteGrant(ctx, o.ID, g1.ID), domain.ErrGrantNotFound)
		got, err = s.Perms.Grants(ctx, o.ID)
		require.NoError(t, err)
		assert.Equal(t, []domain.Grant{g2}, got)
		got, err = s.Perms.Grants(ctx, other.ID)
		require.NoError(t, err)
		assert.Equal(t, []domain.Grant{g3}, got)
		got, err = s.Perms.Grants(ctx, uuid.New())
		require.NoError(t, err)
		assert.Empty(t, got)

		n, err := s.Perms.DeleteUserGrants(ctx, o.ID, holder.ID())
		require.NoError(t, err)
		assert.Equal(t, 1, n, "the user's grants in one organization go")
		got, err = s.Perms.Grants(ctx, other.ID)
		require.NoError(t, err)
		assert.Equal(t, []domain.Grant{g3}, got, "another organization's stay")
	})
}

func runAccessQuery(t *testing.T, newStore func(t *testing.T) OrgStore) {
	ctx := context.Background()
	seq := func() uuid.UUID { return uuid.New() }

	t.Run("no_orgs_asked_is_an_empty_answer", func(t *testing.T) {
		s := newStore(t)
		u := NewUser("asker")
		require.NoError(t, s.Users.Create(ctx, u))
		facts, err := s.Access.Facts(ctx, u.ID(), nil)
		require.NoError(t, err)
		assert.Empty(t, facts)
	})

	t.Run("unknown_user_and_unknown_org", func(t *testing.T) {
		s := newStore(t)
		o := NewOrg("known", orgBase)
		require.NoError(t, s.Orgs.Create(ctx, o))
		u := NewUser("known")
		require.NoError(t, s.Users.Create(ctx, u))
		ghost := uuid.New()

		facts, err := s.Access.Facts(ctx, uuid.New(), []uuid.UUID{o.ID, ghost})
		require.NoError(t, err)
		require.Len(t, facts, 2)
		for id, f := range facts {
			assert.False(t, f.UserActive, "org %s", id)
			assert.Nil(t, domain.EffectivePermissions(f, orgBase))
		}

		facts, err = s.Access.Facts(ctx, u.ID(), []uuid.UUID{o.ID, ghost, o.ID})
		require.NoError(t, err)
		require.Len(t, facts, 2, "asked ids are deduplicated")
		assert.Equal(t, domain.AccessFacts{UserActive: true, OrgExists: true, OrgActive: true, OrgName: o.Name, OrgSlug: o.Slug}, facts[o.ID])
		assert.Equal(t, domain.AccessFacts{UserActive: true}, facts[ghost])
	})

	t.Run("effective_permissions_through_stored_rows", func(t *testing.T) {
		s := newStore(t)
		for _, p := range []domain.Permission{
			NewPermission("lab.default", true),        // global default of member
			NewPermission("lab.viewer_default", true), // global default of viewer
			NewPermission("lab.org_role", true),       // member in org A
			NewPermission("lab.admin_role", true),     // admin in org A
			NewPermission("lab.b_role", true),         // member in org B
			NewPermission("lab.granted", true),        // live grant in A
			NewPermission("lab.expiring", true),       // grant in A live until after now
			NewPermission("lab.expired", true),        // grant in A expired before now
			NewPermission("lab.revoked", true),        // inactive grant in A
			NewPermission("lab.outside", true),        // grant left in C, where the user is no member
			NewPermission("lab.disabled", false),      // inactive entry: default, org role and grant
		} {
			require.NoError(t, s.Perms.Create(ctx, p))
		}
		orgA, orgB, orgC, orgD := NewOrg("org-a", orgBase), NewOrg("org-b", orgBase), NewOrg("org-c", orgBase), NewOrg("org-d", orgBase)
		orgB.IsActive = false
		for _, o := range []domain.Organization{orgA, orgB, orgC, orgD} {
			require.NoError(t, s.Orgs.Create(ctx, o))
		}
		user, admin, inactive := NewUser("plainuser"), NewUser("sysadmin"), NewUser("sleeper")
		admin = Edit(admin, func(s *domain.UserState) { s.IsSystemAdmin = true })
		inactive = Edit(inactive, func(s *domain.UserState) { s.IsActive = false })
		for _, u := range []*domain.User{user, admin, inactive} {
			require.NoError(t, s.Users.Create(ctx, u))
		}
		join := func(o domain.Organization, u *domain.User, r domain.Role) {
			require.NoError(t, s.Members.Add(ctx, domain.Membership{OrgID: o.ID, UserID: u.ID(), Role: r, CreatedAt: orgBase, UpdatedAt: orgBase}))
		}
		join(orgA, user, domain.RoleMember)
		join(orgB, user, domain.RoleMember)
		join(orgA, inactive, domain.RoleMember)
		join(orgD, admin, domain.RoleViewer)

		setRole := func(o *uuid.UUID, r domain.Role, names ...string) {
			require.NoError(t, s.Perms.SetRolePermissions(ctx, o, r, names, seq, orgBase))
		}
		setRole(nil, domain.RoleMember, "lab.default", "lab.disabled")
		setRole(nil, domain.RoleViewer, "lab.viewer_default")
		setRole(&orgA.ID, domain.RoleMember, "lab.org_role", "lab.disabled")
		setRole(&orgA.ID, domain.RoleAdmin, "lab.admin_role")
		setRole(&orgB.ID, domain.RoleMember, "lab.b_role")

		now := orgBase.Add(time.Hour)
		soon, past := now.Add(time.Minute), now.Add(-time.Minute)
		grant := func(o domain.Organization, u *domain.User, name string, active bool, exp *time.Time, age time.Duration) domain.Grant {
			g := domain.Grant{ID: uuid.New(), OrgID: o.ID, UserID: u.ID(), Permission: name, IsActive: active,
				ExpiresAt: exp, CreatedAt: orgBase.Add(-age)}
			require.NoError(t, s.Perms.AddGrant(ctx, g))
			return g
		}
		granted := grant(orgA, user, "lab.granted", true, nil, 1*time.Minute)
		expiring := grant(orgA, user, "lab.expiring", true, &soon, 2*time.Minute)
		expired := grant(orgA, user, "lab.expired", true, &past, 3*time.Minute)
		revoked := grant(orgA, user, "lab.revoked", false, nil, 4*time.Minute)
		grant(orgA, user, "lab.disabled", true, nil, 5*time.Minute)
		outside := grant(orgC, user, "lab.outside", true, nil, 6*time.Minute)
		grant(orgA, admin, "lab.granted", true, nil, 7*time.Minute) // someone else's
		ghost := uuid.New()
		asked := []uuid.UUID{orgA.ID, orgB.ID, orgC.ID, orgD.ID, ghost}

		facts, err := s.Access.Facts(ctx, user.ID(), asked)
		require.NoError(t, err)
		require.Len(t, facts, len(asked))

		a := facts[orgA.ID]
		assert.True(t, a.UserActive && a.OrgExists && a.OrgActive && !a.IsSystemAdmin)
		assert.Equal(t, domain.RoleMember, a.Role)
		assert.Equal(t, []string{"lab.default"}, a.RoleDefaults, "inactive entries are left out")
		assert.Equal(t, []string{"lab.org_role"}, a.OrgRolePermissions, "only the user's role")
		assert.ElementsMatch(t, []domain.Grant{granted, expiring, expired, revoked}, a.Grants,
			"the user's grants of active entries, live or not")
		assert.Empty(t, a.Catalog)
		assert.Equal(t, []string{"lab.default", "lab.expiring", "lab.granted", "lab.org_role"},
			domain.EffectivePermissions(a, now))
		assert.Equal(t, []string{"lab.default", "lab.granted", "lab.org_role"},
			domain.EffectivePermissions(a, soon.Add(time.Second)), "the expiring grant ends")

		b := facts[orgB.ID]
		assert.True(t, b.OrgExists)
		assert.False(t, b.OrgActive)
		assert.Equal(t, []string{"lab.b_role"}, b.OrgRolePermissions)
		assert.Nil(t, domain.EffectivePermissions(b, now), "an inactive org grants nothing")

		c := facts[orgC.ID]
		assert.Empty(t, c.Role)
		assert.Empty(t, c.RoleDefaults)
		assert.Equal(t, []domain.Grant{outside}, c.Grants)
		assert.Nil(t, domain.EffectivePermissions(c, now), "a grant left to a non-member confers nothing")

		d := facts[orgD.ID]
		assert.Equal(t, domain.AccessFacts{UserActive: true, OrgExists: true, OrgActive: true, OrgName: orgD.Name, OrgSlug: orgD.Slug}, d)
		assert.Nil(t, domain.EffectivePermissions(d, now))

		assert.Equal(t, domain.AccessFacts{UserActive: true}, facts[ghost])
		assert.Nil(t, domain.EffectivePermissions(facts[ghost], now))

		// A system admin holds the whole active catalog in every org that
		// exists, inactive organizations included, member or not.
		facts, err = s.Access.Facts(ctx, admin.ID(), asked)
		require.NoError(t, err)
		catalog := []string{"lab.admin_role", "lab.b_role", "lab.default", "lab.expired", "lab.expiring",
			"lab.granted", "lab.org_role", "lab.outside", "lab.revoked", "lab.viewer_default"}
		for _, id := range []uuid.UUID{orgA.ID, orgB.ID, orgC.ID, orgD.ID} {
			assert.True(t, facts[id].IsSystemAdmin)
			assert.Equal(t, catalog, domain.EffectivePermissions(facts[id], now))
		}
		assert.Equal(t, domain.RoleViewer, facts[orgD.ID].Role)
		assert.Nil(t, domain.EffectivePermissions(facts[ghost], now))

		// An inactive user holds nothing.
		facts, err = s.Access.Facts(ctx, inactive.ID(), asked)
		require.NoError(t, err)
		assert.False(t, facts[orgA.ID].UserActive)
		assert.Equal(t, domain.RoleMember, facts[orgA.ID].Role)
		for _, id := range asked {
			assert.Nil(t, domain.EffectivePermissions(facts[id], now))
		}

		// Deactivating an entry takes it away at once.
		require.NoError(t, s.Perms.SetActive(ctx, "lab.granted", false, now))
		facts, err = s.Access.Facts(ctx, user.ID(), []uuid.UUID{orgA.ID})
		require.NoError(t, err)
		assert.Equal(t, []string{"lab.default", "lab.expiring", "lab.org_role"},
			domain.EffectivePermissions(facts[orgA.ID], now))
	})
}

func ptr[T any](v T) *T { return &v }

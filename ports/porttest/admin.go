package porttest

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// UserDirectoryStore is what the user directory suite needs from an
// adapter.
type UserDirectoryStore struct {
	Directory ports.UserDirectory
	Users     ports.UserRepository
	Tx        ports.TxManager
	// AddMembership stores m, creating its organization when it does not
	// exist yet; the suite needs members, not the organization ports.
	AddMembership func(ctx context.Context, m domain.Membership) error
}

// AuditQueryStore is what the audit query suite needs from an adapter.
type AuditQueryStore struct {
	Query ports.AuditQuery
	Log   ports.AuditLog
	Tx    ports.TxManager
}

// PersonalDataStore is what the personal data suite needs from an adapter:
// every store that keeps rows about a user, to fill them before an export
// or an erasure and to look for what is left after.
type PersonalDataStore struct {
	PersonalData ports.PersonalData
	Users        ports.UserRepository
	Tx           ports.TxManager
	Log          ports.AuditLog
	Audit        ports.AuditQuery
	Sessions     ports.SessionRepository
	Tokens       ports.OneTimeTokenRepository
	History      ports.PasswordHistory
	Codes        ports.RecoveryCodes
	Throttle     ports.LoginThrottle
	Outbox       ports.MailOutbox
	// AddMembership stores m, creating its organization when missing.
	AddMembership func(ctx context.Context, m domain.Membership) error
	// AddGrant stores g, creating its organization and a catalog entry
	// named g.Permission when missing.
	AddGrant func(ctx context.Context, g domain.Grant) error
	// Leftovers counts, per place ("table.column"), the stored rows that
	// still name u: by id in every column that holds a user id (as owner,
	// actor, target or granter) and in throttle keys, and by email or
	// username wherever those are kept as plain text. It is the adapter's
	// view of the whole database, so the suite can demand all zeros.
	Leftovers func(ctx context.Context, u domain.User) (map[string]int, error)
}

// adminBase is whole microseconds: the precision every store keeps.
var adminBase = time.Date(2030, 3, 4, 5, 6, 7, 123456000, time.UTC)

// RunUserDirectory runs the contract of ports.UserDirectory against the
// store newStore returns; every subtest gets a fresh, empty store.
func RunUserDirectory(t *testing.T, newStore func(t *testing.T) UserDirectoryStore) {
	ctx := context.Background()
	sorts := []ports.UserSort{
		ports.SortCreatedAsc, ports.SortCreatedDesc, ports.SortUsernameAsc,
		ports.SortUsernameDesc, ports.SortEmailAsc, ports.SortEmailDesc,
	}

	// seed stores 25 users whose three sort keys disagree: creation comes
	// in five ties of five, usernames mix upper and lower case in another
	// order, emails in a third.
	seed := func(t *testing.T, s UserDirectoryStore) []*domain.User {
		t.Helper()
		const n = 25
		letters := "abcdefghijklmnopqrstuvwxy"
		users := make([]*domain.User, n)
		require.NoError(t, s.Tx.WithinTx(ctx, func(ctx context.Context) error {
			for i := range n {
				name := string(letters[(i*7)%n]) + fmt.Sprintf("dir%02d", i)
				if i%2 == 0 {
					name = strings.ToUpper(name[:1]) + name[1:]
				}
				u := Edit(NewUser(name), func(s *domain.UserState) {
					s.Email = domain.MustEmail(fmt.Sprintf("%cmail%02d@example.com", letters[(i*11)%n], i))
					s.CreatedAt = adminBase.Add(time.Duration(i/5) * time.Second)
					s.UpdatedAt = s.CreatedAt
				})
				if err := s.Users.Create(ctx, u); err != nil {
					return err
				}
				users[i] = u
			}
			return nil
		}))
		return users
	}

	t.Run("pages_visit_every_user_once_in_sort_order", func(t *testing.T) {
		s := newStore(t)
		users := seed(t, s)
		for _, srt := range sorts {
			t.Run(string(srt), func(t *testing.T) {
				pages := dirWalk(t, s.Directory, ports.UserFilter{Sort: srt}, 10, "")
				require.Len(t, pages, 3)
				assert.Len(t, pages[0], 10)
				assert.Len(t, pages[1], 10)
				assert.Len(t, pages[2], 5)
				assert.Equal(t, dirSorted(users, srt), dirIDs(dirFlat(pages)))

				all, next, err := s.Directory.List(ctx, ports.UserFilter{Sort: srt}, ports.Page{Limit: 200})
				require.NoError(t, err)
				assert.Empty(t, next, "no cursor after the last page")
				assert.Equal(t, dirSorted(users, srt), dirIDs(all))
			})
		}
	})

	t.Run("default_sort_is_created_at_ascending", func(t *testing.T) {
		s := newStore(t)
		users := seed(t, s)
		got, _, err := s.Directory.List(ctx, ports.UserFilter{}, ports.Page{})
		require.NoError(t, err)
		assert.Equal(t, dirSorted(users, ports.SortCreatedAsc), dirIDs(got))
	})

	t.Run("rows_come_back_whole", func(t *testing.T) {
		s := newStore(t)
		u := Edit(NewUser("WholeRow"), func(s *domain.UserState) {
			exp := s.CreatedAt.Add(time.Hour)
			s.Password.ExpiresAt, s.EmailVerified, s.LastLogin.IP = &exp, true, "203.0.113.9"
		})
		require.NoError(t, s.Users.Create(ctx, u))
		got, _, err := s.Directory.List(ctx, ports.UserFilter{}, ports.Page{})
		require.NoError(t, err)
		require.Len(t, got, 1)
		assert.Equal(t, *u, got[0])
	})

	t.Run("pages_stay_stable_under_concurrent_inserts", func(t *testing.T) {
		for _, srt := range sorts {
			t.Run(string(srt), func(t *testing.T) {
				s := newStore(t)
				users := seed(t, s)
				f := ports.UserFilter{Sort: srt}
				first, cursor, err := s.Directory.List(ctx, f, ports.Page{Limit: 10})
				require.NoError(t, err)
				require.Len(t, first, 10)
				require.NotEmpty(t, cursor)
				at := first[len(first)-1]

				// Five newcomers: at both ends of every order and right
				// next to the cursor's row in every order.
				var fresh []*domain.User
				for i, place := range []string{"low", "low", "high", "high", "next"} {
					u := Edit(NewUser(fmt.Sprintf("fresh%d", i)), func(s *domain.UserState) {
						switch place {
						case "low":
							s.Username = domain.MustUsername(fmt.Sprintf("0fresh%d", i))
							s.Email = domain.MustEmail(fmt.Sprintf("0fresh%d@example.com", i))
							s.CreatedAt = adminBase.Add(-time.Duration(i+1) * time.Hour)
						case "high":
							s.Username = domain.MustUsername(fmt.Sprintf("zzfresh%d", i))
							s.Email = domain.MustEmail(fmt.Sprintf("zzfresh%d@example.com", i))
							s.CreatedAt = adminBase.Add(time.Duration(i+1) * time.Hour)
						case "next":
							s.Username = domain.MustUsername(at.Username().String() + "0")
							s.Email = domain.MustEmail(at.Email().LocalPart() + "0@example.com")
							s.CreatedAt = at.CreatedAt() // a tie, broken by the newer id
						}
						s.UpdatedAt = s.CreatedAt
					})
					require.NoError(t, s.Users.Create(ctx, u))
					fresh = append(fresh, u)
				}

				rest := dirWalk(t, s.Directory, f, 10, cursor)
				seen := map[uuid.UUID]int{}
				for _, u := range append(first, dirFlat(rest)...) {
					seen[u.ID()]++
				}
				for _, u := range users {
					assert.Equal(t, 1, seen[u.ID()], "original user %s seen %d times", u.Username(), seen[u.ID()])
				}
				for _, u := range fresh {
					want := 0
					if dirLess(&at, u, srt) {
						want = 1 // sorts after the cursor: still ahead of the reader
					}
					assert.Equal(t, want, seen[u.ID()], "newcomer %s", u.Username())
				}
				var visible []*domain.User
				for _, u := range append(users, fresh...) {
					if seen[u.ID()] > 0 {
						visible = append(visible, u)
					}
				}
				assert.Equal(t, dirSorted(visible, srt), dirIDs(append(first, dirFlat(rest)...)), "one order throughout")
			})
		}
	})

	t.Run("q_matches_substrings_case_insensitively_and_literally", func(t *testing.T) {
		s := newStore(t)
		mk := func(username, email, first, last string) *domain.User {
			t.Helper()
			u := Edit(NewUser(username), func(s *domain.UserState) {
				s.Email, s.FirstName, s.LastName = domain.MustEmail(email), first, last
			})
			require.NoError(t, s.Users.Create(ctx, u))
			return u
		}
		underscore := mk("Alpha_One", "a1@example.com", "Anna", "Smith")
		lookalike := mk("alphaXone", "a2@example.com", "Bert", "Jones")
		percent := mk("carol", "carol@mail.test", "50% Cent", "Brown")
		fifty := mk("dave", "dave@example.com", "50X Cent", "Green")
		bang := mk("erin", "erin@example.com", "Wow!", `Back\slash`)
		quote := mk("frank", "frank@example.com", "Frank", "O'Hara")
		_ = fifty
		for q, want := range map[string][]*domain.User{
			"ALPHA_ONE":  {underscore},
			"alpha":      {underscore, lookalike},
			"_":          {underscore},
			"50%":        {percent},
			"%":          {percent},
			"!":          {bang},
			`\`:          {bang},
			"'":          {quote},
			"SMITH":      {underscore},
			"bErT":       {lookalike},
			"MAIL.TEST":  {percent},
			"cent":       {percent, fifty},
			"no-such-so": nil,
		} {
			got, next, err := s.Directory.List(ctx, ports.UserFilter{Q: q}, ports.Page{})
			require.NoError(t, err, q)
			assert.Empty(t, next, q)
			assert.ElementsMatch(t, dirIDsOf(want), dirIDs(got), "q=%q", q)
		}

		pages := dirWalk(t, s.Directory, ports.UserFilter{Q: "EXAMPLE.COM", Sort: ports.SortUsernameAsc}, 2, "")
		assert.Equal(t, []uuid.UUID{underscore.ID(), lookalike.ID(), fifty.ID(), bang.ID(), quote.ID()},
			dirIDs(dirFlat(pages)), "a search pages like any list")
	})

	t.Run("is_active_and_org_filters", func(t *testing.T) {
		s := newStore(t)
		users := seed(t, s)[:6]
		for _, u := range users[:2] {
			off := false
			require.NoError(t, s.Users.SetAccess(ctx, u.ID(), u.ChangeAccess(&off, nil, nil, adminBase)))
		}
		org, other := uuid.New(), uuid.New()
		for i, u := range users[1:4] {
			require.NoError(t, s.AddMembership(ctx, domain.Membership{OrgID: org, UserID: u.ID(),
				Role: domain.Roles[i%len(domain.Roles)], CreatedAt: adminBase, UpdatedAt: adminBase}))
		}
		require.NoError(t, s.AddMembership(ctx, domain.Membership{OrgID: other, UserID: users[5].ID(),
			Role: domain.RoleAdmin, CreatedAt: adminBase, UpdatedAt: adminBase}))
		yes, no, nobody := true, false, uuid.New()

		list := func(f ports.UserFilter) []uuid.UUID {
			t.Helper()
			got, _, err := s.Directory.List(ctx, f, ports.Page{Limit: 200})
			require.NoError(t, err)
			return dirIDs(got)
		}
		all := list(ports.UserFilter{})
		assert.Len(t, all, 25)
		inactive := list(ports.UserFilter{IsActive: &no})
		assert.ElementsMatch(t, dirIDsOf(users[:2]), inactive)
		assert.Len(t, list(ports.UserFilter{IsActive: &yes}), 23)
		assert.ElementsMatch(t, dirIDsOf(users[1:4]), list(ports.UserFilter{OrgID: &org}))
		assert.ElementsMatch(t, dirIDsOf(users[2:4]), list(ports.UserFilter{OrgID: &org, IsActive: &yes}))
		assert.ElementsMatch(t, dirIDsOf(users[5:6]), list(ports.UserFilter{OrgID: &other}))
		assert.Empty(t, list(ports.UserFilter{OrgID: &nobody}))
		assert.ElementsMatch(t, dirIDsOf(users[1:2]),
			list(ports.UserFilter{OrgID: &org, IsActive: &no, Q: users[1].Username().String()}))
	})

	t.Run("bad_cursors_are_invalid", func(t *testing.T) {
		s := newStore(t)
		seed(t, s)
		_, byName, err := s.Directory.List(ctx, ports.UserFilter{Sort: ports.SortUsernameAsc}, ports.Page{Limit: 5})
		require.NoError(t, err)
		require.NotEmpty(t, byName)
		_, byCreated, err := s.Directory.List(ctx, ports.UserFilter{}, ports.Page{Limit: 5})
		require.NoError(t, err)
		require.NotEmpty(t, byCreated)

		cases := map[string]struct {
			sort   ports.UserSort
			cursor string
		}{
			"not_base64":          {ports.SortUsernameAsc, "%%%not-a-cursor%%%"},
			"not_json":            {ports.SortUsernameAsc, base64.RawURLEncoding.EncodeToString([]byte("garbage"))},
			"empty_object":        {ports.SortUsernameAsc, base64.RawURLEncoding.EncodeToString([]byte("{}"))},
			"truncated":           {ports.SortUsernameAsc, byName[:len(byName)/2]},
			"other_sort":          {ports.SortEmailAsc, byName},
			"other_direction":     {ports.SortUsernameDesc, byName},
			"created_to_username": {ports.SortUsernameAsc, byCreated},
			"username_to_created": {ports.SortCreatedAsc, byName},
			"huge":                {ports.SortCreatedAsc, strings.Repeat("A", 100000)},
		}
		for name, c := range cases {
			_, _, err := s.Directory.List(ctx, ports.UserFilter{Sort: c.sort}, ports.Page{Cursor: c.cursor})
			AssertInvalidField(t, err, "cursor", name)
		}

		_, _, err = s.Directory.List(ctx, ports.UserFilter{Sort: "password_hash"}, ports.Page{})
		assert.Equal(t, domain.KindInvalid, domain.KindOf(err), "an unknown sort")
	})

	t.Run("limit_defaults_to_50_and_is_capped_at_200", func(t *testing.T) {
		s := newStore(t)
		require.NoError(t, s.Tx.WithinTx(ctx, func(ctx context.Context) error {
			for i := range 201 {
				if err := s.Users.Create(ctx, NewUser(fmt.Sprintf("bulk%03d", i))); err != nil {
					return err
				}
			}
			return nil
		}))
		got, next, err := s.Directory.List(ctx, ports.UserFilter{}, ports.Page{})
		require.NoError(t, err)
		assert.Len(t, got, 50)
		assert.NotEmpty(t, next)
		got, next, err = s.Directory.List(ctx, ports.UserFilter{}, ports.Page{Limit: -3})
		require.NoError(t, err)
		assert.Len(t, got, 50)
		assert.NotEmpty(t, next)
		got, next, err = s.Directory.List(ctx, ports.UserFilter{}, ports.Page{Limit: 10000})
		require.NoError(t, err)
		assert.Len(t, got, 200)
		require.NotEmpty(t, next)
		got, next, err = s.Directory.List(ctx, ports.UserFilter{}, ports.Page{Limit: 10000, Cursor: next})
		require.NoError(t, err)
		assert.Len(t, got, 1)
		assert.Empty(t, next)
	})

	t.Run("empty_store_lists_nothing", func(t *testing.T) {
		s := newStore(t)
		got, next, err := s.Directory.List(ctx, ports.UserFilter{}, ports.Page{})
		require.NoError(t, err)
		assert.Empty(t, got)
		assert.Empty(t, next)
	})

	t.Run("count_active_admins", func(t *testing.T) {
		s := newStore(t)
		n, err := s.Directory.CountActiveAdmins(ctx)
		require.NoError(t, err)
		assert.Zero(t, n)
		for i, active := range []bool{true, true, false} {
			u := Edit(NewUser(fmt.Sprintf("admin%d", i)), func(s *domain.UserState) {
				s.IsSystemAdmin, s.IsActive = true, active
			})
			require.NoError(t, s.Users.Create(ctx, u))
		}
		require.NoError(t, s.Users.Create(ctx, NewUser("plain")))
		n, err = s.Directory.CountActiveAdmins(ctx)
		require.NoError(t, err)
		assert.Equal(t, 2, n)
		require.NoError(t, s.Tx.WithinTx(ctx, func(ctx context.Context) error {
			n, err = s.Directory.CountActiveAdmins(ctx)
			return err
		}))
		assert.Equal(t, 2, n)
	})

	t.Run("count_active_admins_serialises_demotions", func(t *testing.T) {
		s := newStore(t)
		admins := make([]*domain.User, 2)
		for i := range admins {
			admins[i] = Edit(NewUser(fmt.Sprintf("boss%d", i)), func(s *domain.UserState) { s.IsSystemAdmin = true })
			require.NoError(t, s.Users.Create(ctx, admins[i]))
		}
		errLast := errors.New("last admin")
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, len(admins))
		for i, a := range admins {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[i] = s.Tx.WithinTx(ctx, func(ctx context.Context) error {
					n, err := s.Directory.CountActiveAdmins(ctx)
					if err != nil {
						return err
					}
					if n <= 1 {
						return errLast
					}
					time.Sleep(50 * time.Millisecond) // let the other check run now if it can
					u, err := s.Users.ByID(ctx, a.ID())
					if err != nil {
						return err
					}
					demote := false
					return s.Users.SetAccess(ctx, u.ID(), u.ChangeAccess(nil, &demote, nil, time.Now()))
				})
			}()
		}
		close(start)
		wg.Wait()
		demoted := 0
		for _, err := range errs {
			if err == nil {
				demoted++
				continue
			}
			assert.ErrorIs(t, err, errLast)
		}
		assert.Equal(t, 1, demoted, "exactly one of two concurrent demotions passes the check")
		n, err := s.Directory.CountActiveAdmins(ctx)
		require.NoError(t, err)
		assert.Equal(t, 1, n)
	})

	t.Run("numbered_pages_follow_creation_order_with_the_total", func(t *testing.T) {
		s := newStore(t)
		got, total, err := s.Directory.Numbered(ctx, 0, 10)
		require.NoError(t, err)
		assert.Empty(t, got)
		assert.Zero(t, total, "an empty store")

		users := seed(t, s) // created in ties of five, broken by id
		want := dirSorted(users, ports.SortCreatedAsc)
		for _, c := range []struct{ offset, limit, from, to int }{
			{0, 10, 0, 10}, {10, 10, 10, 20}, {20, 10, 20, 25}, {3, 4, 3, 7},
			{4, 2, 4, 6}, {0, 25, 0, 25}, {0, 100, 0, 25}, {24, 1, 24, 25},
			{25, 10, 25, 25}, {1000, 10, 25, 25},
		} {
			got, total, err := s.Directory.Numbered(ctx, c.offset, c.limit)
			require.NoError(t, err, "offset %d limit %d", c.offset, c.limit)
			assert.Equal(t, 25, total, "offset %d limit %d", c.offset, c.limit)
			if c.from == c.to {
				assert.Empty(t, got, "offset %d is past the end", c.offset)
				continue
			}
			assert.Equal(t, want[c.from:c.to], dirIDs(got), "offset %d limit %d", c.offset, c.limit)
		}

		var walked []uuid.UUID
		for offset := 0; offset < 25; offset += 7 {
			got, _, err := s.Directory.Numbered(ctx, offset, 7)
			require.NoError(t, err)
			walked = append(walked, dirIDs(got)...)
		}
		assert.Equal(t, want, walked, "pages neither skip nor repeat a user")

		got, _, err = s.Directory.Numbered(ctx, 0, 1)
		require.NoError(t, err)
		require.Len(t, got, 1)
		for _, u := range users {
			if u.ID() == got[0].ID() {
				assert.Equal(t, *u, got[0], "rows come back whole")
			}
		}
	})
}

// RunAuditQuery runs the contract of ports.AuditQuery against the store
// newStore returns; every subtest gets a fresh, empty store.
func RunAuditQuery(t *testing.T, newStore func(t *testing.T) AuditQueryStore) {
	ctx := context.Background()
	actorA, actorB := uuid.New(), uuid.New()
	orgA, orgB := uuid.New(), uuid.New()

	// seed records twelve events a minute apart, two of them at the same
	// instant as their neighbour, with actors, actions, organizations and
	// targets spread over them.
	seed := func(t *testing.T, s AuditQueryStore) []domain.AuditEvent {
		t.Helper()
		var events []domain.AuditEvent
		for i := range 12 {
			at := adminBase.Add(time.Duration(i) * time.Minute)
			if i == 4 || i == 8 {
				at = events[i-1].OccurredAt
			}
			e := domain.AuditEvent{
				ID: uuid.Must(uuid.NewV7()), OccurredAt: at, Action: []string{"user.a", "user.b", "org.c"}[i%3],
				TargetType: "user", TargetID: fmt.Sprintf("target-%d", i%4), Outcome: domain.OutcomeSuccess,
				Details: map[string]any{"i": fmt.Sprint(i)},
			}
			switch i % 3 {
			case 0:
				e.ActorID = &actorA
			case 1:
				e.ActorID = &actorB
			}
			switch i % 4 {
			case 0, 1:
				e.OrgID = &orgA
			case 2:
				e.OrgID = &orgB
			}
			require.NoError(t, s.Log.Record(ctx, e))
			events = append(events, e)
		}
		return events
	}
	list := func(t *testing.T, s AuditQueryStore, f ports.AuditFilter) []uuid.UUID {
		t.Helper()
		got, next, err := s.Query.List(ctx, f, ports.Page{Limit: 200})
		require.NoError(t, err)
		assert.Empty(t, next)
		return auditIDs(got)
	}

	t.Run("events_round_trip_newest_first", func(t *testing.T) {
		s := newStore(t)
		actor := uuid.New()
		e := domain.AuditEvent{
			ID: uuid.Must(uuid.NewV7()), OccurredAt: adminBase, ActorID: &actor, Action: "user.thing",
			TargetType: "user", TargetID: uuid.NewString(), OrgID: &orgA, Outcome: domain.OutcomeFailure,
			IP: "198.51.100.4", UserAgent: "curl/8", RequestID: "req-1",
			Details: map[string]any{"reason": "because", "flag": true},
		}
		require.NoError(t, s.Log.Record(ctx, e))
		got, next, err := s.Query.List(ctx, ports.AuditFilter{}, ports.Page{})
		require.NoError(t, err)
		assert.Empty(t, next)
		require.Len(t, got, 1)
		assert.Equal(t, e, got[0])
	})

	t.Run("each_filter_narrows", func(t *testing.T) {
		s := newStore(t)
		events := seed(t, s)
		since, until := events[3].OccurredAt, events[9].OccurredAt
		action := "user.b"
		for name, c := range map[string]struct {
			f    ports.AuditFilter
			keep func(domain.AuditEvent) bool
		}{
			"none":   {ports.AuditFilter{}, func(domain.AuditEvent) bool { return true }},
			"actor":  {ports.AuditFilter{ActorID: &actorA}, func(e domain.AuditEvent) bool { return e.ActorID != nil && *e.ActorID == actorA }},
			"action": {ports.AuditFilter{Action: action}, func(e domain.AuditEvent) bool { return e.Action == action }},
			"org":    {ports.AuditFilter{OrgID: &orgB}, func(e domain.AuditEvent) bool { return e.OrgID != nil && *e.OrgID == orgB }},
			"target": {ports.AuditFilter{TargetID: "target-1"}, func(e domain.AuditEvent) bool { return e.TargetID == "target-1" }},
			"since_inclusive": {ports.AuditFilter{Since: &since},
				func(e domain.AuditEvent) bool { return !e.OccurredAt.Before(since) }},
			"until_exclusive": {ports.AuditFilter{Until: &until},
				func(e domain.AuditEvent) bool { return e.OccurredAt.Before(until) }},
			"window": {ports.AuditFilter{Since: &since, Until: &until},
				func(e domain.AuditEvent) bool { return !e.OccurredAt.Before(since) && e.OccurredAt.Before(until) }},
			"combined": {ports.AuditFilter{ActorID: &actorB, OrgID: &orgA, Since: &since},
				func(e domain.AuditEvent) bool {
					return e.ActorID != nil && *e.ActorID == actorB && e.OrgID != nil && *e.OrgID == orgA && !e.OccurredAt.Before(since)
				}},
			"nothing": {ports.AuditFilter{Action: "no.such"}, func(domain.AuditEvent) bool { return false }},
		} {
			var want []domain.AuditEvent
			for _, e := range events {
				if c.keep(e) {
					want = append(want, e)
				}
			}
			assert.Equal(t, auditNewestFirst(want), list(t, s, c.f), name)
		}
		// The bounds hold to the microsecond.
		justAfter := since.Add(time.Microsecond)
		assert.NotContains(t, list(t, s, ports.AuditFilter{Since: &justAfter}), events[3].ID)
		assert.Contains(t, list(t, s, ports.AuditFilter{Until: &justAfter}), events[3].ID)
	})

	t.Run("pages_newest_first_with_ties_broken_by_id", func(t *testing.T) {
		s := newStore(t)
		events := seed(t, s)
		var got []uuid.UUID
		cursor, pages := "", 0
		for {
			page, next, err := s.Query.List(ctx, ports.AuditFilter{}, ports.Page{Limit: 5, Cursor: cursor})
			require.NoError(t, err)
			got = append(got, auditIDs(page)...)
			pages++
			if next == "" {
				break
			}
			require.Less(t, pages, 10, "paging does not end")
			cursor = next
		}
		assert.Equal(t, 3, pages)
		assert.Equal(t, auditNewestFirst(events), got)

		// A filtered list pages within its filter.
		var filtered []uuid.UUID
		cursor = ""
		for range 10 {
			page, next, err := s.Query.List(ctx, ports.AuditFilter{OrgID: &orgA}, ports.Page{Limit: 2, Cursor: cursor})
			require.NoError(t, err)
			filtered = append(filtered, auditIDs(page)...)
			if cursor = next; cursor == "" {
				break
			}
		}
		assert.Equal(t, list(t, s, ports.AuditFilter{OrgID: &orgA}), filtered)
	})

	t.Run("pages_stay_stable_as_events_arrive", func(t *testing.T) {
		s := newStore(t)
		events := seed(t, s)
		first, cursor, err := s.Query.List(ctx, ports.AuditFilter{}, ports.Page{Limit: 5})
		require.NoError(t, err)
		require.NotEmpty(t, cursor)
		at := first[len(first)-1]

		newer := domain.AuditEvent{ID: uuid.Must(uuid.NewV7()), OccurredAt: adminBase.Add(time.Hour), Action: "late", Outcome: domain.OutcomeSuccess}
		tie := domain.AuditEvent{ID: uuid.Must(uuid.NewV7()), OccurredAt: at.OccurredAt, Action: "late", Outcome: domain.OutcomeSuccess}
		older := domain.AuditEvent{ID: uuid.Must(uuid.NewV7()), OccurredAt: adminBase.Add(-time.Hour), Action: "backfill", Outcome: domain.OutcomeSuccess}
		for _, e := range []domain.AuditEvent{newer, tie, older} {
			require.NoError(t, s.Log.Record(ctx, e))
		}

		var rest []uuid.UUID
		for range 10 {
			page, next, err := s.Query.List(ctx, ports.AuditFilter{}, ports.Page{Limit: 5, Cursor: cursor})
			require.NoError(t, err)
			rest = append(rest, auditIDs(page)...)
			if cursor = next; cursor == "" {
				break
			}
		}
		seen := map[uuid.UUID]int{}
		for _, id := range append(auditIDs(first), rest...) {
			seen[id]++
		}
		for _, e := range events {
			assert.Equal(t, 1, seen[e.ID], "event %s", e.ID)
		}
		assert.Zero(t, seen[newer.ID], "newer than the cursor: on a page already read")
		assert.Zero(t, seen[tie.ID], "same instant, higher id: before the cursor")
		assert.Equal(t, 1, seen[older.ID], "older than the cursor: still ahead")
	})

	t.Run("bad_cursors_are_invalid", func(t *testing.T) {
		s := newStore(t)
		seed(t, s)
		_, good, err := s.Query.List(ctx, ports.AuditFilter{}, ports.Page{Limit: 2})
		require.NoError(t, err)
		require.NotEmpty(t, good)
		for name, cursor := range map[string]string{
			"not_base64":   "***",
			"not_json":     base64.RawURLEncoding.EncodeToString([]byte("[1,2]")),
			"empty_object": base64.RawURLEncoding.EncodeToString([]byte("{}")),
			"truncated":    good[:len(good)-3],
			"huge":         strings.Repeat("A", 100000),
		} {
			_, _, err := s.Query.List(ctx, ports.AuditFilter{}, ports.Page{Cursor: cursor})
			AssertInvalidField(t, err, "cursor", name)
		}
	})

	t.Run("limit_defaults_to_50_and_is_capped_at_200", func(t *testing.T) {
		s := newStore(t)
		require.NoError(t, s.Tx.WithinTx(ctx, func(ctx context.Context) error {
			for i := range 201 {
				e := domain.AuditEvent{ID: uuid.Must(uuid.NewV7()), OccurredAt: adminBase.Add(time.Duration(i) * time.Second),
					Action: "bulk", Outcome: domain.OutcomeSuccess}
				if err := s.Log.Record(ctx, e); err != nil {
					return err
				}
			}
			return nil
		}))
		got, next, err := s.Query.List(ctx, ports.AuditFilter{}, ports.Page{})
		require.NoError(t, err)
		assert.Len(t, got, 50)
		assert.NotEmpty(t, next)
		got, next, err = s.Query.List(ctx, ports.AuditFilter{}, ports.Page{Limit: 500})
		require.NoError(t, err)
		assert.Len(t, got, 200)
		require.NotEmpty(t, next)
		got, next, err = s.Query.List(ctx, ports.AuditFilter{}, ports.Page{Limit: 500, Cursor: next})
		require.NoError(t, err)
		assert.Len(t, got, 1)
		assert.Empty(t, next)
	})

	t.Run("delete_before_drops_only_older_events", func(t *testing.T) {
		s := newStore(t)
		events := seed(t, s)
		cutoff := events[5].OccurredAt
		var want []domain.AuditEvent
		older := 0
		for _, e := range events {
			if e.OccurredAt.Before(cutoff) {
				older++
			} else {
				want = append(want, e)
			}
		}
		n, err := s.Query.DeleteBefore(ctx, cutoff)
		require.NoError(t, err)
		assert.Equal(t, int64(older), n)
		assert.Equal(t, auditNewestFirst(want), list(t, s, ports.AuditFilter{}), "the event at the cutoff stays")

		n, err = s.Query.DeleteBefore(ctx, cutoff)
		require.NoError(t, err)
		assert.Zero(t, n)
	})
}

// RunPersonalData runs the contract of ports.PersonalData against the
// store newStore returns; every subtest gets a fresh, empty store.
func RunPersonalData(t *testing.T, newStore func(t *testing.T) PersonalDataStore) {
	ctx := context.Background()
	// world is a subject with a row of every kind, and a bystander whose
	// rows touch the subject's (a grant given by the subject, audit events
	// naming both) and must survive the subject's erasure.
	type world struct {
		subject, bystander       *domain.User
		sessions                 []domain.Session
		refresh                  []domain.RefreshToken
		memberships              []domain.Membership
		grant, givenBySubject    domain.Grant
		events                   map[string]domain.AuditEvent
		newAddress               string
		bystanderSession         domain.Session
		subjectMails, otherMails []uuid.UUID
		subjectToken, otherToken domain.OneTimeToken
	}
	build := func(t *testing.T, s PersonalDataStore) world {
		t.Helper()
		w := world{subject: NewUser("Subject"), bystander: NewUser("bystander"), events: map[string]domain.AuditEvent{}}
		w.subject = Edit(w.subject, func(s *domain.UserState) { s.LastLogin.IP, s.LastLogin.UserAgent = "203.0.113.5", "Firefox" })
		require.NoError(t, s.Users.Create(ctx, w.subject))
		require.NoError(t, s.Users.Create(ctx, w.bystander))
		sub, by := w.subject.ID(), w.bystander.ID()

		for i := range 2 {
			sess, tok := newSession(sub, adminBase.Add(time.Duration(i)*time.Minute))
			require.NoError(t, s.Sessions.Create(ctx, sess, tok))
			w.sessions, w.refresh = append(w.sessions, sess), append(w.refresh, tok)
		}
		revokedAt := adminBase.Add(time.Hour)
		ok, err := s.Sessions.Revoke(ctx, w.sessions[0].ID, revokedAt, domain.RevokeLogout)
		require.NoError(t, err)
		require.True(t, ok)
		w.sessions[0].RevokedAt, w.sessions[0].RevokeReason = &revokedAt, domain.RevokeLogout
		var byTok domain.RefreshToken
		w.bystanderSession, byTok = newSession(by, adminBase)
		require.NoError(t, s.Sessions.Create(ctx, w.bystanderSession, byTok))

		w.newAddress = "subject-new@example.org"
		w.subjectToken = newOneTimeToken(sub, domain.PurposeEmailVerify, adminBase)
		w.subjectToken.Payload = w.newAddress
		require.NoError(t, s.Tokens.Create(ctx, w.subjectToken))
		require.NoError(t, s.Tokens.Create(ctx, newOneTimeToken(sub, domain.PurposePasswordReset, adminBase)))
		w.otherToken = newOneTimeToken(by, domain.PurposePasswordReset, adminBase)
		require.NoError(t, s.Tokens.Create(ctx, w.otherToken))

		require.NoError(t, s.History.Add(ctx, uuid.New(), sub, "old-hash-1", adminBase))
		require.NoError(t, s.History.Add(ctx, uuid.New(), sub, "old-hash-2", adminBase.Add(time.Second)))
		require.NoError(t, s.History.Add(ctx, uuid.New(), by, "their-hash", adminBase))
		require.NoError(t, s.Codes.Replace(ctx, sub, codeHashes(3), adminBase))
		require.NoError(t, s.Codes.Replace(ctx, by, codeHashes(2), adminBase))

		for _, key := range []string{"user:" + sub.String(), "user:" + by.String()} {
			ok, _, err := s.Throttle.Reserve(ctx, key, adminBase)
			require.NoError(t, err)
			require.True(t, ok)
			_, err = s.Throttle.Fail(ctx, key, adminBase)
			require.NoError(t, err)
		}

		for _, to := range []string{w.subject.Email().String(), w.newAddress} {
			m := OutboxTestMail()
			m.To = to
			id := uuid.New()
			require.NoError(t, s.Outbox.Enqueue(ctx, id, m, adminBase))
			w.subjectMails = append(w.subjectMails, id)
		}
		m := OutboxTestMail()
		m.To = w.bystander.Email().String()
		id := uuid.New()
		require.NoError(t, s.Outbox.Enqueue(ctx, id, m, adminBase))
		w.otherMails = append(w.otherMails, id)

		orgA, orgB := uuid.New(), uuid.New()
		for i, m := range []domain.Membership{
			{OrgID: orgA, UserID: sub, Role: domain.RoleAdmin},
			{OrgID: orgB, UserID: sub, Role: domain.RoleViewer},
			{OrgID: orgA, UserID: by, Role: domain.RoleMember},
		} {
			m.CreatedAt = adminBase.Add(time.Duration(i) * time.Second)
			m.UpdatedAt = m.CreatedAt
			require.NoError(t, s.AddMembership(ctx, m))
			if m.UserID == sub {
				w.memberships = append(w.memberships, m)
			}
		}
		exp := adminBase.Add(48 * time.Hour)
		w.grant = domain.Grant{ID: uuid.Must(uuid.NewV7()), OrgID: orgA, UserID: sub, Permission: "lab.patient.read",
			IsActive: true, ExpiresAt: &exp, GrantedBy: &by, CreatedAt: adminBase}
		w.givenBySubject = domain.Grant{ID: uuid.Must(uuid.NewV7()), OrgID: orgA, UserID: by, Permission: "lab.patient.write",
			IsActive: true, GrantedBy: &sub, CreatedAt: adminBase}
		require.NoError(t, s.AddGrant(ctx, w.grant))
		require.NoError(t, s.AddGrant(ctx, w.givenBySubject))

		// Events about the user may carry the user's email in details.
		event := func(name string, at time.Duration, actor *uuid.UUID, target string, email domain.Email) {
			e := domain.AuditEvent{ID: uuid.Must(uuid.NewV7()), OccurredAt: adminBase.Add(at), ActorID: actor,
				Action: "test." + name, TargetType: "user", TargetID: target, OrgID: &orgA, Outcome: domain.OutcomeSuccess,
				IP: "192.0.2.9", Details: map[string]any{"email": email.String(), "note": name}}
			require.NoError(t, s.Log.Record(ctx, e))
			w.events[name] = e
		}
		event("self", 1*time.Second, &sub, sub.String(), w.subject.Email())
		event("done_to_subject", 2*time.Second, &by, sub.String(), w.subject.Email())
		event("done_by_subject", 3*time.Second, &sub, by.String(), w.bystander.Email())
		event("unrelated", 4*time.Second, &by, by.String(), w.bystander.Email())
		event("anonymous", 5*time.Second, nil, "", w.bystander.Email())
		return w
	}
	eventIDs := func(w world, names ...string) []uuid.UUID {
		ids := make([]uuid.UUID, len(names))
		for i, n := range names {
			ids[i] = w.events[n].ID
		}
		return ids
	}
	audit := func(t *testing.T, s PersonalDataStore, f ports.AuditFilter) []domain.AuditEvent {
		t.Helper()
		got, _, err := s.Audit.List(ctx, f, ports.Page{Limit: 200})
		require.NoError(t, err)
		return got
	}

	t.Run("export_returns_every_row_about_the_user", func(t *testing.T) {
		s := newStore(t)
		w := build(t, s)
		got, err := s.PersonalData.Export(ctx, w.subject.ID())
		require.NoError(t, err)

		assert.Equal(t, *w.subject, got.User)
		assert.Equal(t, w.sessions, got.Sessions, "every session, revoked ones too, oldest first")
		assert.ElementsMatch(t, w.memberships, got.Memberships)
		assert.Equal(t, []domain.Grant{w.grant}, got.Grants, "with the permission's name")
		assert.ElementsMatch(t, eventIDs(w, "self", "done_to_subject", "done_by_subject"), auditIDs(got.AuditEvents),
			"events the user did and events done to the user")
		for _, e := range got.AuditEvents {
			assert.Equal(t, w.events[strings.TrimPrefix(e.Action, "test.")], e)
		}
	})

	t.Run("export_of_a_bare_user_has_empty_lists", func(t *testing.T) {
		s := newStore(t)
		u := NewUser("loner")
		require.NoError(t, s.Users.Create(ctx, u))
		got, err := s.PersonalData.Export(ctx, u.ID())
		require.NoError(t, err)
		assert.Equal(t, *u, got.User)
		assert.Empty(t, got.Sessions)
		assert.Empty(t, got.Memberships)
		assert.Empty(t, got.Grants)
		assert.Empty(t, got.AuditEvents)
	})

	t.Run("unknown_user_is_not_found", func(t *testing.T) {
		s := newStore(t)
		_, err := s.PersonalData.Export(ctx, uuid.New())
		assert.ErrorIs(t, err, domain.ErrUserNotFound)
		assert.ErrorIs(t, s.PersonalData.Erase(ctx, uuid.New(), uuid.New()), domain.ErrUserNotFound)
	})

	t.Run("erase_leaves_no_row_naming_the_user", func(t *testing.T) {
		s := newStore(t)
		w := build(t, s)
		sub, by := w.subject.ID(), w.bystander.ID()
		before, err := s.Leftovers(ctx, *w.subject)
		require.NoError(t, err)
		require.Positive(t, adminSum(before), "Leftovers sees the user's rows before the erasure")

		pseudonym := uuid.New()
		require.NoError(t, s.PersonalData.Erase(ctx, sub, pseudonym))

		after, err := s.Leftovers(ctx, *w.subject)
		require.NoError(t, err)
		for place, n := range after {
			assert.Zero(t, n, "%s still names the erased user", place)
		}

		_, err = s.Users.ByID(ctx, sub)
		assert.ErrorIs(t, err, domain.ErrUserNotFound)
		for i, sess := range w.sessions {
			_, err := s.Sessions.ByID(ctx, sess.ID)
			assert.ErrorIs(t, err, domain.ErrSessionNotFound)
			_, err = s.Sessions.RefreshTokenByHash(ctx, w.refresh[i].Hash)
			assert.ErrorIs(t, err, domain.ErrInvalidToken)
		}
		hashes, err := s.History.Recent(ctx, sub, 10)
		require.NoError(t, err)
		assert.Empty(t, hashes)
		codes, err := s.Codes.Remaining(ctx, sub)
		require.NoError(t, err)
		assert.Zero(t, codes)
		_, err = s.Tokens.Consume(ctx, w.subjectToken.Purpose, w.subjectToken.Hash, adminBase)
		assert.ErrorIs(t, err, domain.ErrInvalidToken)
		claimed, err := s.Outbox.Claim(ctx, adminBase.Add(time.Minute), time.Minute, 100)
		require.NoError(t, err)
		assert.Equal(t, w.otherMails, outboxIDs(claimed), "mail to the user's addresses is gone, other mail stays")

		// The audit trail keeps the events under the pseudonym, without
		// the details that could tell who it was.
		assert.Empty(t, audit(t, s, ports.AuditFilter{ActorID: &sub}))
		assert.Empty(t, audit(t, s, ports.AuditFilter{TargetID: sub.String()}))
		asActor := audit(t, s, ports.AuditFilter{ActorID: &pseudonym})
		assert.ElementsMatch(t, eventIDs(w, "self", "done_by_subject"), auditIDs(asActor))
		asTarget := audit(t, s, ports.AuditFilter{TargetID: pseudonym.String()})
		assert.ElementsMatch(t, eventIDs(w, "self", "done_to_subject"), auditIDs(asTarget))
		for _, e := range append(asActor, asTarget...) {
			assert.Empty(t, e.Details, "event %s keeps details", e.Action)
			orig := w.events[strings.TrimPrefix(e.Action, "test.")]
			assert.Equal(t, orig.Action, e.Action)
			assert.True(t, orig.OccurredAt.Equal(e.OccurredAt))
		}
		all := audit(t, s, ports.AuditFilter{})
		assert.Len(t, all, len(w.events), "no event is deleted")
		for _, e := range all {
			if e.ID == w.events["unrelated"].ID || e.ID == w.events["anonymous"].ID {
				assert.Equal(t, w.events[strings.TrimPrefix(e.Action, "test.")], e, "events not about the user stay as they were")
			}
		}

		// The bystander keeps everything; the grant the erased user gave
		// stays, without its granter.
		theirs, err := s.PersonalData.Export(ctx, by)
		require.NoError(t, err)
		assert.Equal(t, []uuid.UUID{w.bystanderSession.ID}, sessionIDs(theirs.Sessions))
		assert.Len(t, theirs.Memberships, 1)
		require.Len(t, theirs.Grants, 1)
		assert.Equal(t, w.givenBySubject.ID, theirs.Grants[0].ID)
		assert.Nil(t, theirs.Grants[0].GrantedBy)
		hashes, err = s.History.Recent(ctx, by, 10)
		require.NoError(t, err)
		assert.Equal(t, []string{"their-hash"}, hashes)
		codes, err = s.Codes.Remaining(ctx, by)
		require.NoError(t, err)
		assert.Equal(t, 2, codes)
		_, err = s.Tokens.Consume(ctx, w.otherToken.Purpose, w.otherToken.Hash, adminBase)
		assert.NoError(t, err)
		left, err := s.Leftovers(ctx, *w.bystander)
		require.NoError(t, err)
		assert.Positive(t, adminSum(left))

		assert.ErrorIs(t, s.PersonalData.Erase(ctx, sub, uuid.New()), domain.ErrUserNotFound, "a second erasure")
		_, err = s.PersonalData.Export(ctx, sub)
		assert.ErrorIs(t, err, domain.ErrUserNotFound)
	})

	t.Run("erase_joins_the_transaction_in_ctx", func(t *testing.T) {
		s := newStore(t)
		w := build(t, s)
		boom := errors.New("boom")
		err := s.Tx.WithinTx(ctx, func(ctx context.Context) error {
			require.NoError(t, s.PersonalData.Erase(ctx, w.subject.ID(), uuid.New()))
			_, err := s.Users.ByID(ctx, w.subject.ID())
			assert.ErrorIs(t, err, domain.ErrUserNotFound, "gone inside the transaction")
			return boom
		})
		require.ErrorIs(t, err, boom)

		got, err := s.PersonalData.Export(ctx, w.subject.ID())
		require.NoError(t, err, "the rollback brings the user back")
		assert.Len(t, got.Sessions, 2)
		assert.Len(t, got.AuditEvents, 3)
		for _, e := range got.AuditEvents {
			assert.NotEmpty(t, e.Details)
		}

		pseudonym := uuid.New()
		require.NoError(t, s.Tx.WithinTx(ctx, func(ctx context.Context) error {
			return s.PersonalData.Erase(ctx, w.subject.ID(), pseudonym)
		}))
		_, err = s.Users.ByID(ctx, w.subject.ID())
		assert.ErrorIs(t, err, domain.ErrUserNotFound)
		assert.Len(t, audit(t, s, ports.AuditFilter{ActorID: &pseudonym}), 2)
	})
}

// AssertInvalidField checks err is a KindInvalid error naming field.
func AssertInvalidField(t *testing.T, err error, field string, msgAndArgs ...any) {
	t.Helper()
	var de *domain.Error
	if !assert.ErrorAs(t, err, &de, msgAndArgs...) {
		return
	}
	assert.Equal(t, domain.KindInvalid, de.Kind, msgAndArgs...)
	if assert.Len(t, de.Fields, 1, msgAndArgs...) {
		assert.Equal(t, field, de.Fields[0].Field, msgAndArgs...)
	}
}

// dirWalk follows a list from cursor to its end, page by page.
func dirWalk(t *testing.T, d ports.UserDirectory, f ports.UserFilter, limit int, cursor string) [][]domain.User {
	t.Helper()
	var pages [][]domain.User
	for {
		page, next, err := d.List(context.Background(), f, ports.Page{Limit: limit, Cursor: cursor})
		require.NoError(t, err)
		if len(page) > 0 {
			pages = append(pages, page)
		}
		if next == "" {
			return pages
		}
		require.Less(t, len(pages), 1000, "paging does not end")
		require.NotEmpty(t, page, "a cursor after an empty page")
		cursor = next
	}
}

func dirFlat(pages [][]domain.User) []domain.User {
	var out []domain.User
	for _, p := range pages {
		out = append(out, p...)
	}
	return out
}

func dirIDs(us []domain.User) []uuid.UUID {
	ids := make([]uuid.UUID, len(us))
	for i, u := range us {
		ids[i] = u.ID()
	}
	return ids
}

func dirIDsOf(us []*domain.User) []uuid.UUID {
	ids := make([]uuid.UUID, len(us))
	for i, u := range us {
		ids[i] = u.ID()
	}
	return ids
}

// dirLess orders users as srt does: by the lower-cased username or email
// or by creation, then by id.
func dirLess(a, b *domain.User, srt ports.UserSort) bool {
	var c int
	switch strings.TrimPrefix(string(srt), "-") {
	case "username":
		c = strings.Compare(strings.ToLower(a.Username().String()), strings.ToLower(b.Username().String()))
	case "email":
		c = strings.Compare(a.Email().String(), b.Email().String())
	default:
		c = a.CreatedAt().Compare(b.CreatedAt())
	}
	if c == 0 {
		c = strings.Compare(a.ID().String(), b.ID().String())
	}
	if strings.HasPrefix(string(srt), "-") {
		c = -c
	}
	return c < 0
}

func dirSorted(us []*domain.User, srt ports.UserSort) []uuid.UUID {
	sorted := append([]*domain.User(nil), us...)
	sort.Slice(sorted, func(i, j int) bool { return dirLess(sorted[i], sorted[j], srt) })
	return dirIDsOf(sorted)
}

func auditIDs(es []domain.AuditEvent) []uuid.UUID {
	ids := make([]uuid.UUID, len(es))
	for i, e := range es {
		ids[i] = e.ID
	}
	return ids
}

// auditNewestFirst orders events as the audit query does.
func auditNewestFirst(es []domain.AuditEvent) []uuid.UUID {
	sorted := append([]domain.AuditEvent(nil), es...)
	sort.Slice(sorted, func(i, j int) bool {
		if c := sorted[i].OccurredAt.Compare(sorted[j].OccurredAt); c != 0 {
			return c > 0
		}
		return uuidLess(sorted[j].ID, sorted[i].ID)
	})
	return auditIDs(sorted)
}

func adminSum(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

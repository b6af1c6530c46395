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

// ServiceAccountStore is what the service account contract suite needs
// from an adapter: its three ports, and the users, organizations,
// memberships, clients and sessions an account is made of.
type ServiceAccountStore struct {
	Accounts ports.ServiceAccountRepository
	Keys     ports.ServiceAccountKeyRepository
	Ledger   ports.AssertionLedger
	Users    ports.UserRepository
	Orgs     ports.OrgRepository
	Members  ports.MembershipRepository
	Clients  ports.OAuthClientRepository
	Sessions ports.SessionRepository
	Tx       ports.TxManager
}

// saBase is a fixed instant in whole microseconds.
var saBase = time.Date(2030, 9, 10, 11, 12, 13, 456789000, time.UTC)

// NewTestServiceAccount stores a service account of org with role, as
// the use case makes one (users row, account, membership, client with a
// secret), created at, and returns it.
func NewTestServiceAccount(t *testing.T, s ServiceAccountStore, org uuid.UUID, name string, role domain.Role, at time.Time) domain.ServiceAccount {
	t.Helper()
	ctx := context.Background()
	id := uuid.Must(uuid.NewV7())
	username := domain.MustUsername("sa-" + uuid.NewString()[:13])
	a := domain.ServiceAccount{ID: id, OrgID: org, Name: name, Description: "does " + name, CreatedAt: at, UpdatedAt: at}
	client := domain.OAuthClient{ID: id.String(), Name: "sa", SecretHash: oauthHash(), RedirectURIs: []string{},
		PostLogoutRedirectURIs: []string{}, GrantTypes: []string{domain.GrantClientCredentials}, CreatedAt: at,
		UpdatedAt: at, ServiceAccountID: &id}
	require.NoError(t, s.Tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := s.Users.Create(ctx, domain.NewServiceAccountUser(id, username, "!", at)); err != nil {
			return err
		}
		if err := s.Accounts.Create(ctx, a, testServiceAccountLimit); err != nil {
			return err
		}
		if err := s.Members.Add(ctx, domain.Membership{OrgID: org, UserID: id, Role: role, CreatedAt: at, UpdatedAt: at}); err != nil {
			return err
		}
		return s.Clients.Create(ctx, client)
	}))
	a.Username, a.IsActive, a.Role, a.HasSecret = username.String(), true, role, true
	return a
}

// testServiceAccountLimit is the per-organization limit of tests not
// about it.
const testServiceAccountLimit = 1000

// newTestKey is an unstored key of account; its kid and thumbprint are
// unique.
func newTestKey(account uuid.UUID, at time.Time) domain.ServiceAccountKey {
	kid := uuid.NewString()
	return domain.ServiceAccountKey{
		ClientPublicKey: domain.ClientPublicKey{KID: kid, Algorithm: "EdDSA",
			JWK: []byte(`{"kty":"OKP","crv":"Ed25519","x":"` + kid + `"}`), Thumbprint: "tp-" + kid},
		AccountID: account, CreatedAt: at,
	}
}

// RunServiceAccounts runs the contracts of ports.ServiceAccountRepository,
// ports.ServiceAccountKeyRepository and ports.AssertionLedger.
func RunServiceAccounts(t *testing.T, newStore func(t *testing.T) ServiceAccountStore) {
	t.Run("accounts", func(t *testing.T) { runServiceAccountRepository(t, newStore) })
	t.Run("keys", func(t *testing.T) { runServiceAccountKeys(t, newStore) })
	t.Run("ledger", func(t *testing.T) { runAssertionLedger(t, newStore) })
	t.Run("tokens", func(t *testing.T) { runServiceTokens(t, newStore) })
}

// saWorld is a store with one organization.
func saWorld(t *testing.T, newStore func(t *testing.T) ServiceAccountStore) (ServiceAccountStore, domain.Organization) {
	t.Helper()
	s := newStore(t)
	org := NewOrg("sa-"+uuid.NewString()[:8], saBase)
	require.NoError(t, s.Orgs.Create(context.Background(), org))
	return s, org
}

func runServiceAccountRepository(t *testing.T, newStore func(t *testing.T) ServiceAccountStore) {
	ctx := context.Background()

	t.Run("round_trip_with_the_facts_of_its_other_rows", func(t *testing.T) {
		s, org := saWorld(t, newStore)
		a := NewTestServiceAccount(t, s, org.ID, "Billing export", domain.RoleMember, saBase)
		got, err := s.Accounts.ByID(ctx, a.ID)
		require.NoError(t, err)
		assert.Equal(t, a, got)

		u, err := s.Users.ByID(ctx, a.ID)
		require.NoError(t, err)
		assert.True(t, u.IsServiceAccount())
		assert.Equal(t, domain.UserKindService, u.Kind())
		assert.Equal(t, a.Username+"@"+domain.ServiceAccountEmailDomain, u.Email().String())
		assert.True(t, u.Email().Reserved())

		c, err := s.Clients.ByID(ctx, a.ClientID())
		require.NoError(t, err)
		require.NotNil(t, c.ServiceAccountID)
		assert.Equal(t, a.ID, *c.ServiceAccountID)
	})

	t.Run("never_found_by_login", func(t *testing.T) {
		s, org := saWorld(t, newStore)
		a := NewTestServiceAccount(t, s, org.ID, "robot", domain.RoleViewer, saBase)
		for _, login := range []string{a.Username, a.Username + "@" + domain.ServiceAccountEmailDomain} {
			_, err := s.Users.ByLogin(ctx, login)
			assert.ErrorIs(t, err, domain.ErrUserNotFound, login)
		}
		person := NewUser("human" + uuid.NewString()[:6])
		require.NoError(t, s.Users.Create(ctx, person))
		got, err := s.Users.ByLogin(ctx, person.Username().String())
		require.NoError(t, err)
		assert.Equal(t, domain.UserKindPerson, got.Kind())
	})

	t.Run("role_and_secret_follow_the_other_rows", func(t *testing.T) {
		s, org := saWorld(t, newStore)
		a := NewTestServiceAccount(t, s, org.ID, "robot", domain.RoleAdmin, saBase)
		require.NoError(t, s.Clients.SetSecret(ctx, a.ClientID(), nil, saBase))
		require.NoError(t, s.Members.Remove(ctx, org.ID, a.ID))
		got, err := s.Accounts.ByID(ctx, a.ID)
		require.NoError(t, err)
		assert.False(t, got.HasSecret)
		assert.Equal(t, domain.Role(""), got.Role)
	})

	t.Run("names_are_unique_per_organization_case_insensitively", func(t *testing.T) {
		s, org := saWorld(t, newStore)
		NewTestServiceAccount(t, s, org.ID, "Deployer", domain.RoleMember, saBase)
		dup := domain.ServiceAccount{ID: uuid.New(), OrgID: org.ID, Name: "DEPLOYER", CreatedAt: saBase, UpdatedAt: saBase}
		err := s.Tx.WithinTx(ctx, func(ctx context.Context) error {
			if err := s.Users.Create(ctx, domain.NewServiceAccountUser(dup.ID, domain.MustUsername("sa-dup"+uuid.NewString()[:6]), "!", saBase)); err != nil {
				return err
			}
			return s.Accounts.Create(ctx, dup, testServiceAccountLimit)
		})
		assert.ErrorIs(t, err, domain.ErrServiceAccountNameTaken)
		_, err = s.Users.ByID(ctx, dup.ID)
		assert.ErrorIs(t, err, domain.ErrUserNotFound, "the transaction rolled back")

		other := NewOrg("other-"+uuid.NewString()[:8], saBase)
		require.NoError(t, s.Orgs.Create(ctx, other))
		NewTestServiceAccount(t, s, other.ID, "deployer", domain.RoleMember, saBase)

		b := NewTestServiceAccount(t, s, org.ID, "Builder", domain.RoleMember, saBase)
		assert.ErrorIs(t, s.Accounts.Update(ctx, b.ID, domain.ServiceAccountChange{Name: ptr("deployer"), At: saBase}),
			domain.ErrServiceAccountNameTaken)
	})

	t.Run("concurrent_creations_never_pass_the_organizations_limit", func(t *testing.T) {
		s, org := saWorld(t, newStore)
		other := NewOrg("other-"+uuid.NewString()[:8], saBase)
		require.NoError(t, s.Orgs.Create(ctx, other))
		const limit, racers = 3, 8
		create := func(org uuid.UUID) error {
			a := domain.ServiceAccount{ID: uuid.Must(uuid.NewV7()), OrgID: org, Name: "racer " + uuid.NewString(),
				CreatedAt: saBase, UpdatedAt: saBase}
			return s.Tx.WithinTx(ctx, func(ctx context.Context) error {
				if err := s.Users.Create(ctx, domain.NewServiceAccountUser(a.ID, domain.MustUsername("sa-"+uuid.NewString()[:13]), "!", saBase)); err != nil {
					return err
				}
				return s.Accounts.Create(ctx, a, limit)
			})
		}
		orgs := []uuid.UUID{org.ID, other.ID}
		errs := oauthRace(racers*len(orgs), func(i int) error { return create(orgs[i%len(orgs)]) })
		made := 0
		for _, err := range errs {
			if err == nil {
				made++
				continue
			}
			require.ErrorIs(t, err, domain.ErrTooManyServiceAccounts)
		}
		assert.Equal(t, limit*len(orgs), made, "each organization fills to its limit, no further")
		for _, id := range orgs {
			page, _, err := s.Accounts.List(ctx, ports.ServiceAccountFilter{OrgID: &id}, ports.Page{Limit: 100})
			require.NoError(t, err)
			assert.Len(t, page, limit)
		}
	})

	t.Run("missing_accounts_are_not_found", func(t *testing.T) {
		s, _ := saWorld(t, newStore)
		_, err := s.Accounts.ByID(ctx, uuid.New())
		assert.ErrorIs(t, err, domain.ErrServiceAccountNotFound)
		assert.ErrorIs(t, s.Accounts.Update(ctx, uuid.New(), domain.ServiceAccountChange{Name: ptr("x"), At: saBase}),
			domain.ErrServiceAccountNotFound)
		assert.ErrorIs(t, s.Accounts.Delete(ctx, uuid.New()), domain.ErrServiceAccountNotFound)

		person := NewUser("notsa" + uuid.NewString()[:6])
		require.NoError(t, s.Users.Create(ctx, person))
		assert.ErrorIs(t, s.Accounts.Delete(ctx, person.ID()), domain.ErrServiceAccountNotFound)
		_, err = s.Users.ByID(ctx, person.ID())
		assert.NoError(t, err, "a person is never deleted as a service account")
	})

	t.Run("update_writes_only_what_it_names", func(t *testing.T) {
		s, org := saWorld(t, newStore)
		a := NewTestServiceAccount(t, s, org.ID, "robot", domain.RoleMember, saBase)
		later := saBase.Add(time.Minute)
		require.NoError(t, s.Accounts.Update(ctx, a.ID, domain.ServiceAccountChange{Description: ptr("new words"), At: later}))
		got, err := s.Accounts.ByID(ctx, a.ID)
		require.NoError(t, err)
		assert.Equal(t, "robot", got.Name)
		assert.Equal(t, "new words", got.Description)
		assert.Equal(t, later, got.UpdatedAt)
	})

	t.Run("concurrent_updates_of_different_fields_all_stay", func(t *testing.T) {
		s, org := saWorld(t, newStore)
		a := NewTestServiceAccount(t, s, org.ID, "racer", domain.RoleMember, saBase)
		for round := range 15 {
			name, desc, active := fmt.Sprintf("racer %d", round), fmt.Sprintf("round %d", round), round%2 == 0
			errs := oauthRace(3, func(i int) error {
				return s.Tx.WithinTx(ctx, func(ctx context.Context) error {
					at := saBase.Add(time.Duration(round) * time.Second)
					switch i {
					case 0:
						return s.Accounts.Update(ctx, a.ID, domain.ServiceAccountChange{Name: &name, At: at})
					case 1:
						return s.Accounts.Update(ctx, a.ID, domain.ServiceAccountChange{Description: &desc, At: at})
					default:
						u, err := s.Users.ByID(ctx, a.ID)
						if err != nil {
							return err
						}
						return s.Users.SetAccess(ctx, a.ID, u.ChangeAccess(&active, nil, nil, at))
					}
				})
			})
			for _, err := range errs {
				require.NoError(t, err)
			}
			got, err := s.Accounts.ByID(ctx, a.ID)
			require.NoError(t, err)
			assert.Equal(t, name, got.Name, "round %d", round)
			assert.Equal(t, desc, got.Description, "round %d", round)
			assert.Equal(t, active, got.IsActive, "round %d", round)
		}
	})

	t.Run("delete_takes_every_row_of_the_account", func(t *testing.T) {
		s, org := saWorld(t, newStore)
		a := NewTestServiceAccount(t, s, org.ID, "doomed", domain.RoleMember, saBase)
		keep := NewTestServiceAccount(t, s, org.ID, "kept", domain.RoleMember, saBase)
		require.NoError(t, s.Keys.Add(ctx, newTestKey(a.ID, saBase), 10))
		sess, tok := newSession(a.ID, saBase)
		require.NoError(t, s.Sessions.Create(ctx, sess, tok))

		require.NoError(t, s.Accounts.Delete(ctx, a.ID))
		_, err := s.Accounts.ByID(ctx, a.ID)
		assert.ErrorIs(t, err, domain.ErrServiceAccountNotFound)
		_, err = s.Users.ByID(ctx, a.ID)
		assert.ErrorIs(t, err, domain.ErrUserNotFound)
		_, err = s.Clients.ByID(ctx, a.ClientID())
		assert.ErrorIs(t, err, domain.ErrOAuthClientNotFound)
		_, err = s.Members.Get(ctx, org.ID, a.ID)
		assert.ErrorIs(t, err, domain.ErrMembershipNotFound)
		keys, err := s.Keys.List(ctx, a.ID)
		require.NoError(t, err)
		assert.Empty(t, keys)
		_, err = s.Sessions.ByID(ctx, sess.ID)
		assert.ErrorIs(t, err, domain.ErrSessionNotFound)
		_, err = s.Accounts.TokenState(ctx, sess.ID)
		assert.ErrorIs(t, err, domain.ErrSessionNotFound)

		_, err = s.Accounts.ByID(ctx, keep.ID)
		assert.NoError(t, err, "the other account stays")
		assert.ErrorIs(t, s.Accounts.Delete(ctx, a.ID), domain.ErrServiceAccountNotFound)
	})

	t.Run("list_pages_oldest_first_and_filters_by_organization", func(t *testing.T) {
		s, org := saWorld(t, newStore)
		other := NewOrg("list-"+uuid.NewString()[:8], saBase)
		require.NoError(t, s.Orgs.Create(ctx, other))
		var want []uuid.UUID
		for i := range 5 {
			// Created out of id order: the list follows created_at.
			a := NewTestServiceAccount(t, s, org.ID, fmt.Sprintf("acct %d", i), domain.RoleViewer, saBase.Add(time.Duration(5-i)*time.Minute))
			want = append([]uuid.UUID{a.ID}, want...)
		}
		NewTestServiceAccount(t, s, other.ID, "elsewhere", domain.RoleViewer, saBase)

		var got []uuid.UUID
		cursor := ""
		for range 10 {
			page, next, err := s.Accounts.List(ctx, ports.ServiceAccountFilter{OrgID: &org.ID}, ports.Page{Limit: 2, Cursor: cursor})
			require.NoError(t, err)
			assert.LessOrEqual(t, len(page), 2)
			for _, a := range page {
				got = append(got, a.ID)
				assert.Equal(t, org.ID, a.OrgID)
			}
			if next == "" {
				break
			}
			cursor = next
		}
		assert.Equal(t, want, got)

		all, _, err := s.Accounts.List(ctx, ports.ServiceAccountFilter{}, ports.Page{Limit: 50})
		require.NoError(t, err)
		assert.Len(t, all, 6)

		_, _, err = s.Accounts.List(ctx, ports.ServiceAccountFilter{}, ports.Page{Cursor: "bm90IGEgY3Vyc29y"})
		requireInvalidCursor(t, err)
	})
}

func runServiceAccountKeys(t *testing.T, newStore func(t *testing.T) ServiceAccountStore) {
	ctx := context.Background()

	t.Run("locked_credentials_are_the_secret_and_the_keys", func(t *testing.T) {
		s, org := saWorld(t, newStore)
		a := NewTestServiceAccount(t, s, org.ID, "locked", domain.RoleMember, saBase)
		k := newTestKey(a.ID, saBase)
		require.NoError(t, s.Keys.Add(ctx, k, 10))
		client, err := s.Clients.ByID(ctx, a.ClientID())
		require.NoError(t, err)
		var creds domain.ServiceAccountCredentials
		require.NoError(t, s.Tx.WithinTx(ctx, func(ctx context.Context) error {
			creds, err = s.Accounts.LockCredentials(ctx, a.ID, false)
			return err
		}))
		assert.Equal(t, client.SecretHash, creds.SecretHash)
		assert.Equal(t, []string{k.KID}, creds.KIDs)

		require.NoError(t, s.Keys.Delete(ctx, a.ID, k.KID))
		require.NoError(t, s.Clients.SetSecret(ctx, a.ClientID(), nil, saBase))
		require.NoError(t, s.Tx.WithinTx(ctx, func(ctx context.Context) error {
			creds, err = s.Accounts.LockCredentials(ctx, a.ID, true)
			return err
		}))
		assert.Nil(t, creds.SecretHash, "no secret")
		assert.Empty(t, creds.KIDs)

		err = s.Tx.WithinTx(ctx, func(ctx context.Context) error {
			_, err := s.Accounts.LockCredentials(ctx, uuid.New(), false)
			return err
		})
		assert.ErrorIs(t, err, domain.ErrServiceAccountNotFound)
		person := NewUser("not-a-machine")
		require.NoError(t, s.Users.Create(ctx, person))
		err = s.Tx.WithinTx(ctx, func(ctx context.Context) error {
			_, err := s.Accounts.LockCredentials(ctx, person.ID(), true)
			return err
		})
		assert.ErrorIs(t, err, domain.ErrServiceAccountNotFound, "a person has no service account credentials")
	})

	t.Run("add_get_list_delete", func(t *testing.T) {
		s, org := saWorld(t, newStore)
		a := NewTestServiceAccount(t, s, org.ID, "signer", domain.RoleMember, saBase)
		k1, k2 := newTestKey(a.ID, saBase), newTestKey(a.ID, saBase.Add(time.Second))
		exp := saBase.Add(time.Hour)
		k2.ExpiresAt = &exp
		require.NoError(t, s.Keys.Add(ctx, k1, 10))
		require.NoError(t, s.Keys.Add(ctx, k2, 10))

		got, err := s.Keys.Get(ctx, a.ID, k2.KID)
		require.NoError(t, err)
		assert.Equal(t, k2, got)
		list, err := s.Keys.List(ctx, a.ID)
		require.NoError(t, err)
		assert.Equal(t, []domain.ServiceAccountKey{k1, k2}, list)

		_, err = s.Keys.Get(ctx, uuid.New(), k1.KID)
		assert.ErrorIs(t, err, domain.ErrServiceAccountKeyNotFound, "a kid is the account's own")
		require.NoError(t, s.Keys.Delete(ctx, a.ID, k1.KID))
		assert.ErrorIs(t, s.Keys.Delete(ctx, a.ID, k1.KID), domain.ErrServiceAccountKeyNotFound)
		_, err = s.Keys.Get(ctx, a.ID, k1.KID)
		assert.ErrorIs(t, err, domain.ErrServiceAccountKeyNotFound)
	})

	t.Run("one_key_once_per_account", func(t *testing.T) {
		s, org := saWorld(t, newStore)
		a := NewTestServiceAccount(t, s, org.ID, "signer", domain.RoleMember, saBase)
		b := NewTestServiceAccount(t, s, org.ID, "other signer", domain.RoleMember, saBase)
		k := newTestKey(a.ID, saBase)
		require.NoError(t, s.Keys.Add(ctx, k, 10))

		sameKID := newTestKey(a.ID, saBase)
		sameKID.KID = k.KID
		assert.ErrorIs(t, s.Keys.Add(ctx, sameKID, 10), domain.ErrServiceAccountKeyExists)
		sameKey := newTestKey(a.ID, saBase)
		sameKey.Thumbprint = k.Thumbprint
		assert.ErrorIs(t, s.Keys.Add(ctx, sameKey, 10), domain.ErrServiceAccountKeyExists)

		k.AccountID = b.ID
		assert.NoError(t, s.Keys.Add(ctx, k, 10), "another account may register the same key")
		assert.ErrorIs(t, s.Keys.Add(ctx, newTestKey(uuid.New(), saBase), 10), domain.ErrServiceAccountNotFound)
	})

	t.Run("concurrent_adds_never_pass_the_bound", func(t *testing.T) {
		s, org := saWorld(t, newStore)
		a := NewTestServiceAccount(t, s, org.ID, "crowded", domain.RoleMember, saBase)
		const limit = 3
		errs := oauthRace(8, func(int) error {
			return s.Tx.WithinTx(ctx, func(ctx context.Context) error { return s.Keys.Add(ctx, newTestKey(a.ID, saBase), limit) })
		})
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
				continue
			}
			assert.ErrorIs(t, err, domain.ErrServiceAccountTooManyKeys)
		}
		assert.Equal(t, limit, ok)
		list, err := s.Keys.List(ctx, a.ID)
		require.NoError(t, err)
		assert.Len(t, list, limit)
	})
}

func runAssertionLedger(t *testing.T, newStore func(t *testing.T) ServiceAccountStore) {
	ctx := context.Background()

	t.Run("an_assertion_is_spent_once", func(t *testing.T) {
		s := newStore(t)
		ok, err := s.Ledger.Spend(ctx, "client", "jti-1", saBase.Add(time.Minute))
		require.NoError(t, err)
		assert.True(t, ok)
		ok, err = s.Ledger.Spend(ctx, "client", "jti-1", saBase.Add(time.Minute))
		require.NoError(t, err)
		assert.False(t, ok)
		ok, err = s.Ledger.Spend(ctx, "other", "jti-1", saBase.Add(time.Minute))
		require.NoError(t, err)
		assert.True(t, ok, "a jti is the client's own")
	})

	t.Run("concurrent_spends_have_one_winner", func(t *testing.T) {
		s := newStore(t)
		for round := range 5 {
			jti := fmt.Sprintf("race-%d", round)
			var mu sync.Mutex
			wins := 0
			errs := oauthRace(6, func(int) error {
				ok, err := s.Ledger.Spend(ctx, "client", jti, saBase.Add(time.Minute))
				if ok {
					mu.Lock()
					wins++
					mu.Unlock()
				}
				return err
			})
			require.NoError(t, errors.Join(errs...))
			assert.Equal(t, 1, wins, "round %d", round)
		}
	})

	t.Run("prune_forgets_expired_assertions_only", func(t *testing.T) {
		s := newStore(t)
		_, err := s.Ledger.Spend(ctx, "client", "old", saBase)
		require.NoError(t, err)
		_, err = s.Ledger.Spend(ctx, "client", "young", saBase.Add(time.Hour))
		require.NoError(t, err)
		n, err := s.Ledger.Prune(ctx, saBase.Add(time.Minute))
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		ok, err := s.Ledger.Spend(ctx, "client", "young", saBase.Add(time.Hour))
		require.NoError(t, err)
		assert.False(t, ok)
	})
}

func runServiceTokens(t *testing.T, newStore func(t *testing.T) ServiceAccountStore) {
	ctx := context.Background()

	t.Run("token_state_reads_session_account_and_organization", func(t *testing.T) {
		s, org := saWorld(t, newStore)
		a := NewTestServiceAccount(t, s, org.ID, "caller", domain.RoleMember, saBase)
		sess, tok := newSession(a.ID, saBase)
		sess.ExpiresAt = saBase.Add(15 * time.Minute)
		tok.ExpiresAt = sess.ExpiresAt
		require.NoError(t, s.Sessions.Create(ctx, sess, tok))

		st, err := s.Accounts.TokenState(ctx, sess.ID)
		require.NoError(t, err)
		assert.Equal(t, ports.ServiceTokenState{UserID: a.ID, SessionExpires: sess.ExpiresAt, UserActive: true, OrgActive: true}, st)

		_, err = s.Sessions.Revoke(ctx, sess.ID, saBase.Add(time.Second), domain.RevokeByAdmin)
		require.NoError(t, err)
		off := false
		require.NoError(t, s.Orgs.Update(ctx, org.ID, domain.OrgChange{Active: &off, At: saBase, Fields: []string{"is_active"}}))
		u, err := s.Users.ByID(ctx, a.ID)
		require.NoError(t, err)
		require.NoError(t, s.Users.SetAccess(ctx, a.ID, u.ChangeAccess(&off, nil, nil, saBase)))
		st, err = s.Accounts.TokenState(ctx, sess.ID)
		require.NoError(t, err)
		assert.True(t, st.SessionRevoked)
		assert.False(t, st.UserActive)
		assert.False(t, st.OrgActive)

		person := NewUser("tokenperson" + uuid.NewString()[:6])
		require.NoError(t, s.Users.Create(ctx, person))
		psess, ptok := newSession(person.ID(), saBase)
		require.NoError(t, s.Sessions.Create(ctx, psess, ptok))
		_, err = s.Accounts.TokenState(ctx, psess.ID)
		assert.ErrorIs(t, err, domain.ErrSessionNotFound, "a person's session is no service account's")
	})

	t.Run("prune_deletes_expired_sessions_of_service_accounts_only", func(t *testing.T) {
		s, org := saWorld(t, newStore)
		a := NewTestServiceAccount(t, s, org.ID, "pruned", domain.RoleMember, saBase)
		person := NewUser("pruneperson" + uuid.NewString()[:6])
		require.NoError(t, s.Users.Create(ctx, person))
		var old, young []uuid.UUID
		for i := range 3 {
			for _, owner := range []uuid.UUID{a.ID, person.ID()} {
				sess, tok := newSession(owner, saBase)
				sess.ExpiresAt = saBase.Add(time.Duration(i) * time.Hour)
				tok.ExpiresAt = sess.ExpiresAt
				require.NoError(t, s.Sessions.Create(ctx, sess, tok))
				if owner == a.ID && i < 2 {
					old = append(old, sess.ID)
				} else {
					young = append(young, sess.ID)
				}
			}
		}
		n, err := s.Accounts.PruneSessions(ctx, saBase.Add(90*time.Minute), 1)
		require.NoError(t, err)
		assert.Equal(t, 1, n, "at most limit")
		n, err = s.Accounts.PruneSessions(ctx, saBase.Add(90*time.Minute), 100)
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		for _, id := range old {
			_, err := s.Sessions.ByID(ctx, id)
			assert.ErrorIs(t, err, domain.ErrSessionNotFound)
		}
		for _, id := range young {
			_, err := s.Sessions.ByID(ctx, id)
			assert.NoError(t, err)
		}
	})
}

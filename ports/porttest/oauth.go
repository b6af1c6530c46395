package porttest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	mrand "math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// OAuthStore is what the OpenID Connect contract suites need from an
// adapter: the four OAuth ports, and users, sessions and transactions to
// set them up.
type OAuthStore struct {
	Clients  ports.OAuthClientRepository
	Requests ports.AuthRequestRepository
	Grants   ports.OAuthGrantRepository
	Consents ports.ConsentRepository
	Users    ports.UserRepository
	Sessions ports.SessionRepository
	Tx       ports.TxManager
}

// RunOAuthStores runs the contracts of ports.OAuthClientRepository,
// ports.AuthRequestRepository, ports.OAuthGrantRepository and
// ports.ConsentRepository against the store newStore returns.
func RunOAuthStores(t *testing.T, newStore func(t *testing.T) OAuthStore) {
	t.Run("clients", func(t *testing.T) { RunOAuthClients(t, newStore) })
	t.Run("auth_requests", func(t *testing.T) { RunAuthRequests(t, newStore) })
	t.Run("grants", func(t *testing.T) { RunOAuthGrants(t, newStore) })
	t.Run("consents", func(t *testing.T) { RunConsents(t, newStore) })
}

// oauthBase is a fixed instant in whole microseconds, the precision every
// store keeps.
var oauthBase = time.Date(2030, 5, 6, 7, 8, 9, 654321000, time.UTC)

// NewOAuthTestClient returns a valid confidential client with a secret,
// created at.
func NewOAuthTestClient(id string, at time.Time) domain.OAuthClient {
	c, err := domain.NewOAuthClient(id, domain.OAuthClientSpec{
		Name:                   "App " + id,
		RedirectURIs:           []string{"https://" + id + ".example.com/callback", "http://127.0.0.1:8080/cb"},
		PostLogoutRedirectURIs: []string{"https://" + id + ".example.com/bye"},
		GrantTypes:             []string{domain.GrantAuthorizationCode, domain.GrantRefreshToken, domain.GrantClientCredentials},
	}, at, false)
	if err != nil {
		panic(err)
	}
	c.SecretHash = oauthHash()
	return c
}

// newOAuthRequest returns an unstored, not yet completed request of
// client, created at and valid for ten minutes.
func newOAuthRequest(clientID string, at time.Time) domain.AuthRequest {
	maxAge := 300 * time.Second
	return domain.AuthRequest{
		ID:                  uuid.Must(uuid.NewV7()),
		ClientID:            clientID,
		RedirectURI:         "https://" + clientID + ".example.com/callback",
		Scopes:              []string{"openid", "profile", "email"},
		State:               "st-" + uuid.NewString()[:8],
		Nonce:               "n-" + uuid.NewString()[:8],
		ResponseType:        "code",
		ResponseMode:        "query",
		CodeChallenge:       "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: "S256",
		Prompt:              []string{"login", "consent"},
		MaxAge:              &maxAge,
		LoginHint:           "ada@example.com",
		CreatedAt:           at,
		ExpiresAt:           at.Add(10 * time.Minute),
	}
}

func oauthHash() []byte {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	h := sha256.Sum256(b)
	return h[:]
}

// oauthNorm makes nil lists empty: a store may give back either.
func oauthNorm(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

func normClient(c domain.OAuthClient) domain.OAuthClient {
	c.RedirectURIs, c.PostLogoutRedirectURIs = oauthNorm(c.RedirectURIs), oauthNorm(c.PostLogoutRedirectURIs)
	c.GrantTypes = oauthNorm(c.GrantTypes)
	if len(c.SecretHash) == 0 {
		c.SecretHash = nil
	}
	return c
}

func normRequest(r domain.AuthRequest) domain.AuthRequest {
	r.Scopes, r.Prompt, r.AMR = oauthNorm(r.Scopes), oauthNorm(r.Prompt), oauthNorm(r.AMR)
	return r
}

func normGrant(g domain.OAuthGrant) domain.OAuthGrant {
	g.Scopes, g.AMR = oauthNorm(g.Scopes), oauthNorm(g.AMR)
	return g
}

func normConsent(c domain.Consent) domain.Consent {
	c.Scopes = oauthNorm(c.Scopes)
	return c
}

func clientIDs(cs []domain.OAuthClient) []string {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return ids
}

// oauthRace runs call n times at once, each after a small random sleep,
// and returns the errors.
func oauthRace(n int, call func(i int) error) []error {
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			time.Sleep(time.Duration(mrand.IntN(2000)) * time.Microsecond)
			errs[i] = call(i)
		}()
	}
	close(start)
	wg.Wait()
	return errs
}

// RunOAuthClients runs the contract of ports.OAuthClientRepository.
func RunOAuthClients(t *testing.T, newStore func(t *testing.T) OAuthStore) {
	ctx := context.Background()
	create := func(t *testing.T, s OAuthStore, c domain.OAuthClient) domain.OAuthClient {
		t.Helper()
		require.NoError(t, s.Clients.Create(ctx, c))
		return c
	}

	t.Run("create_and_by_id_round_trip", func(t *testing.T) {
		s := newStore(t)
		c := create(t, s, NewOAuthTestClient("billing", oauthBase))
		got, err := s.Clients.ByID(ctx, c.ID)
		require.NoError(t, err)
		assert.Equal(t, normClient(c), normClient(got))
		assert.True(t, got.Allows(domain.GrantClientCredentials))
	})

	t.Run("public_client_without_secret_round_trips", func(t *testing.T) {
		s := newStore(t)
		c, err := domain.NewOAuthClient("spa", domain.OAuthClientSpec{
			Name: "SPA", Public: true, FirstParty: true, RedirectURIs: []string{"https://spa.example.com/cb"},
		}, oauthBase, false)
		require.NoError(t, err)
		create(t, s, c)
		got, err := s.Clients.ByID(ctx, "spa")
		require.NoError(t, err)
		assert.Nil(t, got.SecretHash)
		assert.True(t, got.Public)
		assert.True(t, got.FirstParty)
		assert.Empty(t, got.PostLogoutRedirectURIs)
		assert.Equal(t, normClient(c), normClient(got))
	})

	t.Run("times_come_back_in_utc", func(t *testing.T) {
		s := newStore(t)
		zone := time.FixedZone("UTC-7", -7*3600)
		c := create(t, s, NewOAuthTestClient("zoned", oauthBase.In(zone)))
		got, err := s.Clients.ByID(ctx, c.ID)
		require.NoError(t, err)
		assert.Equal(t, time.UTC, got.CreatedAt.Location())
		assert.True(t, got.CreatedAt.Equal(oauthBase), "got %v", got.CreatedAt)
		assert.True(t, got.UpdatedAt.Equal(oauthBase), "got %v", got.UpdatedAt)
	})

	t.Run("duplicate_id_conflicts", func(t *testing.T) {
		s := newStore(t)
		c := create(t, s, NewOAuthTestClient("dup", oauthBase))
		again := NewOAuthTestClient("dup", oauthBase.Add(time.Hour))
		again.Name = "Another"
		err := s.Clients.Create(ctx, again)
		assert.ErrorIs(t, err, domain.ErrConflict)
		assert.Equal(t, domain.KindConflict, domain.KindOf(err))
		got, err := s.Clients.ByID(ctx, "dup")
		require.NoError(t, err)
		assert.Equal(t, c.Name, got.Name, "the first client stays")
	})

	t.Run("unknown_client_is_not_found", func(t *testing.T) {
		s := newStore(t)
		_, err := s.Clients.ByID(ctx, "ghost")
		assert.ErrorIs(t, err, domain.ErrOAuthClientNotFound)
		assert.Equal(t, domain.KindNotFound, domain.KindOf(err))
		name := "x"
		assert.ErrorIs(t, s.Clients.Update(ctx, "ghost", domain.OAuthClientChange{Name: &name, At: oauthBase}),
			domain.ErrOAuthClientNotFound)
		assert.ErrorIs(t, s.Clients.SetSecret(ctx, "ghost", oauthHash(), oauthBase), domain.ErrOAuthClientNotFound)
		assert.ErrorIs(t, s.Clients.Delete(ctx, "ghost"), domain.ErrOAuthClientNotFound)
	})

	t.Run("list_oldest_first", func(t *testing.T) {
		s := newStore(t)
		got, err := s.Clients.List(ctx)
		require.NoError(t, err)
		assert.Empty(t, got)

		create(t, s, NewOAuthTestClient("middle", oauthBase.Add(time.Minute)))
		create(t, s, NewOAuthTestClient("newest", oauthBase.Add(2*time.Minute)))
		create(t, s, NewOAuthTestClient("oldest-b", oauthBase))
		create(t, s, NewOAuthTestClient("oldest-a", oauthBase))
		got, err = s.Clients.List(ctx)
		require.NoError(t, err)
		assert.Equal(t, []string{"oldest-a", "oldest-b", "middle", "newest"}, clientIDs(got))
		want := NewOAuthTestClient("middle", oauthBase.Add(time.Minute))
		want.SecretHash = got[2].SecretHash
		assert.Equal(t, normClient(want), normClient(got[2]), "List returns whole clients")
	})

	t.Run("update_writes_only_the_named_settings", func(t *testing.T) {
		s := newStore(t)
		c := create(t, s, NewOAuthTestClient("upd", oauthBase))

		at := oauthBase.Add(time.Hour)
		name := "Renamed"
		require.NoError(t, s.Clients.Update(ctx, c.ID, domain.OAuthClientChange{Name: &name, At: at}))
		got, err := s.Clients.ByID(ctx, c.ID)
		require.NoError(t, err)
		want := c
		want.Name, want.UpdatedAt = name, at
		assert.Equal(t, normClient(want), normClient(got))

		at = at.Add(time.Hour)
		firstParty := true
		redirects := []string{"https://new.example.com/cb"}
		logout := []string{}
		grants := []string{domain.GrantAuthorizationCode}
		require.NoError(t, s.Clients.Update(ctx, c.ID, domain.OAuthClientChange{
			FirstParty: &firstParty, RedirectURIs: &redirects, PostLogoutRedirectURIs: &logout, GrantTypes: &grants, At: at}))
		got, err = s.Clients.ByID(ctx, c.ID)
		require.NoError(t, err)
		want.FirstParty, want.RedirectURIs, want.PostLogoutRedirectURIs, want.GrantTypes = true, redirects, logout, grants
		want.UpdatedAt = at
		assert.Equal(t, normClient(want), normClient(got))
		assert.Equal(t, c.SecretHash, got.SecretHash, "an update never touches the secret")
		assert.False(t, got.Public, "nor the public flag")
		assert.True(t, got.CreatedAt.Equal(c.CreatedAt))
	})

	// Two administrators changing different settings at once both win:
	// an update writes only the columns its change names.
	t.Run("concurrent_updates_of_different_settings_both_stay", func(t *testing.T) {
		s := newStore(t)
		c := create(t, s, NewOAuthTestClient("conc", oauthBase))
		name := "Both"
		redirects := []string{"https://both.example.com/cb"}
		changes := []domain.OAuthClientChange{
			{Name: &name, At: oauthBase.Add(time.Minute)},
			{RedirectURIs: &redirects, At: oauthBase.Add(time.Minute)},
		}
		for _, err := range oauthRace(len(changes), func(i int) error { return s.Clients.Update(ctx, c.ID, changes[i]) }) {
			require.NoError(t, err)
		}
		got, err := s.Clients.ByID(ctx, c.ID)
		require.NoError(t, err)
		assert.Equal(t, name, got.Name)
		assert.Equal(t, redirects, got.RedirectURIs)
	})

	t.Run("set_secret_replaces_only_the_hash", func(t *testing.T) {
		s := newStore(t)
		c := create(t, s, NewOAuthTestClient("rot", oauthBase))
		hash := oauthHash()
		at := oauthBase.Add(time.Hour)
		require.NoError(t, s.Clients.SetSecret(ctx, c.ID, hash, at))
		got, err := s.Clients.ByID(ctx, c.ID)
		require.NoError(t, err)
		want := c
		want.SecretHash, want.UpdatedAt = hash, at
		assert.Equal(t, normClient(want), normClient(got))
	})

	t.Run("delete_removes_the_client_once", func(t *testing.T) {
		s := newStore(t)
		c := create(t, s, NewOAuthTestClient("gone", oauthBase))
		keep := create(t, s, NewOAuthTestClient("kept", oauthBase))
		require.NoError(t, s.Clients.Delete(ctx, c.ID))
		_, err := s.Clients.ByID(ctx, c.ID)
		assert.ErrorIs(t, err, domain.ErrOAuthClientNotFound)
		assert.ErrorIs(t, s.Clients.Delete(ctx, c.ID), domain.ErrOAuthClientNotFound)
		got, err := s.Clients.List(ctx)
		require.NoError(t, err)
		assert.Equal(t, []string{keep.ID}, clientIDs(got))
	})

	t.Run("writes_join_the_callers_transaction", func(t *testing.T) {
		s := newStore(t)
		kept := create(t, s, NewOAuthTestClient("txkept", oauthBase))
		boom := errors.New("boom")
		err := s.Tx.WithinTx(ctx, func(ctx context.Context) error {
			require.NoError(t, s.Clients.Create(ctx, NewOAuthTestClient("txgone", oauthBase)))
			require.NoError(t, s.Clients.SetSecret(ctx, kept.ID, oauthHash(), oauthBase.Add(time.Hour)))
			return boom
		})
		require.ErrorIs(t, err, boom)
		_, err = s.Clients.ByID(ctx, "txgone")
		assert.ErrorIs(t, err, domain.ErrOAuthClientNotFound, "rolled back with the transaction")
		got, err := s.Clients.ByID(ctx, kept.ID)
		require.NoError(t, err)
		assert.Equal(t, kept.SecretHash, got.SecretHash, "rolled back with the transaction")
	})

	t.Run("delete_cascades_to_requests_grants_and_consents", func(t *testing.T) {
		s := newStore(t)
		u := NewUser("casc" + uuid.NewString()[:8])
		require.NoError(t, s.Users.Create(ctx, u))
		gone := create(t, s, NewOAuthTestClient("casc-gone", oauthBase))
		kept := create(t, s, NewOAuthTestClient("casc-kept", oauthBase))

		reqs := map[string]domain.AuthRequest{}
		codes := map[string][]byte{}
		for _, c := range []string{gone.ID, kept.ID} {
			r := newOAuthRequest(c, oauthBase)
			require.NoError(t, s.Requests.Create(ctx, r))
			require.NoError(t, s.Requests.Complete(ctx, r.ID, u.ID(), oauthBase, []string{"pwd"}))
			codes[c] = oauthHash()
			require.NoError(t, s.Requests.SetCode(ctx, r.ID, codes[c]))
			reqs[c] = r
			require.NoError(t, s.Consents.Grant(ctx, domain.Consent{UserID: u.ID(), ClientID: c, Scopes: []string{"openid"}, GrantedAt: oauthBase}))
		}
		pending := newOAuthRequest(gone.ID, oauthBase)
		require.NoError(t, s.Requests.Create(ctx, pending))
		sessions := map[string]uuid.UUID{}
		for _, c := range []string{gone.ID, kept.ID} {
			sess, tok := newSession(u.ID(), oauthBase)
			require.NoError(t, s.Sessions.Create(ctx, sess, tok))
			require.NoError(t, s.Grants.Create(ctx, domain.OAuthGrant{SessionID: sess.ID, ClientID: c, Scopes: []string{"openid"}, AuthTime: oauthBase}))
			sessions[c] = sess.ID
		}

		require.NoError(t, s.Clients.Delete(ctx, gone.ID))

		now := oauthBase.Add(time.Minute)
		_, err := s.Requests.ByID(ctx, reqs[gone.ID].ID, now)
		assert.ErrorIs(t, err, domain.ErrAuthRequestNotFound)
		_, err = s.Requests.ByID(ctx, pending.ID, now)
		assert.ErrorIs(t, err, domain.ErrAuthRequestNotFound)
		_, err = s.Requests.TakeByCode(ctx, codes[gone.ID], now)
		assert.ErrorIs(t, err, domain.ErrAuthRequestNotFound)
		_, err = s.Consents.Get(ctx, u.ID(), gone.ID)
		assert.ErrorIs(t, err, domain.ErrConsentNotFound)
		_, err = s.Grants.BySession(ctx, sessions[gone.ID])
		assert.ErrorIs(t, err, domain.ErrSessionNotFound)

		_, err = s.Requests.ByID(ctx, reqs[kept.ID].ID, now)
		assert.NoError(t, err, "another client's request stays")
		_, err = s.Consents.Get(ctx, u.ID(), kept.ID)
		assert.NoError(t, err, "another client's consent stays")
		_, err = s.Grants.BySession(ctx, sessions[kept.ID])
		assert.NoError(t, err, "another client's grant stays")
		taken, err := s.Requests.TakeByCode(ctx, codes[kept.ID], now)
		require.NoError(t, err)
		assert.Equal(t, reqs[kept.ID].ID, taken.ID)
	})
}

// RunAuthRequests runs the contract of ports.AuthRequestRepository.
func RunAuthRequests(t *testing.T, newStore func(t *testing.T) OAuthStore) {
	ctx := context.Background()
	type world struct {
		s      OAuthStore
		client string
		user   uuid.UUID
	}
	setup := func(t *testing.T) world {
		t.Helper()
		s := newStore(t)
		u := NewUser("req" + uuid.NewString()[:8])
		require.NoError(t, s.Users.Create(ctx, u))
		c := NewOAuthTestClient("reqapp", oauthBase)
		require.NoError(t, s.Clients.Create(ctx, c))
		return world{s: s, client: c.ID, user: u.ID()}
	}
	create := func(t *testing.T, w world, at time.Time) domain.AuthRequest {
		t.Helper()
		r := newOAuthRequest(w.client, at)
		require.NoError(t, w.s.Requests.Create(ctx, r))
		return r
	}
	// issue creates, completes and codes a request; it returns the
	// request as completed and the code's hash.
	issue := func(t *testing.T, w world, at time.Time) (domain.AuthRequest, []byte) {
		t.Helper()
		r := create(t, w, at)
		authTime := at.Add(time.Second)
		require.NoError(t, w.s.Requests.Complete(ctx, r.ID, w.user, authTime, []string{"pwd", "otp"}))
		code := oauthHash()
		require.NoError(t, w.s.Requests.SetCode(ctx, r.ID, code))
		uid := w.user
		r.UserID, r.AuthTime, r.AMR = &uid, authTime, []string{"pwd", "otp"}
		return r, code
	}

	t.Run("create_and_by_id_round_trip", func(t *testing.T) {
		w := setup(t)
		r := create(t, w, oauthBase)
		got, err := w.s.Requests.ByID(ctx, r.ID, oauthBase)
		require.NoError(t, err)
		assert.Equal(t, normRequest(r), normRequest(got))
		assert.False(t, got.Done())
		require.NotNil(t, got.MaxAge)
		assert.Equal(t, 300*time.Second, *got.MaxAge)
	})

	t.Run("max_age_absent_or_zero_round_trips", func(t *testing.T) {
		w := setup(t)
		none := newOAuthRequest(w.client, oauthBase)
		none.MaxAge, none.Prompt, none.Nonce, none.LoginHint, none.ResponseMode = nil, nil, "", "", ""
		require.NoError(t, w.s.Requests.Create(ctx, none))
		zero := newOAuthRequest(w.client, oauthBase)
		z := time.Duration(0)
		zero.MaxAge = &z
		require.NoError(t, w.s.Requests.Create(ctx, zero))

		got, err := w.s.Requests.ByID(ctx, none.ID, oauthBase)
		require.NoError(t, err)
		assert.Nil(t, got.MaxAge, "no max_age accepts any sign-in")
		assert.Equal(t, normRequest(none), normRequest(got))
		got, err = w.s.Requests.ByID(ctx, zero.ID, oauthBase)
		require.NoError(t, err)
		require.NotNil(t, got.MaxAge, "max_age=0 is not the same as none")
		assert.Zero(t, *got.MaxAge)
	})

	t.Run("times_come_back_in_utc", func(t *testing.T) {
		w := setup(t)
		zone := time.FixedZone("UTC+9", 9*3600)
		r := newOAuthRequest(w.client, oauthBase.In(zone))
		r.ExpiresAt = r.ExpiresAt.In(zone)
		require.NoError(t, w.s.Requests.Create(ctx, r))
		require.NoError(t, w.s.Requests.Complete(ctx, r.ID, w.user, oauthBase.Add(time.Second).In(zone), nil))
		got, err := w.s.Requests.ByID(ctx, r.ID, oauthBase)
		require.NoError(t, err)
		assert.Equal(t, time.UTC, got.CreatedAt.Location())
		assert.Equal(t, time.UTC, got.ExpiresAt.Location())
		assert.Equal(t, time.UTC, got.AuthTime.Location())
		assert.True(t, got.CreatedAt.Equal(oauthBase))
		assert.True(t, got.AuthTime.Equal(oauthBase.Add(time.Second)))
	})

	t.Run("unknown_or_expired_is_not_found", func(t *testing.T) {
		w := setup(t)
		_, err := w.s.Requests.ByID(ctx, uuid.New(), oauthBase)
		assert.ErrorIs(t, err, domain.ErrAuthRequestNotFound)
		assert.Equal(t, domain.KindNotFound, domain.KindOf(err))

		r := create(t, w, oauthBase)
		_, err = w.s.Requests.ByID(ctx, r.ID, r.ExpiresAt.Add(-time.Microsecond))
		assert.NoError(t, err, "live until its end")
		_, err = w.s.Requests.ByID(ctx, r.ID, r.ExpiresAt)
		assert.ErrorIs(t, err, domain.ErrAuthRequestNotFound, "expired at its end")
		_, err = w.s.Requests.ByID(ctx, r.ID, r.ExpiresAt.Add(time.Hour))
		assert.ErrorIs(t, err, domain.ErrAuthRequestNotFound)
	})

	t.Run("duplicate_id_conflicts", func(t *testing.T) {
		w := setup(t)
		r := create(t, w, oauthBase)
		assert.ErrorIs(t, w.s.Requests.Create(ctx, r), domain.ErrConflict)
	})

	t.Run("unknown_client_is_refused", func(t *testing.T) {
		w := setup(t)
		err := w.s.Requests.Create(ctx, newOAuthRequest("ghost", oauthBase))
		assert.ErrorIs(t, err, domain.ErrOAuthClientNotFound)
	})

	t.Run("complete_records_the_sign_in_once", func(t *testing.T) {
		w := setup(t)
		r := create(t, w, oauthBase)
		authTime := oauthBase.Add(30 * time.Second)
		require.NoError(t, w.s.Requests.Complete(ctx, r.ID, w.user, authTime, []string{"pwd", "otp"}))
		got, err := w.s.Requests.ByID(ctx, r.ID, oauthBase)
		require.NoError(t, err)
		assert.True(t, got.Done())
		require.NotNil(t, got.UserID)
		assert.Equal(t, w.user, *got.UserID)
		assert.True(t, got.AuthTime.Equal(authTime), "got %v", got.AuthTime)
		assert.Equal(t, []string{"pwd", "otp"}, got.AMR)
		assert.Equal(t, r.Scopes, got.Scopes, "the request's own fields stay")

		other := NewUser("other" + uuid.NewString()[:8])
		require.NoError(t, w.s.Users.Create(ctx, other))
		err = w.s.Requests.Complete(ctx, r.ID, other.ID(), authTime.Add(time.Minute), []string{"pwd"})
		assert.ErrorIs(t, err, domain.ErrAuthRequestNotFound, "a completed request is not completed again")
		got, err = w.s.Requests.ByID(ctx, r.ID, oauthBase)
		require.NoError(t, err)
		assert.Equal(t, w.user, *got.UserID, "the first sign-in stays")
		assert.True(t, got.AuthTime.Equal(authTime))

		assert.ErrorIs(t, w.s.Requests.Complete(ctx, uuid.New(), w.user, authTime, nil), domain.ErrAuthRequestNotFound)
	})

	t.Run("racing_completions_one_wins", func(t *testing.T) {
		w := setup(t)
		r := create(t, w, oauthBase)
		const n = 8
		users := make([]uuid.UUID, n)
		for i := range users {
			u := NewUser("racer" + uuid.NewString()[:8])
			require.NoError(t, w.s.Users.Create(ctx, u))
			users[i] = u.ID()
		}
		errs := oauthRace(n, func(i int) error {
			return w.s.Requests.Complete(ctx, r.ID, users[i], oauthBase.Add(time.Second), []string{"pwd"})
		})
		winner := -1
		for i, err := range errs {
			if err == nil {
				assert.Equal(t, -1, winner, "two completions won")
				winner = i
				continue
			}
			assert.ErrorIs(t, err, domain.ErrAuthRequestNotFound)
		}
		require.NotEqual(t, -1, winner, "no completion won")
		got, err := w.s.Requests.ByID(ctx, r.ID, oauthBase)
		require.NoError(t, err)
		assert.Equal(t, users[winner], *got.UserID)
	})

	t.Run("set_code_needs_a_completed_request", func(t *testing.T) {
		w := setup(t)
		r := create(t, w, oauthBase)
		assert.ErrorIs(t, w.s.Requests.SetCode(ctx, r.ID, oauthHash()), domain.ErrAuthRequestNotFound)
		assert.ErrorIs(t, w.s.Requests.SetCode(ctx, uuid.New(), oauthHash()), domain.ErrAuthRequestNotFound)
	})

	t.Run("take_by_code_returns_the_request_once", func(t *testing.T) {
		w := setup(t)
		r, code := issue(t, w, oauthBase)
		now := oauthBase.Add(time.Minute)
		got, err := w.s.Requests.TakeByCode(ctx, code, now)
		require.NoError(t, err)
		assert.Equal(t, normRequest(r), normRequest(got))

		_, err = w.s.Requests.TakeByCode(ctx, code, now)
		assert.ErrorIs(t, err, domain.ErrAuthRequestNotFound, "a code is exchanged once")
		_, err = w.s.Requests.ByID(ctx, r.ID, now)
		assert.ErrorIs(t, err, domain.ErrAuthRequestNotFound, "the request is gone with its code")
	})

	t.Run("take_by_unknown_code_is_not_found", func(t *testing.T) {
		w := setup(t)
		issue(t, w, oauthBase)
		_, err := w.s.Requests.TakeByCode(ctx, oauthHash(), oauthBase)
		assert.ErrorIs(t, err, domain.ErrAuthRequestNotFound)
		_, err = w.s.Requests.TakeByCode(ctx, nil, oauthBase)
		assert.ErrorIs(t, err, domain.ErrAuthRequestNotFound)
	})

	t.Run("a_new_code_replaces_the_old_one", func(t *testing.T) {
		w := setup(t)
		r, old := issue(t, w, oauthBase)
		code := oauthHash()
		require.NoError(t, w.s.Requests.SetCode(ctx, r.ID, code))
		_, err := w.s.Requests.TakeByCode(ctx, old, oauthBase)
		assert.ErrorIs(t, err, domain.ErrAuthRequestNotFound)
		got, err := w.s.Requests.TakeByCode(ctx, code, oauthBase)
		require.NoError(t, err)
		assert.Equal(t, r.ID, got.ID)
	})

	t.Run("a_code_another_request_holds_conflicts", func(t *testing.T) {
		w := setup(t)
		_, code := issue(t, w, oauthBase)
		other, _ := issue(t, w, oauthBase)
		assert.ErrorIs(t, w.s.Requests.SetCode(ctx, other.ID, code), domain.ErrConflict)
	})

	// Of concurrent exchanges of one code exactly one gets the request.
	t.Run("racing_exchanges_of_one_code_one_wins", func(t *testing.T) {
		w := setup(t)
		for round := range 5 {
			r, code := issue(t, w, oauthBase.Add(time.Duration(round)*time.Minute))
			const n = 8
			got := make([]domain.AuthRequest, n)
			errs := oauthRace(n, func(i int) error {
				var err error
				got[i], err = w.s.Requests.TakeByCode(ctx, code, oauthBase.Add(time.Duration(round)*time.Minute+time.Second))
				return err
			})
			wins := 0
			for i, err := range errs {
				if err == nil {
					wins++
					assert.Equal(t, r.ID, got[i].ID)
					continue
				}
				assert.ErrorIs(t, err, domain.ErrAuthRequestNotFound)
			}
			assert.Equal(t, 1, wins, "round %d", round)
		}
	})

	t.Run("an_expired_code_is_deleted_not_returned", func(t *testing.T) {
		w := setup(t)
		r, code := issue(t, w, oauthBase)
		_, err := w.s.Requests.TakeByCode(ctx, code, r.ExpiresAt)
		assert.ErrorIs(t, err, domain.ErrAuthRequestNotFound)
		_, err = w.s.Requests.TakeByCode(ctx, code, oauthBase)
		assert.ErrorIs(t, err, domain.ErrAuthRequestNotFound, "the expired request was deleted")
		_, err = w.s.Requests.ByID(ctx, r.ID, oauthBase)
		assert.ErrorIs(t, err, domain.ErrAuthRequestNotFound)
	})

	t.Run("delete_removes_without_complaint", func(t *testing.T) {
		w := setup(t)
		r := create(t, w, oauthBase)
		require.NoError(t, w.s.Requests.Delete(ctx, r.ID))
		_, err := w.s.Requests.ByID(ctx, r.ID, oauthBase)
		assert.ErrorIs(t, err, domain.ErrAuthRequestNotFound)
		assert.NoError(t, w.s.Requests.Delete(ctx, r.ID), "deleting what is gone is fine")
	})

	t.Run("delete_expired_counts_what_it_removed", func(t *testing.T) {
		w := setup(t)
		now := oauthBase.Add(time.Hour)
		var expired, live []domain.AuthRequest
		for _, end := range []time.Duration{-time.Hour, -time.Microsecond, 0} {
			r := newOAuthRequest(w.client, oauthBase)
			r.ExpiresAt = now.Add(end)
			require.NoError(t, w.s.Requests.Create(ctx, r))
			expired = append(expired, r)
		}
		for _, end := range []time.Duration{time.Microsecond, time.Hour} {
			r := newOAuthRequest(w.client, oauthBase)
			r.ExpiresAt = now.Add(end)
			require.NoError(t, w.s.Requests.Create(ctx, r))
			live = append(live, r)
		}
		n, err := w.s.Requests.DeleteExpired(ctx, now)
		require.NoError(t, err)
		assert.Equal(t, len(expired), n)
		for _, r := range expired {
			_, err := w.s.Requests.ByID(ctx, r.ID, oauthBase)
			assert.ErrorIs(t, err, domain.ErrAuthRequestNotFound, "deleted")
		}
		for _, r := range live {
			_, err := w.s.Requests.ByID(ctx, r.ID, now)
			assert.NoError(t, err, "a live request stays")
		}
		n, err = w.s.Requests.DeleteExpired(ctx, now)
		require.NoError(t, err)
		assert.Zero(t, n)
	})
}

// RunOAuthGrants runs the contract of ports.OAuthGrantRepository.
func RunOAuthGrants(t *testing.T, newStore func(t *testing.T) OAuthStore) {
	ctx := context.Background()
	type world struct {
		s              OAuthStore
		user, stranger uuid.UUID
		app, other     string
	}
	setup := func(t *testing.T) world {
		t.Helper()
		s := newStore(t)
		u := NewUser("grant" + uuid.NewString()[:8])
		require.NoError(t, s.Users.Create(ctx, u))
		v := NewUser("strgr" + uuid.NewString()[:8])
		require.NoError(t, s.Users.Create(ctx, v))
		for _, id := range []string{"grantapp", "otherapp"} {
			require.NoError(t, s.Clients.Create(ctx, NewOAuthTestClient(id, oauthBase)))
		}
		return world{s: s, user: u.ID(), stranger: v.ID(), app: "grantapp", other: "otherapp"}
	}
	session := func(t *testing.T, w world, userID uuid.UUID, at time.Time) uuid.UUID {
		t.Helper()
		sess, tok := newSession(userID, at)
		require.NoError(t, w.s.Sessions.Create(ctx, sess, tok))
		return sess.ID
	}
	grant := func(t *testing.T, w world, sessionID uuid.UUID, clientID string) domain.OAuthGrant {
		t.Helper()
		g := domain.OAuthGrant{SessionID: sessionID, ClientID: clientID, Scopes: []string{"openid", "email"},
			AuthTime: oauthBase, AMR: []string{"pwd"}}
		require.NoError(t, w.s.Grants.Create(ctx, g))
		return g
	}

	t.Run("create_and_by_session_round_trip", func(t *testing.T) {
		w := setup(t)
		g := grant(t, w, session(t, w, w.user, oauthBase), w.app)
		got, err := w.s.Grants.BySession(ctx, g.SessionID)
		require.NoError(t, err)
		assert.Equal(t, normGrant(g), normGrant(got))
		assert.Equal(t, time.UTC, got.AuthTime.Location())
	})

	t.Run("unknown_session_is_not_found", func(t *testing.T) {
		w := setup(t)
		session(t, w, w.user, oauthBase) // a session without a grant
		_, err := w.s.Grants.BySession(ctx, uuid.New())
		assert.ErrorIs(t, err, domain.ErrSessionNotFound)
		assert.Equal(t, domain.KindNotFound, domain.KindOf(err))
	})

	t.Run("a_session_has_one_grant", func(t *testing.T) {
		w := setup(t)
		sid := session(t, w, w.user, oauthBase)
		grant(t, w, sid, w.app)
		err := w.s.Grants.Create(ctx, domain.OAuthGrant{SessionID: sid, ClientID: w.other, AuthTime: oauthBase})
		assert.ErrorIs(t, err, domain.ErrConflict)
	})

	t.Run("a_grant_needs_its_session", func(t *testing.T) {
		w := setup(t)
		err := w.s.Grants.Create(ctx, domain.OAuthGrant{SessionID: uuid.New(), ClientID: w.app, AuthTime: oauthBase})
		assert.ErrorIs(t, err, domain.ErrSessionNotFound)
	})

	t.Run("active_sessions_are_the_users_unrevoked_ones_of_the_client", func(t *testing.T) {
		w := setup(t)
		first := session(t, w, w.user, oauthBase)
		second := session(t, w, w.user, oauthBase.Add(time.Minute))
		revoked := session(t, w, w.user, oauthBase.Add(2*time.Minute))
		otherClient := session(t, w, w.user, oauthBase.Add(3*time.Minute))
		strangers := session(t, w, w.stranger, oauthBase.Add(4*time.Minute))
		session(t, w, w.user, oauthBase.Add(5*time.Minute)) // a plain UMS session
		for _, sid := range []uuid.UUID{first, second, revoked, strangers} {
			grant(t, w, sid, w.app)
		}
		grant(t, w, otherClient, w.other)
		ok, err := w.s.Sessions.Revoke(ctx, revoked, oauthBase.Add(time.Hour), domain.RevokeLogout)
		require.NoError(t, err)
		require.True(t, ok)

		got, err := w.s.Grants.ActiveSessions(ctx, w.user, w.app)
		require.NoError(t, err)
		assert.ElementsMatch(t, []uuid.UUID{first, second}, got)

		got, err = w.s.Grants.ActiveSessions(ctx, w.user, w.other)
		require.NoError(t, err)
		assert.Equal(t, []uuid.UUID{otherClient}, got)

		got, err = w.s.Grants.ActiveSessions(ctx, w.user, "ghost")
		require.NoError(t, err)
		assert.Empty(t, got)
		got, err = w.s.Grants.ActiveSessions(ctx, uuid.New(), w.app)
		require.NoError(t, err)
		assert.Empty(t, got)
	})

	t.Run("a_revoked_session_keeps_its_grant", func(t *testing.T) {
		w := setup(t)
		sid := session(t, w, w.user, oauthBase)
		g := grant(t, w, sid, w.app)
		_, err := w.s.Sessions.Revoke(ctx, sid, oauthBase.Add(time.Hour), domain.RevokeLogout)
		require.NoError(t, err)
		got, err := w.s.Grants.BySession(ctx, sid)
		require.NoError(t, err, "the grant still names the client of the revoked session")
		assert.Equal(t, normGrant(g), normGrant(got))
	})
}

// RunConsents runs the contract of ports.ConsentRepository.
func RunConsents(t *testing.T, newStore func(t *testing.T) OAuthStore) {
	ctx := context.Background()
	type world struct {
		s              OAuthStore
		user, stranger uuid.UUID
	}
	clients := []string{"alpha", "beta", "gamma"}
	setup := func(t *testing.T) world {
		t.Helper()
		s := newStore(t)
		u := NewUser("cons" + uuid.NewString()[:8])
		require.NoError(t, s.Users.Create(ctx, u))
		v := NewUser("cstr" + uuid.NewString()[:8])
		require.NoError(t, s.Users.Create(ctx, v))
		for _, id := range clients {
			require.NoError(t, s.Clients.Create(ctx, NewOAuthTestClient(id, oauthBase)))
		}
		return world{s: s, user: u.ID(), stranger: v.ID()}
	}
	consent := func(userID uuid.UUID, clientID string, at time.Time, scopes ...string) domain.Consent {
		return domain.Consent{UserID: userID, ClientID: clientID, Scopes: scopes, GrantedAt: at}
	}

	t.Run("grant_and_get_round_trip", func(t *testing.T) {
		w := setup(t)
		c := consent(w.user, "alpha", oauthBase, "openid", "profile")
		require.NoError(t, w.s.Consents.Grant(ctx, c))
		got, err := w.s.Consents.Get(ctx, w.user, "alpha")
		require.NoError(t, err)
		assert.Equal(t, normConsent(c), normConsent(got))
		assert.Equal(t, time.UTC, got.GrantedAt.Location())
		assert.True(t, got.Covers([]string{"openid"}))
		assert.False(t, got.Covers([]string{"email"}))
	})

	t.Run("no_consent_is_not_found", func(t *testing.T) {
		w := setup(t)
		require.NoError(t, w.s.Consents.Grant(ctx, consent(w.user, "alpha", oauthBase, "openid")))
		for _, q := range []struct {
			user   uuid.UUID
			client string
		}{{w.user, "beta"}, {w.stranger, "alpha"}, {uuid.New(), "ghost"}} {
			_, err := w.s.Consents.Get(ctx, q.user, q.client)
			assert.ErrorIs(t, err, domain.ErrConsentNotFound)
			assert.Equal(t, domain.KindNotFound, domain.KindOf(err))
		}
	})

	t.Run("grant_again_replaces_the_consent", func(t *testing.T) {
		w := setup(t)
		require.NoError(t, w.s.Consents.Grant(ctx, consent(w.user, "alpha", oauthBase, "openid", "profile", "email")))
		later := consent(w.user, "alpha", oauthBase.Add(time.Hour), "openid")
		require.NoError(t, w.s.Consents.Grant(ctx, later))
		got, err := w.s.Consents.Get(ctx, w.user, "alpha")
		require.NoError(t, err)
		assert.Equal(t, normConsent(later), normConsent(got), "scopes are replaced, not merged")
		list, err := w.s.Consents.List(ctx, w.user)
		require.NoError(t, err)
		assert.Len(t, list, 1)
	})

	t.Run("racing_grants_leave_one_consent", func(t *testing.T) {
		w := setup(t)
		const n = 8
		errs := oauthRace(n, func(i int) error {
			return w.s.Consents.Grant(ctx, consent(w.user, "alpha", oauthBase.Add(time.Duration(i)*time.Second), "openid"))
		})
		for _, err := range errs {
			require.NoError(t, err)
		}
		list, err := w.s.Consents.List(ctx, w.user)
		require.NoError(t, err)
		assert.Len(t, list, 1)
	})

	t.Run("list_is_the_users_newest_first", func(t *testing.T) {
		w := setup(t)
		list, err := w.s.Consents.List(ctx, w.user)
		require.NoError(t, err)
		assert.Empty(t, list)

		oldest := consent(w.user, "beta", oauthBase, "openid")
		newest := consent(w.user, "gamma", oauthBase.Add(2*time.Minute), "openid", "email")
		middle := consent(w.user, "alpha", oauthBase.Add(time.Minute), "openid", "profile")
		for _, c := range []domain.Consent{oldest, newest, middle, consent(w.stranger, "alpha", oauthBase.Add(time.Hour), "openid")} {
			require.NoError(t, w.s.Consents.Grant(ctx, c))
		}
		list, err = w.s.Consents.List(ctx, w.user)
		require.NoError(t, err)
		want := []domain.Consent{normConsent(newest), normConsent(middle), normConsent(oldest)}
		got := make([]domain.Consent, len(list))
		for i, c := range list {
			got[i] = normConsent(c)
		}
		assert.Equal(t, want, got)
	})

	t.Run("revoke_deletes_once", func(t *testing.T) {
		w := setup(t)
		require.NoError(t, w.s.Consents.Grant(ctx, consent(w.user, "alpha", oauthBase, "openid")))
		require.NoError(t, w.s.Consents.Grant(ctx, consent(w.user, "beta", oauthBase, "openid")))
		require.NoError(t, w.s.Consents.Grant(ctx, consent(w.stranger, "alpha", oauthBase, "openid")))
		require.NoError(t, w.s.Consents.Revoke(ctx, w.user, "alpha"))
		_, err := w.s.Consents.Get(ctx, w.user, "alpha")
		assert.ErrorIs(t, err, domain.ErrConsentNotFound)
		assert.ErrorIs(t, w.s.Consents.Revoke(ctx, w.user, "alpha"), domain.ErrConsentNotFound)
		_, err = w.s.Consents.Get(ctx, w.user, "beta")
		assert.NoError(t, err, "the user's other consent stays")
		_, err = w.s.Consents.Get(ctx, w.stranger, "alpha")
		assert.NoError(t, err, "another user's consent to the client stays")
	})

	t.Run("a_consent_needs_its_client", func(t *testing.T) {
		w := setup(t)
		err := w.s.Consents.Grant(ctx, consent(w.user, "ghost", oauthBase, "openid"))
		assert.ErrorIs(t, err, domain.ErrOAuthClientNotFound)
	})
}

package application_test

import (
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// authHasher "hashes" p as "h:"+p and records which hashes Verify saw.
type authHasher struct {
	mu        sync.Mutex
	verified  []string
	rehash    bool
	verifyErr error
}

func (h *authHasher) Hash(_ context.Context, p string) (string, error) { return "h:" + p, nil }

func (h *authHasher) Verify(_ context.Context, p, encoded string) (bool, bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.verified = append(h.verified, encoded)
	if h.verifyErr != nil {
		return false, false, h.verifyErr
	}
	return encoded == "h:"+p, h.rehash, nil
}

// fakeThrottle allows everything unless locked, and records the calls.
type fakeThrottle struct {
	mu     sync.Mutex
	locked time.Duration
	calls  []string
}

func (f *fakeThrottle) record(c string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
}

func (f *fakeThrottle) Reserve(context.Context, string, time.Time) (bool, time.Duration, error) {
	f.record("reserve")
	return f.locked == 0, f.locked, nil
}
func (f *fakeThrottle) Release(context.Context, string) error { f.record("release"); return nil }
func (f *fakeThrottle) Fail(context.Context, string, time.Time) (bool, error) {
	f.record("fail")
	return false, nil
}
func (f *fakeThrottle) Reset(context.Context, string) error { f.record("reset"); return nil }

// fakeSessions keeps sessions and refresh tokens in maps.
type fakeSessions struct {
	mu       sync.Mutex
	sessions map[uuid.UUID]domain.Session
	tokens   map[string]domain.RefreshToken
}

func newFakeSessions() *fakeSessions {
	return &fakeSessions{sessions: map[uuid.UUID]domain.Session{}, tokens: map[string]domain.RefreshToken{}}
}

func (f *fakeSessions) Create(_ context.Context, s domain.Session, first domain.RefreshToken) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sessions[s.ID], f.tokens[string(first.Hash)] = s, first
	return nil
}

func (f *fakeSessions) ByID(_ context.Context, id uuid.UUID) (domain.Session, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.sessions[id]
	if !ok {
		return domain.Session{}, domain.ErrSessionNotFound
	}
	return s, nil
}

func (f *fakeSessions) ActiveByUser(context.Context, uuid.UUID, time.Time) ([]domain.Session, error) {
	return nil, errors.New("not used")
}

func (f *fakeSessions) Touch(context.Context, uuid.UUID, time.Time, string, string) error { return nil }

func (f *fakeSessions) Revoke(_ context.Context, id uuid.UUID, at time.Time, reason string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.sessions[id]
	if s.RevokedAt != nil {
		return false, nil
	}
	s.RevokedAt, s.RevokeReason = &at, reason
	f.sessions[id] = s
	return true, nil
}

func (f *fakeSessions) RevokeAllForUser(context.Context, uuid.UUID, time.Time, string) ([]uuid.UUID, error) {
	return nil, errors.New("not used")
}

func (f *fakeSessions) RevokedSince(context.Context, time.Time) ([]domain.RevokedSession, error) {
	return nil, nil
}

func (f *fakeSessions) AddRefreshToken(_ context.Context, t domain.RefreshToken) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokens[string(t.Hash)] = t
	return nil
}

func (f *fakeSessions) RefreshTokenByHash(_ context.Context, hash []byte) (domain.RefreshToken, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.tokens[string(hash)]
	if !ok {
		return domain.RefreshToken{}, domain.ErrInvalidToken
	}
	return t, nil
}

func (f *fakeSessions) SpendRefreshToken(_ context.Context, id uuid.UUID, at time.Time, successor uuid.UUID) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for h, t := range f.tokens {
		if t.ID == id && t.UsedAt == nil {
			t.UsedAt, t.ReplacedBy = &at, &successor
			f.tokens[h] = t
			return true, nil
		}
	}
	return false, nil
}

// fakeCodec "signs" by naming the session; Verify is not exercised here.
type fakeCodec struct{}

func (fakeCodec) Sign(c domain.AccessClaims, k domain.SigningKey) (string, error) {
	return "access:" + k.KID + ":" + c.SessionID.String(), nil
}

func (fakeCodec) Verify(context.Context, string, ports.KeyLookup) (domain.AccessClaims, error) {
	return domain.AccessClaims{}, domain.ErrInvalidToken
}

// fakeKeyStore and plainBox let a real Keys make one signing key.
type fakeKeyStore struct {
	mu   sync.Mutex
	keys []ports.StoredSigningKey
}

func (f *fakeKeyStore) Create(_ context.Context, k ports.StoredSigningKey) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys = append([]ports.StoredSigningKey{k}, f.keys...)
	return nil
}

func (f *fakeKeyStore) All(context.Context) ([]ports.StoredSigningKey, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]ports.StoredSigningKey(nil), f.keys...), nil
}

func (f *fakeKeyStore) Retire(context.Context, string, time.Time, time.Time) error { return nil }

type plainBox struct{}

func (plainBox) Seal(p []byte, _ string) ([]byte, error) { return p, nil }
func (plainBox) Open(s []byte, _ string) ([]byte, error) { return s, nil }

// fakeBus records publications and can fail them.
type fakeBus struct {
	mu        sync.Mutex
	published []domain.RevokedSession
	err       error
}

func (b *fakeBus) Publish(_ context.Context, rs []domain.RevokedSession) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return b.err
	}
	b.published = append(b.published, rs...)
	return nil
}

func (b *fakeBus) Subscribe(context.Context, ports.RevocationHandler) error { return nil }

type authFixture struct {
	db       *memDB
	hasher   *authHasher
	throttle *fakeThrottle
	sessions *fakeSessions
	bus      *fakeBus
	revoked  *application.RevocationList
	auth     *application.Auth
	clock    *movingClock
	user     domain.User
}

// movingClock is a clock tests move forward.
type movingClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *movingClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *movingClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newAuthFixture(t *testing.T, cfg application.AuthConfig) *authFixture {
	t.Helper()
	f := &authFixture{db: newMemDB(), hasher: &authHasher{}, throttle: &fakeThrottle{}, sessions: newFakeSessions(),
		bus: &fakeBus{}, clock: &movingClock{t: testNow}}
	ids := &seqIDs{}
	keys := application.NewKeys(&fakeKeyStore{}, plainBox{}, fakeTx{f.db}, fakeAudit{f.db}, f.clock, ids, rand.Reader, time.Hour)
	_, err := keys.EnsureActive(context.Background())
	require.NoError(t, err)
	f.revoked = application.NewRevocationList(f.sessions, f.clock, time.Hour)
	require.NoError(t, f.revoked.Resync(context.Background()))
	if cfg.AccessTTL == 0 {
		cfg = application.AuthConfig{AccessTTL: 15 * time.Minute, RefreshIdleTTL: 7 * 24 * time.Hour,
			SessionTTL: 30 * 24 * time.Hour, ReuseGrace: cfg.ReuseGrace}
	}
	f.auth, err = application.NewAuth(context.Background(), application.AuthDeps{
		Users: fakeUsers{f.db}, SessionStore: f.sessions, Tx: fakeTx{f.db}, Hasher: f.hasher, Audit: fakeAudit{f.db},
		Clock: f.clock, IDs: ids, Random: rand.Reader, Throttle: f.throttle, Codec: fakeCodec{},
		Keys: application.NewKeyRing(keys, time.Minute), Revoked: f.revoked, Revocation: f.bus,
	}, cfg)
	require.NoError(t, err)
	u := domain.NewUser(domain.NewUserParams{ID: uuid.New(), Email: domain.MustEmail("ada@example.com"),
		Username: domain.MustUsername("ada"), PasswordHash: "h:right password", Now: testNow})
	f.db.users[u.ID] = *u
	f.user = *u
	return f
}

func (f *authFixture) actions() []string {
	var out []string
	for _, e := range f.db.events {
		out = append(out, e.Action)
	}
	return out
}

func TestLoginUnknownUserCostsAPasswordCheck(t *testing.T) {
	f := newAuthFixture(t, application.AuthConfig{})
	_, err := f.auth.Login(context.Background(), application.LoginInput{Login: "nobody", Password: "right password"})
	require.ErrorIs(t, err, domain.ErrInvalidCredentials)
	require.Len(t, f.hasher.verified, 1, "an unknown login is verified against the dummy hash")
	assert.NotEqual(t, f.user.PasswordHash, f.hasher.verified[0])
	assert.Equal(t, []string{"reserve", "fail"}, f.throttle.calls, "unknown logins count towards the lock")

	_, err = f.auth.Login(context.Background(), application.LoginInput{Login: "ada", Password: "wrong password"})
	require.ErrorIs(t, err, domain.ErrInvalidCredentials, "same error as an unknown login")
	assert.Contains(t, f.actions(), domain.ActionLoginFailed)
}

func TestLoginInactiveUserIsRefusedLikeAWrongPassword(t *testing.T) {
	f := newAuthFixture(t, application.AuthConfig{})
	u := f.db.users[f.user.ID]
	u.IsActive = false
	f.db.users[u.ID] = u
	_, err := f.auth.Login(context.Background(), application.LoginInput{Login: "ada", Password: "right password"})
	require.ErrorIs(t, err, domain.ErrInvalidCredentials)
}

func TestLoginLockedChecksNoPassword(t *testing.T) {
	f := newAuthFixture(t, application.AuthConfig{})
	f.throttle.locked = 7 * time.Minute
	_, err := f.auth.Login(context.Background(), application.LoginInput{Login: "ada", Password: "right password"})
	var de *domain.Error
	require.ErrorAs(t, err, &de)
	assert.Equal(t, "login_locked", de.Code)
	assert.Equal(t, 7*time.Minute, de.RetryAfter)
	assert.Empty(t, f.hasher.verified)
	assert.Contains(t, f.actions(), domain.ActionLoginLocked)
}

func TestLoginWithFullHashPoolDoesNotCountAsFailure(t *testing.T) {
	f := newAuthFixture(t, application.AuthConfig{})
	f.hasher.verifyErr = domain.ErrHashingOverloaded
	_, err := f.auth.Login(context.Background(), application.LoginInput{Login: "ada", Password: "right password"})
	require.ErrorIs(t, err, domain.ErrHashingOverloaded)
	assert.Equal(t, []string{"reserve", "release"}, f.throttle.calls)
}

func TestLoginRehashesWhenAsked(t *testing.T) {
	f := newAuthFixture(t, application.AuthConfig{})
	f.hasher.rehash = true
	f.db.users[f.user.ID] = func() domain.User { u := f.user; u.PasswordHash = "h:right password"; return u }()
	pair, err := f.auth.Login(context.Background(), application.LoginInput{Login: "ADA@example.com", Password: "right password"})
	require.NoError(t, err)
	assert.Equal(t, []string{"reserve", "reset"}, f.throttle.calls)
	stored := f.db.users[f.user.ID]
	assert.Equal(t, "h:right password", stored.PasswordHash)
	require.NotNil(t, stored.LastLoginAt)
	last := f.db.events[len(f.db.events)-1]
	assert.Equal(t, domain.ActionLoginSucceeded, last.Action)
	assert.Equal(t, true, last.Details["password_rehashed"])
	assert.Equal(t, pair.SessionID.String(), last.TargetID)
}

func TestRefreshReuse(t *testing.T) {
	for name, tc := range map[string]struct {
		grace       time.Duration
		after       time.Duration
		wantRevoked bool
	}{
		"strict_mode_revokes":        {grace: 0, after: time.Second, wantRevoked: true},
		"within_grace_keeps_session": {grace: 10 * time.Second, after: 5 * time.Second, wantRevoked: false},
		"after_grace_revokes":        {grace: 10 * time.Second, after: 11 * time.Second, wantRevoked: true},
	} {
		t.Run(name, func(t *testing.T) {
			f := newAuthFixture(t, application.AuthConfig{ReuseGrace: tc.grace})
			ctx := context.Background()
			first, err := f.auth.Login(ctx, application.LoginInput{Login: "ada", Password: "right password"})
			require.NoError(t, err)
			second, err := f.auth.Refresh(ctx, first.RefreshToken)
			require.NoError(t, err)
			f.clock.Advance(tc.after)

			_, err = f.auth.Refresh(ctx, first.RefreshToken)
			require.ErrorIs(t, err, domain.ErrRefreshTokenReused)
			assert.Contains(t, f.actions(), domain.ActionRefreshReused)

			revoked, err := f.revoked.IsRevoked(ctx, first.SessionID)
			require.NoError(t, err)
			assert.Equal(t, tc.wantRevoked, revoked)
			_, err = f.auth.Refresh(ctx, second.RefreshToken)
			if tc.wantRevoked {
				assert.ErrorIs(t, err, domain.ErrInvalidToken)
				require.Len(t, f.bus.published, 1, "the revocation is announced to other instances")
			} else {
				assert.NoError(t, err)
				assert.Empty(t, f.bus.published)
			}
		})
	}
}

func TestRefreshRefusesExpiredTokensAndSessions(t *testing.T) {
	f := newAuthFixture(t, application.AuthConfig{})
	ctx := context.Background()
	pair, err := f.auth.Login(ctx, application.LoginInput{Login: "ada", Password: "right password"})
	require.NoError(t, err)
	f.clock.Advance(7*24*time.Hour + time.Second)
	_, err = f.auth.Refresh(ctx, pair.RefreshToken)
	assert.ErrorIs(t, err, domain.ErrInvalidToken, "idle limit")

	pair, err = f.auth.Login(ctx, application.LoginInput{Login: "ada", Password: "right password"})
	require.NoError(t, err)
	for i := 0; i < 4; i++ {
		f.clock.Advance(6 * 24 * time.Hour)
		res, err := f.auth.Refresh(ctx, pair.RefreshToken)
		require.NoError(t, err, "refresh %d", i)
		pair = res
	}
	assert.Equal(t, 6*24*time.Hour, pair.RefreshExpiresIn, "never beyond the session's 30-day end")
	f.clock.Advance(6*24*time.Hour + time.Second)
	_, err = f.auth.Refresh(ctx, pair.RefreshToken)
	assert.ErrorIs(t, err, domain.ErrInvalidToken, "absolute limit")
}

func TestLogoutThatCannotBeAnnouncedIsAnError(t *testing.T) {
	f := newAuthFixture(t, application.AuthConfig{})
	ctx := context.Background()
	pair, err := f.auth.Login(ctx, application.LoginInput{Login: "ada", Password: "right password"})
	require.NoError(t, err)
	f.bus.err = errors.New("redis down")
	err = f.auth.Logout(ctx, domain.Principal{UserID: f.user.ID, SessionID: pair.SessionID})
	var de *domain.Error
	require.ErrorAs(t, err, &de)
	assert.Equal(t, domain.KindUnavailable, de.Kind)
	revoked, err := f.revoked.IsRevoked(ctx, pair.SessionID)
	require.NoError(t, err)
	assert.True(t, revoked, "this instance refuses the session at once anyway")

	f.bus.err = nil
	require.NoError(t, f.auth.Logout(ctx, domain.Principal{UserID: f.user.ID, SessionID: pair.SessionID}),
		"a retry announces it")
	assert.Len(t, f.bus.published, 1)
}

func TestRevocationListFallsBackToTheStoreWhenNotSynced(t *testing.T) {
	sessions := newFakeSessions()
	clock := &movingClock{t: testNow}
	l := application.NewRevocationList(sessions, clock, time.Hour)
	revokedAt := testNow
	live, dead := uuid.New(), uuid.New()
	sessions.sessions[live] = domain.Session{ID: live, ExpiresAt: testNow.Add(time.Hour)}
	sessions.sessions[dead] = domain.Session{ID: dead, ExpiresAt: testNow.Add(time.Hour), RevokedAt: &revokedAt}
	ctx := context.Background()

	for id, want := range map[uuid.UUID]bool{live: false, dead: true, uuid.New(): true} {
		got, err := l.IsRevoked(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, want, got, "before the first sync the store decides")
	}
	require.NoError(t, l.Resync(ctx))
	l.Lost(errors.New("connection reset"))
	got, err := l.IsRevoked(ctx, dead)
	require.NoError(t, err)
	assert.True(t, got, "a lost subscription falls back to the store")

	require.NoError(t, l.Resync(ctx))
	l.Revoked([]domain.RevokedSession{{SessionID: live, RevokedAt: testNow}})
	got, _ = l.IsRevoked(ctx, live)
	assert.True(t, got)
	clock.Advance(time.Hour + time.Second)
	l.Revoked(nil)
	got, _ = l.IsRevoked(ctx, live)
	assert.False(t, got, "forgotten once every token it could have had has expired")
}

func TestLoginHonoursAnAccountLockUntilItEnds(t *testing.T) {
	f := newAuthFixture(t, application.AuthConfig{})
	u := f.db.users[f.user.ID]
	until := testNow.Add(10 * time.Minute)
	u.LockedUntil = &until
	f.db.users[u.ID] = u
	_, err := f.auth.Login(context.Background(), application.LoginInput{Login: "ada", Password: "right password"})
	var de *domain.Error
	require.ErrorAs(t, err, &de)
	assert.Equal(t, "login_locked", de.Code)
	assert.Equal(t, 10*time.Minute, de.RetryAfter)
	assert.Empty(t, f.hasher.verified, "no password is checked while locked")

	f.clock.Advance(11 * time.Minute)
	_, err = f.auth.Login(context.Background(), application.LoginInput{Login: "ada", Password: "right password"})
	assert.NoError(t, err, "the lock is temporary")
}

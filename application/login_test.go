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
)

type authFixture struct {
	db       *memDB
	hasher   *authHasher
	throttle *fakeThrottle
	account  *fakeThrottle
	sessions *fakeSessions
	bus      *fakeBus
	revoked  *application.RevocationList
	login    *application.Login
	creds    *application.Credentials
	sess     *application.Sessions
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

func newAuthFixture(t *testing.T, cfg application.SessionConfig) *authFixture {
	t.Helper()
	f := &authFixture{db: newMemDB(), hasher: &authHasher{}, throttle: &fakeThrottle{}, account: &fakeThrottle{},
		sessions: newFakeSessions(), bus: &fakeBus{}, clock: &movingClock{t: testNow}}
	ids := &seqIDs{}
	tx, audit, users := fakeTx{f.db}, fakeAudit{f.db}, fakeUsers{f.db}
	keys := application.NewKeys(&fakeKeyStore{}, plainBox{}, tx, audit, f.clock, ids, rand.Reader, time.Hour)
	_, err := keys.EnsureActive(context.Background())
	require.NoError(t, err)
	f.revoked = application.NewRevocationList(f.sessions, f.clock, time.Hour)
	require.NoError(t, f.revoked.Resync(context.Background()))
	if cfg.AccessTTL == 0 {
		cfg = application.SessionConfig{AccessTTL: 15 * time.Minute, RefreshIdleTTL: 7 * 24 * time.Hour,
			SessionTTL: 30 * 24 * time.Hour, ReuseGrace: cfg.ReuseGrace}
	}
	revoker := application.NewRevoker(f.sessions, tx, audit, f.clock, ids, f.revoked, f.bus)
	creds, err := application.NewCredentials(context.Background(), users, f.hasher,
		application.Throttles{Login: f.throttle, Account: f.account}, f.clock, rand.Reader)
	require.NoError(t, err)
	f.creds = creds
	f.sess = application.NewSessions(application.SessionDeps{Store: f.sessions, Users: users, Tx: tx, Audit: audit,
		Clock: f.clock, IDs: ids, Random: rand.Reader, Codec: fakeCodec{}, Keys: application.NewKeyRing(keys, time.Minute),
		Revoked: f.revoked, Revoker: revoker}, cfg)
	f.login = application.NewLogin(application.LoginDeps{Credentials: creds, MFA: application.NewMFA(application.MFADeps{}),
		Sessions: f.sess, Audit: audit, Clock: f.clock, IDs: ids}, false)
	u := domain.NewUser(domain.NewUserParams{ID: uuid.New(), Email: domain.MustEmail("ada@example.com"),
		Username: domain.MustUsername("ada"), PasswordHash: "h:right password", Now: testNow})
	f.db.users[u.ID()] = *u
	f.user = *u
	return f
}

// setUser replaces the stored user's state.
func (f *authFixture) setUser(edit func(s *domain.UserState)) {
	s := f.user.State()
	edit(&s)
	f.db.users[s.ID] = *domain.RehydrateUser(s)
}

func (f *authFixture) actions() []string {
	var out []string
	for _, e := range f.db.events {
		out = append(out, e.Action)
	}
	return out
}

func TestLoginUnknownUserCostsAPasswordCheck(t *testing.T) {
	f := newAuthFixture(t, application.SessionConfig{})
	_, err := f.login.Login(context.Background(), application.LoginInput{Login: "nobody", Password: "right password"})
	require.ErrorIs(t, err, domain.ErrInvalidCredentials)
	require.Len(t, f.hasher.verified, 1, "an unknown login is verified against the dummy hash")
	assert.NotEqual(t, f.user.PasswordHash(), f.hasher.verified[0])
	assert.Equal(t, []string{"reserve", "fail"}, f.throttle.calls, "unknown logins count towards the lock")
	assert.Equal(t, []string{"reserve", "fail"}, f.account.calls, "and cost the account counter's work too")

	_, err = f.login.Login(context.Background(), application.LoginInput{Login: "ada", Password: "wrong password"})
	require.ErrorIs(t, err, domain.ErrInvalidCredentials, "same error as an unknown login")
	assert.Contains(t, f.actions(), domain.ActionLoginFailed)
}

func TestLoginInactiveUserIsRefusedLikeAWrongPassword(t *testing.T) {
	f := newAuthFixture(t, application.SessionConfig{})
	f.setUser(func(s *domain.UserState) { s.IsActive = false })
	_, err := f.login.Login(context.Background(), application.LoginInput{Login: "ada", Password: "right password"})
	require.ErrorIs(t, err, domain.ErrInvalidCredentials)
}

func TestLoginLockedChecksNoPassword(t *testing.T) {
	f := newAuthFixture(t, application.SessionConfig{})
	f.throttle.locked = 7 * time.Minute
	_, err := f.login.Login(context.Background(), application.LoginInput{Login: "ada", Password: "right password"})
	var de *domain.Error
	require.ErrorAs(t, err, &de)
	assert.Equal(t, "login_locked", de.Code)
	assert.Equal(t, 7*time.Minute, de.RetryAfter)
	assert.Empty(t, f.hasher.verified)
	assert.Contains(t, f.actions(), domain.ActionLoginLocked)
}

func TestLoginWithFullHashPoolDoesNotCountAsFailure(t *testing.T) {
	f := newAuthFixture(t, application.SessionConfig{})
	f.hasher.verifyErr = domain.ErrHashingOverloaded
	_, err := f.login.Login(context.Background(), application.LoginInput{Login: "ada", Password: "right password"})
	require.ErrorIs(t, err, domain.ErrHashingOverloaded)
	assert.Equal(t, []string{"reserve", "release"}, f.throttle.calls)
}

func TestLoginShedByTheHashPoolTouchesNothing(t *testing.T) {
	f := newAuthFixture(t, application.SessionConfig{})
	f.hasher.admitErr = domain.ErrHashingOverloaded
	before := f.actions()
	_, err := f.login.Login(context.Background(), application.LoginInput{Login: "ada", Password: "right password"})
	require.ErrorIs(t, err, domain.ErrHashingOverloaded)
	assert.Empty(t, f.throttle.calls, "no reservation")
	assert.Empty(t, f.hasher.verified, "no check")
	assert.Equal(t, before, f.actions(), "nothing to audit: the account was not even looked up")
}

func TestLoginRehashesWhenAsked(t *testing.T) {
	f := newAuthFixture(t, application.SessionConfig{})
	f.hasher.rehash = true
	pair, err := f.login.Login(context.Background(), application.LoginInput{Login: "ADA@example.com", Password: "right password"})
	require.NoError(t, err)
	assert.Equal(t, []string{"reserve", "reset"}, f.throttle.calls)
	assert.Equal(t, []string{"reserve", "reset"}, f.account.calls)
	stored := f.db.users[f.user.ID()]
	assert.Equal(t, "h:right password", stored.PasswordHash())
	require.NotNil(t, stored.LastLoginAt())
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
			f := newAuthFixture(t, application.SessionConfig{ReuseGrace: tc.grace})
			ctx := context.Background()
			first, err := f.login.Login(ctx, application.LoginInput{Login: "ada", Password: "right password"})
			require.NoError(t, err)
			second, err := f.sess.Refresh(ctx, first.RefreshToken)
			require.NoError(t, err)
			f.clock.Advance(tc.after)

			_, err = f.sess.Refresh(ctx, first.RefreshToken)
			require.ErrorIs(t, err, domain.ErrRefreshTokenReused)
			assert.Contains(t, f.actions(), domain.ActionRefreshReused)

			revoked, err := f.revoked.IsRevoked(ctx, first.SessionID)
			require.NoError(t, err)
			assert.Equal(t, tc.wantRevoked, revoked)
			_, err = f.sess.Refresh(ctx, second.RefreshToken)
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
	f := newAuthFixture(t, application.SessionConfig{})
	ctx := context.Background()
	pair, err := f.login.Login(ctx, application.LoginInput{Login: "ada", Password: "right password"})
	require.NoError(t, err)
	f.clock.Advance(7*24*time.Hour + time.Second)
	_, err = f.sess.Refresh(ctx, pair.RefreshToken)
	assert.ErrorIs(t, err, domain.ErrInvalidToken, "idle limit")

	pair, err = f.login.Login(ctx, application.LoginInput{Login: "ada", Password: "right password"})
	require.NoError(t, err)
	for i := 0; i < 4; i++ {
		f.clock.Advance(6 * 24 * time.Hour)
		res, err := f.sess.Refresh(ctx, pair.RefreshToken)
		require.NoError(t, err, "refresh %d", i)
		pair = res
	}
	assert.Equal(t, 6*24*time.Hour, pair.RefreshExpiresIn, "never beyond the session's 30-day end")
	f.clock.Advance(6*24*time.Hour + time.Second)
	_, err = f.sess.Refresh(ctx, pair.RefreshToken)
	assert.ErrorIs(t, err, domain.ErrInvalidToken, "absolute limit")
}

func TestLogoutThatCannotBeAnnouncedIsAnError(t *testing.T) {
	f := newAuthFixture(t, application.SessionConfig{})
	ctx := context.Background()
	pair, err := f.login.Login(ctx, application.LoginInput{Login: "ada", Password: "right password"})
	require.NoError(t, err)
	f.bus.err = errors.New("redis down")
	err = f.sess.Logout(ctx, domain.Principal{UserID: f.user.ID(), SessionID: pair.SessionID})
	var de *domain.Error
	require.ErrorAs(t, err, &de)
	assert.Equal(t, domain.KindUnavailable, de.Kind)
	revoked, err := f.revoked.IsRevoked(ctx, pair.SessionID)
	require.NoError(t, err)
	assert.True(t, revoked, "this instance refuses the session at once anyway")

	f.bus.err = nil
	require.NoError(t, f.sess.Logout(ctx, domain.Principal{UserID: f.user.ID(), SessionID: pair.SessionID}),
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

func TestLoginHonoursAnAccountLockOnlyForTheRightPassword(t *testing.T) {
	f := newAuthFixture(t, application.SessionConfig{})
	until := testNow.Add(10 * time.Minute)
	f.setUser(func(s *domain.UserState) { s.Lock = domain.AccountLock{Until: &until, Failures: 5} })

	_, err := f.login.Login(context.Background(), application.LoginInput{Login: "ada", Password: "wrong password"})
	require.ErrorIs(t, err, domain.ErrInvalidCredentials, "a wrong password is answered as for any account, locked or not")
	require.Len(t, f.hasher.verified, 1, "the password is checked before the lock shows")

	_, err = f.login.Login(context.Background(), application.LoginInput{Login: "ada", Password: "right password"})
	var de *domain.Error
	require.ErrorAs(t, err, &de)
	assert.Equal(t, "login_locked", de.Code)
	assert.Equal(t, 10*time.Minute, de.RetryAfter)

	f.clock.Advance(11 * time.Minute)
	_, err = f.login.Login(context.Background(), application.LoginInput{Login: "ada", Password: "right password"})
	assert.NoError(t, err, "the lock is temporary")
}

func TestLoginIsJudgedAgainWhenTheAccountChangedMeanwhile(t *testing.T) {
	f := newAuthFixture(t, application.SessionConfig{})
	// The password changes between the check and the session: the hasher
	// changes the stored hash right after verifying the old one.
	f.hasher.afterVerify = func() {
		f.hasher.afterVerify = nil
		f.setUser(func(s *domain.UserState) { s.Password.Hash = "h:new password" })
	}
	_, err := f.login.Login(context.Background(), application.LoginInput{Login: "ada", Password: "right password"})
	require.ErrorIs(t, err, domain.ErrInvalidCredentials, "the old password no longer signs in")
	assert.Empty(t, f.sessions.sessions, "no session was written")
	stored := f.db.users[f.user.ID()]
	assert.Nil(t, stored.LastLoginAt())
}

func TestConfirmCountsAWrongSecondFactorWithoutResettingFirst(t *testing.T) {
	f := newAuthFixture(t, application.SessionConfig{})
	wrongCode := func(context.Context) error { return domain.ErrInvalidMFACode }
	err := f.creds.Confirm(context.Background(), &f.user, "right password", "password", wrongCode)
	require.ErrorIs(t, err, domain.ErrInvalidMFACode)
	assert.Equal(t, []string{"reserve", "fail"}, f.throttle.calls, "a right password does not reset the count before the code")
	assert.Equal(t, []string{"reserve", "fail"}, f.account.calls)

	f.throttle.calls, f.account.calls = nil, nil
	err = f.creds.Confirm(context.Background(), &f.user, "wrong password", "password", wrongCode)
	var de *domain.Error
	require.ErrorAs(t, err, &de)
	assert.Equal(t, "password", de.Fields[0].Field)
	assert.Equal(t, []string{"reserve", "fail"}, f.throttle.calls)

	f.throttle.calls = nil
	require.NoError(t, f.creds.Confirm(context.Background(), &f.user, "right password", "password", nil))
	assert.Equal(t, []string{"reserve", "reset"}, f.throttle.calls)
}

package application_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"slices"
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

// The protocol is the WebAuthn port's (tested with a software
// authenticator in adapters/webauthn); here a fake port stands in for it,
// keeping its contract: find is asked for the owner before anything is
// verified, a bad assertion is domain.ErrPasskeyRefused, and a clone is
// refused with the assertion filled in.

// fakeKey is an authenticator's credential as the fake port sees it.
type fakeKey struct {
	id       []byte
	user     uuid.UUID
	synced   bool
	counter  uint32
	verified bool
}

func newFakeKey(user uuid.UUID) *fakeKey {
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	return &fakeKey{id: id, user: user, verified: true}
}

type fakeSession struct {
	Challenge string     `json:"c"`
	User      *uuid.UUID `json:"u,omitempty"`
	Allow     [][]byte   `json:"a,omitempty"`
	Register  bool       `json:"r,omitempty"`
}

type fakeOptions struct {
	Challenge string   `json:"challenge"`
	Allow     [][]byte `json:"allow,omitempty"`
	Exclude   [][]byte `json:"exclude,omitempty"`
}

// fakeResponse is what a browser would send back.
type fakeResponse struct {
	Challenge    string
	CredentialID []byte
	UserHandle   []byte
	Counter      uint32
	UV, BE, BS   bool
	// Forged is a signature that does not verify.
	Forged bool
}

type fakeWebAuthn struct {
	mu sync.Mutex
	n  int
}

var _ ports.WebAuthn = (*fakeWebAuthn)(nil)

func (w *fakeWebAuthn) challenge() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.n++
	return fmt.Sprintf("challenge-%d", w.n)
}

func (w *fakeWebAuthn) ceremony(s fakeSession, o fakeOptions) ([]byte, []byte, error) {
	sb, err := json.Marshal(s)
	if err != nil {
		return nil, nil, err
	}
	ob, err := json.Marshal(o)
	return ob, sb, err
}

func (w *fakeWebAuthn) BeginRegistration(user ports.PasskeyUser) ([]byte, []byte, error) {
	c := w.challenge()
	o := fakeOptions{Challenge: c}
	for _, p := range user.Passkeys {
		o.Exclude = append(o.Exclude, p.CredentialID)
	}
	return w.ceremony(fakeSession{Challenge: c, User: &user.ID, Register: true}, o)
}

func refusedBy(reason string) error {
	return fmt.Errorf("fake webauthn: %s: %w", reason, domain.ErrPasskeyRefused)
}

func (w *fakeWebAuthn) FinishRegistration(user ports.PasskeyUser, session, response []byte) (domain.Passkey, error) {
	var s fakeSession
	var r fakeResponse
	if err := json.Unmarshal(session, &s); err != nil {
		return domain.Passkey{}, err
	}
	if json.Unmarshal(response, &r) != nil || !s.Register || s.User == nil || *s.User != user.ID ||
		r.Challenge != s.Challenge || r.Forged {
		return domain.Passkey{}, refusedBy("registration")
	}
	for _, p := range user.Passkeys {
		if bytes.Equal(p.CredentialID, r.CredentialID) {
			return domain.Passkey{}, refusedBy("excluded")
		}
	}
	return domain.Passkey{CredentialID: r.CredentialID, PublicKey: []byte("cose"), SignCount: r.Counter,
		BackupEligible: r.BE, BackedUp: r.BS, AttestationType: "none", Transports: []string{"internal"}}, nil
}

func (w *fakeWebAuthn) BeginLogin(user *ports.PasskeyUser) ([]byte, []byte, error) {
	c := w.challenge()
	if user == nil {
		return w.ceremony(fakeSession{Challenge: c}, fakeOptions{Challenge: c})
	}
	if len(user.Passkeys) == 0 {
		return nil, nil, domain.ErrPasskeyNotFound
	}
	s := fakeSession{Challenge: c, User: &user.ID}
	for _, p := range user.Passkeys {
		s.Allow = append(s.Allow, p.CredentialID)
	}
	return w.ceremony(s, fakeOptions{Challenge: c, Allow: s.Allow})
}

func (w *fakeWebAuthn) FinishLogin(session, response []byte, find func(userHandle, credentialID []byte) (ports.PasskeyUser, error)) (ports.Assertion, error) {
	var s fakeSession
	var r fakeResponse
	if err := json.Unmarshal(session, &s); err != nil {
		return ports.Assertion{}, err
	}
	if json.Unmarshal(response, &r) != nil || s.Register || r.Challenge != s.Challenge {
		return ports.Assertion{}, refusedBy("challenge")
	}
	handle := r.UserHandle
	if s.User != nil {
		handle = s.User[:]
	}
	owner, err := find(handle, r.CredentialID)
	if err != nil {
		return ports.Assertion{}, err
	}
	i := slices.IndexFunc(owner.Passkeys, func(p domain.Passkey) bool { return bytes.Equal(p.CredentialID, r.CredentialID) })
	if i < 0 || (s.User != nil && !slices.ContainsFunc(s.Allow, func(id []byte) bool { return bytes.Equal(id, r.CredentialID) })) {
		return ports.Assertion{}, refusedBy("not the user's credential")
	}
	if r.Forged || r.BE != owner.Passkeys[i].BackupEligible {
		return ports.Assertion{}, refusedBy("signature")
	}
	stored := owner.Passkeys[i]
	a := ports.Assertion{UserID: owner.ID, Passkey: stored, SignCount: r.Counter, BackedUp: r.BS,
		UserVerified: r.UV, Hardware: !stored.BackupEligible}
	if r.Counter <= stored.SignCount && (r.Counter != 0 || stored.SignCount != 0) {
		return a, refusedBy("counter")
	}
	return a, nil
}

// answer is key's response to a ceremony's options (what the browser
// would do), then key's counter moves on.
func answer(t *testing.T, c application.Ceremony, key *fakeKey, edit ...func(r *fakeResponse)) []byte {
	t.Helper()
	var o fakeOptions
	require.NoError(t, json.Unmarshal(c.Options, &o))
	key.counter++
	r := fakeResponse{Challenge: o.Challenge, CredentialID: key.id, UserHandle: key.user[:], Counter: key.counter,
		UV: key.verified, BE: key.synced, BS: key.synced}
	if key.synced {
		r.Counter = 0
	}
	for _, e := range edit {
		e(&r)
	}
	b, err := json.Marshal(r)
	require.NoError(t, err)
	return b
}

// fakePasskeyRepo keeps the guards of the real stores.
type fakePasskeyRepo struct {
	mu   sync.Mutex
	keys []domain.Passkey
	uses []domain.PasskeyUse
	// race, when set, makes the next RecordUse lose its guard.
	race bool
}

var _ ports.PasskeyRepository = (*fakePasskeyRepo)(nil)

func (f *fakePasskeyRepo) Create(_ context.Context, p domain.Passkey) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range f.keys {
		if bytes.Equal(k.CredentialID, p.CredentialID) {
			return domain.ErrConflict
		}
	}
	f.keys = append(f.keys, p)
	return nil
}

func (f *fakePasskeyRepo) ByUser(_ context.Context, userID uuid.UUID) ([]domain.Passkey, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []domain.Passkey
	for _, k := range f.keys {
		if k.UserID == userID {
			out = append(out, k)
		}
	}
	return out, nil
}

func (f *fakePasskeyRepo) ByCredentialID(_ context.Context, id []byte) (domain.Passkey, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, k := range f.keys {
		if bytes.Equal(k.CredentialID, id) {
			return k, nil
		}
	}
	return domain.Passkey{}, domain.ErrPasskeyNotFound
}

func (f *fakePasskeyRepo) RecordUse(_ context.Context, id uuid.UUID, use domain.PasskeyUse) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.race {
		f.race = false
		return domain.ErrConcurrentChange
	}
	for i, k := range f.keys {
		if k.ID == id {
			if k.SignCount != use.From {
				return domain.ErrConcurrentChange
			}
			at := use.At
			f.keys[i].SignCount, f.keys[i].BackedUp, f.keys[i].LastUsedAt = use.To, use.BackedUp, &at
			f.uses = append(f.uses, use)
			return nil
		}
	}
	return domain.ErrPasskeyNotFound
}

func (f *fakePasskeyRepo) edit(userID, id uuid.UUID, change func(i int)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, k := range f.keys {
		if k.ID == id && k.UserID == userID {
			change(i)
			return nil
		}
	}
	return domain.ErrPasskeyNotFound
}

func (f *fakePasskeyRepo) Rename(_ context.Context, userID, id uuid.UUID, name string) error {
	return f.edit(userID, id, func(i int) { f.keys[i].Name = name })
}

func (f *fakePasskeyRepo) Delete(_ context.Context, userID, id uuid.UUID) error {
	return f.edit(userID, id, func(i int) { f.keys = slices.Delete(f.keys, i, i+1) })
}

// fakeCeremonies is a CeremonyStore in a map.
type fakeCeremonies struct {
	mu sync.Mutex
	m  map[string]fakeCeremony
}

type fakeCeremony struct {
	data    []byte
	expires time.Time
}

var _ ports.CeremonyStore = (*fakeCeremonies)(nil)

func (f *fakeCeremonies) Put(_ context.Context, id string, data []byte, exp time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.m[id] = fakeCeremony{data: data, expires: exp}
	return nil
}

func (f *fakeCeremonies) Take(_ context.Context, id string, now time.Time) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c, ok := f.m[id]
	delete(f.m, id)
	if !ok || !now.Before(c.expires) {
		return nil, domain.ErrCeremonyExpired
	}
	return c.data, nil
}

func (f *fakeCeremonies) DeleteExpired(context.Context, time.Time) (int, error) { return 0, nil }

type randomIDs struct{}

func (randomIDs) NewID() uuid.UUID { return uuid.New() }

type passkeyFixture struct {
	*authFixture
	repo       *fakePasskeyRepo
	ceremonies *fakeCeremonies
	twoStep    *application.Login
	pk         *application.Passkeys
	me         domain.Principal
}

func newPasskeyFixture(t *testing.T) *passkeyFixture {
	t.Helper()
	f := &passkeyFixture{authFixture: newAuthFixture(t, application.SessionConfig{}), repo: &fakePasskeyRepo{},
		ceremonies: &fakeCeremonies{m: map[string]fakeCeremony{}}}
	f.twoStep = twoStepLogin(f.authFixture)
	f.pk = application.NewPasskeys(application.PasskeysDeps{Repo: f.repo, Ceremonies: f.ceremonies,
		WebAuthn: &fakeWebAuthn{}, Users: fakeUsers{f.db}, Login: f.twoStep, Sessions: f.sess, Tx: fakeTx{f.db},
		Audit: fakeAudit{f.db}, Clock: f.clock, IDs: randomIDs{}, Random: rand.Reader})
	f.me = domain.Principal{UserID: f.user.ID(), SessionID: uuid.New()}
	return f
}

// enrol registers key for the fixture's user (with a recent sign-in).
func (f *passkeyFixture) enrol(t *testing.T, key *fakeKey) domain.Passkey {
	t.Helper()
	ctx := context.Background()
	c, err := f.pk.BeginRegistration(ctx, f.me, application.Reauth{RecentSignIn: true})
	require.NoError(t, err)
	var o fakeOptions
	require.NoError(t, json.Unmarshal(c.Options, &o))
	resp, err := json.Marshal(fakeResponse{Challenge: o.Challenge, CredentialID: key.id, BE: key.synced, BS: key.synced})
	require.NoError(t, err)
	p, err := f.pk.FinishRegistration(ctx, f.me, c.ID, resp, "")
	require.NoError(t, err)
	return p
}

// signIn runs a passwordless sign-in with key.
func (f *passkeyFixture) signIn(t *testing.T, key *fakeKey, edit ...func(r *fakeResponse)) (application.PasskeySignIn, error) {
	t.Helper()
	c, err := f.pk.BeginLogin(context.Background())
	require.NoError(t, err)
	return f.pk.FinishLogin(context.Background(), c.ID, answer(t, c, key, edit...))
}

func (f *passkeyFixture) reset() {
	f.throttle.calls, f.account.calls = nil, nil
	f.db.mu.Lock()
	f.db.events = nil
	f.db.mu.Unlock()
}

func (f *passkeyFixture) event(action string) (domain.AuditEvent, bool) {
	f.db.mu.Lock()
	defer f.db.mu.Unlock()
	for _, e := range f.db.events {
		if e.Action == action {
			return e, true
		}
	}
	return domain.AuditEvent{}, false
}

func TestPasskeyRegistrationNeedsTheOwner(t *testing.T) {
	f := newPasskeyFixture(t)
	ctx := context.Background()

	_, err := f.pk.BeginRegistration(ctx, f.me, application.Reauth{Password: "wrong password"})
	var de *domain.Error
	require.ErrorAs(t, err, &de)
	assert.Equal(t, "password", de.Fields[0].Field)
	assert.Equal(t, []string{"reserve", "fail"}, f.throttle.calls, "a wrong password counts towards the lock")
	assert.Empty(t, f.ceremonies.m)

	_, err = f.pk.BeginRegistration(ctx, f.me, application.Reauth{})
	require.Error(t, err, "no proof at all")

	c, err := f.pk.BeginRegistration(ctx, f.me, application.Reauth{Password: "right password"})
	require.NoError(t, err)
	assert.Len(t, c.ID, 43, "32 random bytes")
	assert.Equal(t, 5*time.Minute, c.ExpiresIn)
	assert.Len(t, f.ceremonies.m, 1)

	verified := len(f.hasher.verified)
	_, err = f.pk.BeginRegistration(ctx, f.me, application.Reauth{RecentSignIn: true})
	require.NoError(t, err)
	assert.Len(t, f.hasher.verified, verified, "a recent sign-in the caller checked needs no password")
}

func TestPasskeyRegistration(t *testing.T) {
	f := newPasskeyFixture(t)
	ctx := context.Background()
	first := f.enrol(t, newFakeKey(f.user.ID()))
	assert.Equal(t, "Passkey 1", first.Name)
	assert.Equal(t, f.user.ID(), first.UserID)
	assert.NotEqual(t, uuid.Nil, first.ID)
	assert.Equal(t, testNow, first.CreatedAt)
	ev, ok := f.event(domain.ActionPasskeyRegistered)
	require.True(t, ok)
	assert.Equal(t, first.ID.String(), ev.Details["passkey_id"])
	assert.Equal(t, f.user.ID().String(), ev.TargetID)

	c, err := f.pk.BeginRegistration(ctx, f.me, application.Reauth{RecentSignIn: true})
	require.NoError(t, err)
	var o fakeOptions
	require.NoError(t, json.Unmarshal(c.Options, &o))
	assert.Equal(t, [][]byte{first.CredentialID}, o.Exclude, "the user's passkeys are excluded")

	key := newFakeKey(f.user.ID())
	resp, _ := json.Marshal(fakeResponse{Challenge: o.Challenge, CredentialID: key.id, BE: true, BS: true})
	_, err = f.pk.FinishRegistration(ctx, f.me, c.ID, resp, "   ")
	require.Equal(t, domain.KindInvalid, domain.KindOf(err), "a blank name")
	stranger := domain.Principal{UserID: uuid.New()}
	_, err = f.pk.FinishRegistration(ctx, stranger, c.ID, resp, "")
	require.ErrorIs(t, err, domain.ErrCeremonyExpired, "another user cannot finish it (and it is spent)")

	c, err = f.pk.BeginRegistration(ctx, f.me, application.Reauth{RecentSignIn: true})
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(c.Options, &o))
	resp, _ = json.Marshal(fakeResponse{Challenge: o.Challenge, CredentialID: key.id, BE: true, BS: true})
	second, err := f.pk.FinishRegistration(ctx, f.me, c.ID, resp, "  Phone ")
	require.NoError(t, err)
	assert.Equal(t, "Phone", second.Name)
	assert.True(t, second.BackupEligible)
	_, err = f.pk.FinishRegistration(ctx, f.me, c.ID, resp, "")
	assert.ErrorIs(t, err, domain.ErrCeremonyExpired, "a ceremony is finished once")

	third := f.enrol(t, newFakeKey(f.user.ID()))
	assert.Equal(t, "Passkey 3", third.Name)

	list, err := f.pk.List(ctx, f.me)
	require.NoError(t, err)
	assert.Len(t, list, 3)

	// A ceremony older than its TTL is gone.
	c, err = f.pk.BeginRegistration(ctx, f.me, application.Reauth{RecentSignIn: true})
	require.NoError(t, err)
	f.clock.Advance(5*time.Minute + time.Second)
	_, err = f.pk.FinishRegistration(ctx, f.me, c.ID, []byte(`{}`), "")
	assert.ErrorIs(t, err, domain.ErrCeremonyExpired)
	_, err = f.pk.FinishRegistration(ctx, f.me, "not-an-id", []byte(`{}`), "")
	assert.ErrorIs(t, err, domain.ErrCeremonyExpired)
}

func TestPasskeyRenameAndDelete(t *testing.T) {
	f := newPasskeyFixture(t)
	ctx := context.Background()
	p := f.enrol(t, newFakeKey(f.user.ID()))

	require.NoError(t, f.pk.Rename(ctx, f.me, p.ID, "YubiKey"))
	list, _ := f.pk.List(ctx, f.me)
	assert.Equal(t, "YubiKey", list[0].Name)
	_, ok := f.event(domain.ActionPasskeyRenamed)
	assert.True(t, ok)
	assert.Equal(t, domain.KindInvalid, domain.KindOf(f.pk.Rename(ctx, f.me, p.ID, "")))

	stranger := domain.Principal{UserID: uuid.New()}
	assert.ErrorIs(t, f.pk.Rename(ctx, stranger, p.ID, "mine"), domain.ErrPasskeyNotFound)
	assert.ErrorIs(t, f.pk.Delete(ctx, stranger, p.ID), domain.ErrPasskeyNotFound)

	require.NoError(t, f.pk.Delete(ctx, f.me, p.ID))
	_, ok = f.event(domain.ActionPasskeyDeleted)
	assert.True(t, ok)
	list, _ = f.pk.List(ctx, f.me)
	assert.Empty(t, list)
}

func TestPasskeySignIn(t *testing.T) {
	f := newPasskeyFixture(t)
	key := newFakeKey(f.user.ID())
	p := f.enrol(t, key)
	f.reset()

	out, err := f.signIn(t, key)
	require.NoError(t, err)
	assert.NotEmpty(t, out.Pair.RefreshToken)
	assert.Equal(t, []string{"hwk", "user"}, out.AMR)
	assert.Equal(t, []string{"reserve", "reset"}, f.throttle.calls, "the login's counters, forgotten on success")
	assert.Equal(t, []string{"reserve", "reset"}, f.account.calls)
	assert.Empty(t, f.hasher.verified, "no password")
	require.Len(t, f.repo.uses, 1)
	assert.Equal(t, domain.PasskeyUse{From: 0, To: 1, At: testNow}, f.repo.uses[0])
	stored, _ := f.repo.ByCredentialID(context.Background(), p.CredentialID)
	assert.Equal(t, uint32(1), stored.SignCount)
	ev, ok := f.event(domain.ActionLoginSucceeded)
	require.True(t, ok)
	assert.Equal(t, out.Pair.SessionID.String(), ev.TargetID)
	after := f.db.users[f.user.ID()]
	assert.NotNil(t, after.LastLoginAt())

	synced := newFakeKey(f.user.ID())
	synced.synced, synced.verified = true, false
	f.enrol(t, synced)
	out, err = f.signIn(t, synced)
	require.NoError(t, err)
	assert.Equal(t, []string{"swk"}, out.AMR, "synced, and the person was not verified")
}

func TestPasskeySignInRefusals(t *testing.T) {
	f := newPasskeyFixture(t)
	key := newFakeKey(f.user.ID())
	f.enrol(t, key)

	t.Run("a bad signature counts as a failed login", func(t *testing.T) {
		f.reset()
		_, err := f.signIn(t, key, func(r *fakeResponse) { r.Forged = true })
		require.ErrorIs(t, err, domain.ErrPasskeyRefused)
		assert.Equal(t, []string{"reserve", "fail"}, f.throttle.calls)
		assert.Equal(t, []string{"reserve", "fail"}, f.account.calls)
		ev, ok := f.event(domain.ActionPasskeyFailed)
		require.True(t, ok)
		assert.Equal(t, "assertion_refused", ev.Details["reason"])
		assert.Equal(t, f.user.ID().String(), ev.TargetID)
	})
	t.Run("an unknown credential gets the same answer, and no counter", func(t *testing.T) {
		f.reset()
		_, err := f.signIn(t, newFakeKey(f.user.ID()))
		require.ErrorIs(t, err, domain.ErrPasskeyRefused)
		assert.Empty(t, f.throttle.calls)
		ev, ok := f.event(domain.ActionPasskeyFailed)
		require.True(t, ok)
		assert.Equal(t, "unknown_credential", ev.Details["reason"])
	})
	t.Run("a credential presented under another user handle", func(t *testing.T) {
		f.reset()
		_, err := f.signIn(t, key, func(r *fakeResponse) { h := uuid.New(); r.UserHandle = h[:] })
		require.ErrorIs(t, err, domain.ErrPasskeyRefused)
		assert.Empty(t, f.throttle.calls)
	})
	t.Run("a cloned authenticator", func(t *testing.T) {
		_, err := f.signIn(t, key)
		require.NoError(t, err)
		f.reset()
		_, err = f.signIn(t, key, func(r *fakeResponse) { r.Counter -= 2 })
		require.ErrorIs(t, err, domain.ErrPasskeyRefused)
		assert.Equal(t, []string{"reserve", "fail"}, f.throttle.calls)
		ev, ok := f.event(domain.ActionPasskeyCloned)
		require.True(t, ok, "the clone is recorded")
		assert.EqualValues(t, key.counter-1, ev.Details["stored_count"])
		ev, ok = f.event(domain.ActionPasskeyFailed)
		require.True(t, ok)
		assert.Equal(t, "counter_regressed", ev.Details["reason"])
	})
	t.Run("a ceremony is answered once", func(t *testing.T) {
		c, err := f.pk.BeginLogin(context.Background())
		require.NoError(t, err)
		resp := answer(t, c, key)
		_, err = f.pk.FinishLogin(context.Background(), c.ID, resp)
		require.NoError(t, err)
		_, err = f.pk.FinishLogin(context.Background(), c.ID, resp)
		assert.ErrorIs(t, err, domain.ErrCeremonyExpired)
	})
	t.Run("a ceremony expires", func(t *testing.T) {
		c, err := f.pk.BeginLogin(context.Background())
		require.NoError(t, err)
		f.clock.Advance(5 * time.Minute)
		_, err = f.pk.FinishLogin(context.Background(), c.ID, answer(t, c, key))
		assert.ErrorIs(t, err, domain.ErrCeremonyExpired)
	})
	t.Run("a registration ceremony does not sign in", func(t *testing.T) {
		c, err := f.pk.BeginRegistration(context.Background(), f.me, application.Reauth{RecentSignIn: true})
		require.NoError(t, err)
		_, err = f.pk.FinishLogin(context.Background(), c.ID, answer(t, c, key))
		assert.ErrorIs(t, err, domain.ErrCeremonyExpired)
	})
	t.Run("a use raced by another", func(t *testing.T) {
		f.reset()
		f.repo.race = true
		sessions := len(f.sessions.sessions)
		_, err := f.signIn(t, key)
		require.ErrorIs(t, err, domain.ErrPasskeyRefused)
		assert.Len(t, f.sessions.sessions, sessions, "no session")
		assert.Equal(t, []string{"reserve", "release"}, f.throttle.calls)
		ev, ok := f.event(domain.ActionPasskeyFailed)
		require.True(t, ok)
		assert.Equal(t, "concurrent_use", ev.Details["reason"])
	})
}

func TestPasskeySignInKeepsTheAccountRules(t *testing.T) {
	f := newPasskeyFixture(t)
	key := newFakeKey(f.user.ID())
	f.enrol(t, key)

	f.throttle.locked = 3 * time.Minute
	f.reset()
	_, err := f.signIn(t, key)
	var de *domain.Error
	require.ErrorAs(t, err, &de)
	assert.Equal(t, "login_locked", de.Code, "a locked login is locked for passkeys too")
	_, ok := f.event(domain.ActionLoginLocked)
	assert.True(t, ok)
	f.throttle.locked = 0

	until := testNow.Add(10 * time.Minute)
	f.setUser(func(s *domain.UserState) { s.Lock = domain.AccountLock{Until: &until, Failures: 5} })
	f.reset()
	_, err = f.signIn(t, key)
	require.ErrorAs(t, err, &de)
	assert.Equal(t, "login_locked", de.Code)
	assert.Equal(t, []string{"reserve", "release"}, f.throttle.calls)

	f.setUser(func(s *domain.UserState) { s.IsActive = false })
	f.reset()
	_, err = f.signIn(t, key)
	require.ErrorIs(t, err, domain.ErrPasskeyRefused, "an inactive account is answered as a bad passkey")
	assert.Equal(t, []string{"reserve", "fail"}, f.throttle.calls)

	f.setUser(func(s *domain.UserState) { s.MFA.Enabled = true })
	f.reset()
	_, err = f.signIn(t, key, func(r *fakeResponse) { r.UV = false })
	require.ErrorIs(t, err, application.ErrPasskeyUserVerificationRequired,
		"with two-step sign-in on, a passkey alone must have verified the person")
	assert.Equal(t, []string{"reserve", "release"}, f.throttle.calls)
	out, err := f.signIn(t, key)
	require.NoError(t, err)
	assert.Equal(t, []string{"hwk", "user"}, out.AMR)
}

func TestPasswordLoginOfAUserWithPasskeysButNoTOTPStaysOneStep(t *testing.T) {
	f := newPasskeyFixture(t)
	f.enrol(t, newFakeKey(f.user.ID()))
	pair, ticket, err := f.twoStep.Begin(context.Background(), application.LoginInput{Login: "ada", Password: "right password"})
	require.NoError(t, err)
	assert.NotEmpty(t, pair.RefreshToken)
	assert.Empty(t, ticket)
}

func TestPasskeyAsSecondFactor(t *testing.T) {
	f := newPasskeyFixture(t)
	ctx := context.Background()
	key := newFakeKey(f.user.ID())
	p := f.enrol(t, key)
	f.setUser(func(s *domain.UserState) { s.MFA.Enabled = true })

	begin := func() string {
		_, ticket, err := f.twoStep.Begin(ctx, application.LoginInput{Login: "ada", Password: "right password"})
		require.ErrorIs(t, err, domain.ErrMFARequired)
		require.NotEmpty(t, ticket)
		return ticket
	}
	ticket := begin()
	f.reset()
	c, err := f.pk.BeginSecondFactor(ctx, ticket)
	require.NoError(t, err)
	var o fakeOptions
	require.NoError(t, json.Unmarshal(c.Options, &o))
	assert.Equal(t, [][]byte{p.CredentialID}, o.Allow, "only the ticket user's passkeys")

	out, err := f.pk.FinishSecondFactor(ctx, ticket, c.ID, answer(t, c, key, func(r *fakeResponse) { r.UserHandle = nil }))
	require.NoError(t, err)
	assert.NotEmpty(t, out.Pair.RefreshToken)
	assert.Equal(t, []string{"pwd", "hwk", "mfa"}, out.AMR)
	assert.Equal(t, []string{"reserve", "reset"}, f.throttle.calls)
	require.Len(t, f.repo.uses, 1)

	t.Run("a bad passkey counts as a wrong code", func(t *testing.T) {
		ticket := begin()
		c, err := f.pk.BeginSecondFactor(ctx, ticket)
		require.NoError(t, err)
		f.reset()
		_, err = f.pk.FinishSecondFactor(ctx, ticket, c.ID, answer(t, c, key, func(r *fakeResponse) { r.Forged = true }))
		require.ErrorIs(t, err, domain.ErrPasskeyRefused)
		assert.Equal(t, []string{"reserve", "fail"}, f.throttle.calls)
		_, ok := f.event(domain.ActionPasskeyFailed)
		assert.True(t, ok)
	})
	t.Run("another account's passkey", func(t *testing.T) {
		other := domain.NewUser(domain.NewUserParams{ID: uuid.New(), Email: domain.MustEmail("bob@example.com"),
			Username: domain.MustUsername("bob"), PasswordHash: "h:bob", Now: testNow})
		f.db.users[other.ID()] = *other
		theirs := newFakeKey(other.ID())
		require.NoError(t, f.repo.Create(ctx, domain.Passkey{ID: uuid.New(), UserID: other.ID(), CredentialID: theirs.id}))

		ticket := begin()
		c, err := f.pk.BeginSecondFactor(ctx, ticket)
		require.NoError(t, err)
		f.reset()
		_, err = f.pk.FinishSecondFactor(ctx, ticket, c.ID, answer(t, c, theirs))
		require.ErrorIs(t, err, domain.ErrPasskeyRefused)
		assert.Equal(t, []string{"reserve", "fail"}, f.throttle.calls)
	})
	t.Run("the ceremony belongs to the ticket's user and to a second factor", func(t *testing.T) {
		ticket := begin()
		login, err := f.pk.BeginLogin(ctx)
		require.NoError(t, err)
		_, err = f.pk.FinishSecondFactor(ctx, ticket, login.ID, answer(t, login, key))
		assert.ErrorIs(t, err, domain.ErrCeremonyExpired)

		c, err := f.pk.BeginSecondFactor(ctx, ticket)
		require.NoError(t, err)
		_, err = f.pk.FinishLogin(ctx, c.ID, answer(t, c, key))
		assert.ErrorIs(t, err, domain.ErrCeremonyExpired, "a second factor's ceremony is no passwordless sign-in")
	})
	t.Run("tickets are checked", func(t *testing.T) {
		_, err := f.pk.BeginSecondFactor(ctx, "forged")
		assert.ErrorIs(t, err, application.ErrMFATicketInvalid)
		ticket := begin()
		c, err := f.pk.BeginSecondFactor(ctx, ticket)
		require.NoError(t, err)
		_, err = f.pk.FinishSecondFactor(ctx, "forged", c.ID, answer(t, c, key))
		assert.ErrorIs(t, err, application.ErrMFATicketInvalid)

		f.setUser(func(s *domain.UserState) { s.MFA.Enabled = true; s.Password.Hash = "h:new password" })
		_, err = f.pk.FinishSecondFactor(ctx, ticket, c.ID, answer(t, c, key))
		assert.ErrorIs(t, err, application.ErrMFATicketInvalid, "a password changed between the steps voids the ticket")
		f.setUser(func(s *domain.UserState) { s.MFA.Enabled = true })
	})
	t.Run("a user without passkeys has none to offer", func(t *testing.T) {
		require.NoError(t, f.pk.Delete(ctx, f.me, p.ID))
		_, err := f.pk.BeginSecondFactor(ctx, begin())
		assert.ErrorIs(t, err, domain.ErrPasskeyNotFound)
	})
}

func TestCodeSecondFactorStillFinishes(t *testing.T) {
	f := newPasskeyFixture(t)
	f.setUser(func(s *domain.UserState) { s.MFA.Enabled = true })
	_, ticket, err := f.twoStep.Begin(context.Background(), application.LoginInput{Login: "ada", Password: "right password"})
	require.ErrorIs(t, err, domain.ErrMFARequired)
	// MFA has been turned off between the steps: the ticket alone finishes,
	// as before passkeys.
	f.setUser(func(s *domain.UserState) { s.MFA.Enabled = false })
	pair, err := f.twoStep.Finish(context.Background(), ticket, "")
	require.NoError(t, err)
	assert.NotEmpty(t, pair.RefreshToken)
}

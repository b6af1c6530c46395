package application_test

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// authHasher "hashes" p as "h:"+p and records which hashes Verify saw.
type authHasher struct {
	mu        sync.Mutex
	verified  []string
	rehash    bool
	verifyErr error
	admitErr  error
	// afterVerify, when set, runs after a check, outside the lock: a
	// concurrent request committing while the login hashes.
	afterVerify func()
}

func (h *authHasher) Hash(_ context.Context, p string) (string, error) { return "h:" + p, nil }

func (h *authHasher) Admit() (func(), error) { return func() {}, h.admitErr }

func (h *authHasher) CurrentPrefix() string { return "h:" }

func (h *authHasher) Verify(_ context.Context, p, encoded string) (bool, bool, error) {
	h.mu.Lock()
	h.verified = append(h.verified, encoded)
	after, err := h.afterVerify, h.verifyErr
	h.mu.Unlock()
	if after != nil {
		after()
	}
	if err != nil {
		return false, false, err
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

func (f *fakeSessions) RefreshTokenByHash(_ context.Context, hash []byte) (domain.RefreshToken, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.tokens[string(hash)]
	if !ok {
		return domain.RefreshToken{}, domain.ErrInvalidToken
	}
	return t, nil
}

func (f *fakeSessions) RefreshTokenWithSession(ctx context.Context, hash []byte) (domain.RefreshToken, domain.Session, error) {
	t, err := f.RefreshTokenByHash(ctx, hash)
	if err != nil {
		return t, domain.Session{}, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return t, f.sessions[t.SessionID], nil
}

func (f *fakeSessions) RotateRefreshToken(_ context.Context, spent uuid.UUID, next domain.RefreshToken, _, _ string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for h, t := range f.tokens {
		if t.ID == spent && t.UsedAt == nil && f.sessions[t.SessionID].RevokedAt == nil {
			at := next.CreatedAt
			t.UsedAt, t.ReplacedBy = &at, &next.ID
			f.tokens[h] = t
			f.tokens[string(next.Hash)] = next
			return true, nil
		}
	}
	return false, nil
}

func (f *fakeSessions) ExtendRefreshToken(_ context.Context, id uuid.UUID, exp time.Time) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for h, t := range f.tokens {
		if t.ID == id && t.UsedAt == nil && t.ExpiresAt.Before(exp) {
			t.ExpiresAt = exp
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

package application

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// SessionConfig holds the token lifetimes.
type SessionConfig struct {
	AccessTTL time.Duration
	// RefreshIdleTTL is how long a refresh token lives unused.
	RefreshIdleTTL time.Duration
	// SessionTTL is the absolute lifetime of a session.
	SessionTTL time.Duration
	// ReuseGrace, when positive, is how long after a refresh token was
	// spent presenting it again is refused without revoking the session:
	// browser tabs racing their refreshes are not thieves.
	ReuseGrace time.Duration
}

// SessionDeps are the ports sessions need.
type SessionDeps struct {
	Store   ports.SessionRepository
	Users   ports.UserRepository
	Tx      ports.TxManager
	Audit   ports.AuditLog
	Clock   ports.Clock
	IDs     ports.IDGenerator
	Random  io.Reader
	Codec   ports.AccessTokenCodec
	Keys    *KeyRing
	Revoked *RevocationList
	Revoker *Revoker
}

// Sessions are signed-in devices: starting one after a successful
// sign-in, the bearer check, refresh, and ending them.
type Sessions struct {
	store   ports.SessionRepository
	users   ports.UserRepository
	tx      ports.TxManager
	audit   ports.AuditLog
	clock   ports.Clock
	ids     ports.IDGenerator
	random  io.Reader
	codec   ports.AccessTokenCodec
	keys    *KeyRing
	revoked *RevocationList
	revoker *Revoker
	cfg     SessionConfig
}

// NewSessions wires sessions.
func NewSessions(d SessionDeps, cfg SessionConfig) *Sessions {
	return &Sessions{store: d.Store, users: d.Users, tx: d.Tx, audit: d.Audit, clock: d.Clock, ids: d.IDs,
		random: d.Random, codec: d.Codec, keys: d.Keys, revoked: d.Revoked, revoker: d.Revoker, cfg: cfg}
}

// SessionView is a session as its owner sees it.
type SessionView struct {
	domain.Session
	Current bool
}

// Start opens a session for a user whose credentials were just checked.
// The login is recorded, and the session written, only if the account is
// still as checked (active, same password, same second-factor state):
// otherwise domain.ErrConcurrentChange and nothing is written, so a
// password change, deactivation or MFA activation committed meanwhile is
// never undone by a login that verified the old state. rehash, when set,
// replaces the verified hash.
func (s *Sessions) Start(ctx context.Context, user *domain.User, rehash string) (TokenPair, error) {
	now := s.clock.Now()
	ri := domain.RequestInfoFrom(ctx)
	sess := domain.Session{
		ID: s.ids.NewID(), UserID: user.ID(), CreatedAt: now, LastUsedAt: now,
		ExpiresAt: now.Add(s.cfg.SessionTTL), IP: ri.IP, UserAgent: truncate(ri.UserAgent, 512),
	}
	raw, rt, err := s.newRefreshToken(sess, now)
	if err != nil {
		return TokenPair{}, err
	}
	rec, guard := user.RecordLogin(now, ri.IP, truncate(ri.UserAgent, 512), rehash)
	err = s.tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := s.users.RecordLogin(ctx, user.ID(), rec, guard); err != nil {
			return err
		}
		if err := s.store.Create(ctx, sess, rt); err != nil {
			return err
		}
		ev := domain.NewAuditEvent(ctx, s.ids.NewID(), now, domain.ActionLoginSucceeded, domain.OutcomeSuccess)
		ev.ActorID, ev.TargetType, ev.TargetID = ptr(user.ID()), "session", sess.ID.String()
		if rehash != "" {
			ev.Details = map[string]any{"password_rehashed": true}
		}
		return s.audit.Record(ctx, ev)
	})
	if err != nil {
		return TokenPair{}, fmt.Errorf("start session: %w", err)
	}
	return s.pair(ctx, user, sess, raw, rt, now)
}

// Authenticate verifies a bearer access token and that its session is not
// revoked. Any failure of the token is domain.ErrInvalidToken.
func (s *Sessions) Authenticate(ctx context.Context, token string) (domain.Principal, error) {
	c, err := s.codec.Verify(ctx, token, s.keys.Lookup)
	if err != nil {
		return domain.Principal{}, err
	}
	revoked, err := s.revoked.IsRevoked(ctx, c.SessionID)
	if err != nil {
		return domain.Principal{}, err
	}
	if revoked {
		return domain.Principal{}, domain.ErrInvalidToken
	}
	return domain.Principal{UserID: c.Subject, SessionID: c.SessionID, TokenID: c.TokenID, ExpiresAt: c.ExpiresAt,
		PasswordChangeRequired: c.PasswordChangeRequired}, nil
}

// PasswordChangeStillRequired rereads the user behind a token issued while
// a password change was pending: once changed, the same token may go on
// (the client need not log in again to leave the restricted mode).
func (s *Sessions) PasswordChangeStillRequired(ctx context.Context, p domain.Principal) (bool, error) {
	if !p.PasswordChangeRequired {
		return false, nil
	}
	u, err := loadPrincipal(ctx, s.users, p)
	if err != nil {
		return false, err
	}
	return u.PasswordChangeRequired(s.clock.Now()), nil
}

// Logout revokes the caller's current session.
func (s *Sessions) Logout(ctx context.Context, p domain.Principal) error {
	return s.revoker.endSessions(ctx, p.UserID, []uuid.UUID{p.SessionID}, domain.RevokeLogout, domain.ActionLogout, nil)
}

// LogoutAll revokes every session of the caller, the current one included.
func (s *Sessions) LogoutAll(ctx context.Context, p domain.Principal) error {
	return s.revoker.endAll(ctx, p.UserID, domain.RevokeLogoutAll, domain.ActionLogoutAll)
}

// List returns the caller's active sessions, marking the current one.
func (s *Sessions) List(ctx context.Context, p domain.Principal) ([]SessionView, error) {
	list, err := s.store.ActiveByUser(ctx, p.UserID, s.clock.Now())
	if err != nil {
		return nil, err
	}
	out := make([]SessionView, len(list))
	for i, sess := range list {
		out[i] = SessionView{Session: sess, Current: sess.ID == p.SessionID}
	}
	return out, nil
}

// Revoke ends one of the caller's sessions; another user's session is
// domain.ErrSessionNotFound, as if it did not exist.
func (s *Sessions) Revoke(ctx context.Context, p domain.Principal, id uuid.UUID) error {
	sess, err := s.store.ByID(ctx, id)
	if err != nil {
		return err
	}
	if sess.UserID != p.UserID || !sess.Active(s.clock.Now()) {
		return domain.ErrSessionNotFound
	}
	return s.revoker.endSessions(ctx, p.UserID, []uuid.UUID{id}, domain.RevokeByUser, domain.ActionSessionRevoked, nil)
}

// loadPrincipal reads the account behind a token; a token of an erased
// account speaks for nobody.
func loadPrincipal(ctx context.Context, users ports.UserRepository, p domain.Principal) (*domain.User, error) {
	u, err := users.ByID(ctx, p.UserID)
	if domain.KindOf(err) == domain.KindNotFound {
		return nil, domain.ErrInvalidToken
	}
	return u, err
}

func ptr[T any](v T) *T { return &v }

// Issue opens a session for a user who signed in elsewhere (on the hosted
// sign-in page, for an OpenID Connect client): no login is recorded, but
// the account must still be active. within runs in the session's
// transaction, to store what belongs to it. It returns the first refresh
// token of the session.
func (s *Sessions) Issue(ctx context.Context, userID uuid.UUID, within func(ctx context.Context, sess domain.Session) error) (string, domain.Session, error) {
	user, err := s.users.ByID(ctx, userID)
	if err != nil {
		if errors.Is(err, domain.ErrUserNotFound) {
			return "", domain.Session{}, domain.ErrInvalidToken
		}
		return "", domain.Session{}, err
	}
	if !user.IsActive() {
		return "", domain.Session{}, domain.ErrInvalidToken
	}
	now := s.clock.Now()
	ri := domain.RequestInfoFrom(ctx)
	sess := domain.Session{
		ID: s.ids.NewID(), UserID: userID, CreatedAt: now, LastUsedAt: now,
		ExpiresAt: now.Add(s.cfg.SessionTTL), IP: ri.IP, UserAgent: truncate(ri.UserAgent, 512),
	}
	raw, rt, err := s.newRefreshToken(sess, now)
	if err != nil {
		return "", domain.Session{}, err
	}
	err = s.tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := s.store.Create(ctx, sess, rt); err != nil {
			return err
		}
		return within(ctx, sess)
	})
	if err != nil {
		return "", domain.Session{}, fmt.Errorf("issue session: %w", err)
	}
	return raw, sess, nil
}

// AccessTTL is how long the access tokens of sessions live.
func (s *Sessions) AccessTTL() time.Duration { return s.cfg.AccessTTL }

package application

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// AuthConfig holds the token lifetimes and the login throttle.
type AuthConfig struct {
	AccessTTL time.Duration
	// RefreshIdleTTL is how long a refresh token lives unused.
	RefreshIdleTTL time.Duration
	// SessionTTL is the absolute lifetime of a session.
	SessionTTL time.Duration
	// ReuseGrace, when positive, is how long after a refresh token was
	// spent presenting it again is refused without revoking the session:
	// browser tabs racing their refreshes are not thieves.
	ReuseGrace time.Duration
	// RequireEmailVerification refuses logins until the address is
	// verified.
	RequireEmailVerification bool
	// MFAIssuer names the service in authenticator apps.
	MFAIssuer string
}

// AuthDeps are the ports authentication needs.
type AuthDeps struct {
	Users        ports.UserRepository
	SessionStore ports.SessionRepository
	Tx           ports.TxManager
	Hasher       ports.PasswordHasher
	Audit        ports.AuditLog
	Clock        ports.Clock
	IDs          ports.IDGenerator
	Random       io.Reader
	Throttle     ports.LoginThrottle
	Codec        ports.AccessTokenCodec
	Keys         *KeyRing
	Revoked      *RevocationList
	Revocation   ports.RevocationBus
	TOTP         ports.TOTP
	MFASteps     ports.MFASteps
	Recovery     ports.RecoveryCodes
	Box          ports.SecretBox
	// Metrics counts login outcomes; nil counts nothing.
	Metrics ports.AuthMetrics
}

// Auth is authentication: login, refresh, the bearer check, and ending
// sessions.
type Auth struct {
	AuthDeps
	cfg AuthConfig
	// dummyHash is verified for unknown logins so they cost what a wrong
	// password costs.
	dummyHash string
}

// NewAuth wires authentication; it hashes a random password once for the
// unknown-user path, with the configured parameters.
func NewAuth(ctx context.Context, d AuthDeps, cfg AuthConfig) (*Auth, error) {
	pw := make([]byte, 32)
	if _, err := io.ReadFull(d.Random, pw); err != nil {
		return nil, err
	}
	dummy, err := d.Hasher.Hash(ctx, base64.RawURLEncoding.EncodeToString(pw))
	if err != nil {
		return nil, fmt.Errorf("prepare dummy hash: %w", err)
	}
	if d.Metrics == nil {
		d.Metrics = noMetrics{}
	}
	return &Auth{AuthDeps: d, cfg: cfg, dummyHash: dummy}, nil
}

type noMetrics struct{}

func (noMetrics) Login(string) {}
func (noMetrics) Lockout()     {}

// Login outcomes as counted by AuthMetrics.
const (
	loginSuccess     = "success"
	loginFailure     = "failure"
	loginLocked      = "locked"
	loginMFARequired = "mfa_required"
	loginOverloaded  = "overloaded"
)

// LoginInput is what a client sends to log in.
type LoginInput struct {
	Login    string
	Password string
	// MFACode is an authenticator code or a recovery code, for accounts
	// with multi-factor login on.
	MFACode string
}

// TokenPair is what a login or refresh returns.
type TokenPair struct {
	AccessToken            string
	AccessExpiresIn        time.Duration
	RefreshToken           string
	RefreshExpiresIn       time.Duration
	SessionID              uuid.UUID
	PasswordChangeRequired bool
}

// refreshTokenBytes is the entropy of a refresh token: 256 bits.
const refreshTokenBytes = 32

// maxRefreshTokenLen bounds what is hashed at all.
const maxRefreshTokenLen = 128

// Login checks a login (email or username) and password and starts a
// session. Wrong passwords, unknown logins and inactive accounts all return
// domain.ErrInvalidCredentials after the same work; a throttled login returns
// a domain.LoginLocked error; a full hash pool domain.ErrHashingOverloaded.
func (a *Auth) Login(ctx context.Context, in LoginInput) (TokenPair, error) {
	pair, err := a.login(ctx, in)
	switch {
	case err == nil:
		a.Metrics.Login(loginSuccess)
	case domain.KindOf(err) == domain.KindRateLimited:
		a.Metrics.Login(loginLocked)
	case errors.Is(err, domain.ErrMFARequired):
		a.Metrics.Login(loginMFARequired)
	case errors.Is(err, domain.ErrHashingOverloaded):
		a.Metrics.Login(loginOverloaded)
	case domain.KindOf(err) == domain.KindUnauthorized || domain.KindOf(err) == domain.KindForbidden:
		a.Metrics.Login(loginFailure)
	}
	return pair, err
}

func (a *Auth) login(ctx context.Context, in LoginInput) (TokenPair, error) {
	var fields []domain.FieldError
	login := strings.TrimSpace(in.Login)
	if login == "" || len(login) > 320 {
		fields = append(fields, domain.FieldError{Field: "login", Code: "required", Message: "an email or username of at most 320 characters is required"})
	}
	if in.Password == "" || len(in.Password) > 1024 {
		fields = append(fields, domain.FieldError{Field: "password", Code: "required", Message: "a password of at most 1024 bytes is required"})
	}
	if len(fields) > 0 {
		return TokenPair{}, domain.Invalid(fields...)
	}

	user, err := a.Users.ByLogin(ctx, login)
	if err != nil && !errors.Is(err, domain.ErrUserNotFound) {
		return TokenPair{}, err
	}
	key := throttleKey(user, login)
	if now := a.Clock.Now(); user != nil && user.LockedUntil != nil && now.Before(*user.LockedUntil) {
		// A lock carried on the account itself (imported from the old
		// service): temporary like the throttle's, lifted by an admin's
		// unlock or a password reset.
		a.auditLogin(ctx, user, domain.ActionLoginLocked, "account_locked")
		return TokenPair{}, domain.LoginLocked(user.LockedUntil.Sub(now))
	}
	ok, retry, err := a.Throttle.Reserve(ctx, key, a.Clock.Now())
	if err != nil {
		return TokenPair{}, fmt.Errorf("login throttle: %w", err)
	}
	if !ok {
		a.auditLogin(ctx, user, domain.ActionLoginLocked, "locked")
		return TokenPair{}, domain.LoginLocked(retry)
	}

	hash := a.dummyHash
	if user != nil {
		hash = user.PasswordHash
	}
	match, rehash, err := a.Hasher.Verify(ctx, in.Password, hash)
	if err != nil {
		// The password was never checked; the attempt does not count.
		if rerr := a.Throttle.Release(ctx, key); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return TokenPair{}, err
	}
	if user == nil || !match || !user.IsActive {
		locked, err := a.Throttle.Fail(ctx, key, a.Clock.Now())
		if err != nil {
			return TokenPair{}, fmt.Errorf("login throttle: %w", err)
		}
		a.auditLogin(ctx, user, domain.ActionLoginFailed, failureReason(user, match))
		if locked {
			a.Metrics.Lockout()
			a.auditLogin(ctx, user, domain.ActionLoginLocked, "threshold_reached")
		}
		return TokenPair{}, domain.ErrInvalidCredentials
	}
	if user.MFAEnabled {
		if strings.TrimSpace(in.MFACode) == "" {
			// The password was right; asking for the second factor is not
			// a failure, but the reservation is not a success either.
			if err := a.Throttle.Release(ctx, key); err != nil {
				return TokenPair{}, fmt.Errorf("login throttle: %w", err)
			}
			return TokenPair{}, domain.ErrMFARequired
		}
		if err := a.checkSecondFactor(ctx, user, in.MFACode); err != nil {
			if !errors.Is(err, domain.ErrInvalidMFACode) {
				return TokenPair{}, err
			}
			locked, ferr := a.Throttle.Fail(ctx, key, a.Clock.Now())
			if ferr != nil {
				return TokenPair{}, fmt.Errorf("login throttle: %w", ferr)
			}
			a.auditLogin(ctx, user, domain.ActionMFAFailed, "wrong_mfa_code")
			if locked {
				a.Metrics.Lockout()
				a.auditLogin(ctx, user, domain.ActionLoginLocked, "threshold_reached")
			}
			return TokenPair{}, err
		}
	}
	if err := a.Throttle.Reset(ctx, key); err != nil {
		return TokenPair{}, fmt.Errorf("login throttle: %w", err)
	}
	if a.cfg.RequireEmailVerification && !user.EmailVerified {
		return TokenPair{}, domain.ErrEmailNotVerified
	}
	if rehash {
		// New parameters apply from the next login on; a busy pool only
		// postpones that.
		if h, err := a.Hasher.Hash(ctx, in.Password); err == nil {
			user.PasswordHash = h
		}
	}
	return a.startSession(ctx, user, rehash)
}

func (a *Auth) startSession(ctx context.Context, user *domain.User, rehashed bool) (TokenPair, error) {
	now := a.Clock.Now()
	ri := domain.RequestInfoFrom(ctx)
	sess := domain.Session{
		ID: a.IDs.NewID(), UserID: user.ID, CreatedAt: now, LastUsedAt: now,
		ExpiresAt: now.Add(a.cfg.SessionTTL), IP: ri.IP, UserAgent: truncate(ri.UserAgent, 512),
	}
	raw, rt, err := a.newRefreshToken(sess, now)
	if err != nil {
		return TokenPair{}, err
	}
	user.LastLoginAt = &now
	user.LastLoginIP, user.LastLoginUserAgent = ri.IP, truncate(ri.UserAgent, 512)
	user.UpdatedAt = now
	err = a.Tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := a.Users.Update(ctx, user); err != nil {
			return err
		}
		if err := a.SessionStore.Create(ctx, sess, rt); err != nil {
			return err
		}
		ev := domain.NewAuditEvent(ctx, a.IDs.NewID(), now, domain.ActionLoginSucceeded, domain.OutcomeSuccess)
		ev.ActorID, ev.TargetType, ev.TargetID = &user.ID, "session", sess.ID.String()
		if rehashed {
			ev.Details = map[string]any{"password_rehashed": true}
		}
		return a.Audit.Record(ctx, ev)
	})
	if err != nil {
		return TokenPair{}, fmt.Errorf("start session: %w", err)
	}
	return a.pair(ctx, user, sess, raw, rt, now)
}

// Refresh spends a refresh token and returns a new pair. A token spent
// before is reuse: the session is revoked (outside ReuseGrace) and
// domain.ErrRefreshTokenReused returned. Anything else wrong with the token
// is domain.ErrInvalidToken.
func (a *Auth) Refresh(ctx context.Context, raw string) (TokenPair, error) {
	if raw == "" || len(raw) > maxRefreshTokenLen {
		return TokenPair{}, domain.ErrInvalidToken
	}
	hash := hashToken(raw)
	now := a.Clock.Now()
	rt, err := a.SessionStore.RefreshTokenByHash(ctx, hash)
	if err != nil {
		return TokenPair{}, err
	}
	sess, err := a.SessionStore.ByID(ctx, rt.SessionID)
	if err != nil {
		if errors.Is(err, domain.ErrSessionNotFound) {
			return TokenPair{}, domain.ErrInvalidToken
		}
		return TokenPair{}, err
	}
	if !sess.Active(now) {
		return TokenPair{}, domain.ErrInvalidToken
	}
	if rt.UsedAt != nil {
		return TokenPair{}, a.reused(ctx, rt, sess, now)
	}
	if !now.Before(rt.ExpiresAt) {
		return TokenPair{}, domain.ErrInvalidToken
	}
	user, err := a.Users.ByID(ctx, sess.UserID)
	if err != nil {
		if errors.Is(err, domain.ErrUserNotFound) {
			return TokenPair{}, domain.ErrInvalidToken
		}
		return TokenPair{}, err
	}
	if !user.IsActive {
		return TokenPair{}, domain.ErrInvalidToken
	}
	newRaw, next, err := a.newRefreshToken(sess, now)
	if err != nil {
		return TokenPair{}, err
	}
	errSpent := errors.New("refresh token already spent")
	ri := domain.RequestInfoFrom(ctx)
	err = a.Tx.WithinTx(ctx, func(ctx context.Context) error {
		won, err := a.SessionStore.SpendRefreshToken(ctx, rt.ID, now, next.ID)
		if err != nil {
			return err
		}
		if !won {
			return errSpent
		}
		if err := a.SessionStore.AddRefreshToken(ctx, next); err != nil {
			return err
		}
		return a.SessionStore.Touch(ctx, sess.ID, now, ri.IP, truncate(ri.UserAgent, 512))
	})
	if errors.Is(err, errSpent) {
		// A concurrent refresh won the race; judge this one as reuse with
		// the winner's spend time.
		if rt, err = a.SessionStore.RefreshTokenByHash(ctx, hash); err != nil {
			return TokenPair{}, err
		}
		return TokenPair{}, a.reused(ctx, rt, sess, now)
	}
	if err != nil {
		return TokenPair{}, fmt.Errorf("rotate refresh token: %w", err)
	}
	return a.pair(ctx, user, sess, newRaw, next, now)
}

func (a *Auth) reused(ctx context.Context, rt domain.RefreshToken, sess domain.Session, now time.Time) error {
	if a.cfg.ReuseGrace > 0 && rt.UsedAt != nil && now.Sub(*rt.UsedAt) <= a.cfg.ReuseGrace {
		ev := domain.NewAuditEvent(ctx, a.IDs.NewID(), now, domain.ActionRefreshReused, domain.OutcomeFailure)
		ev.ActorID, ev.TargetType, ev.TargetID = &sess.UserID, "session", sess.ID.String()
		ev.Details = map[string]any{"within_grace": true, "session_revoked": false}
		if err := a.Audit.Record(ctx, ev); err != nil {
			return err
		}
		return domain.ErrRefreshTokenReused
	}
	if err := a.revoke(ctx, sess.UserID, []uuid.UUID{sess.ID}, domain.RevokeRefreshReuse, domain.ActionRefreshReused,
		map[string]any{"within_grace": false, "session_revoked": true}); err != nil {
		return err
	}
	return domain.ErrRefreshTokenReused
}

// Authenticate verifies a bearer access token and that its session is not
// revoked. Any failure of the token is domain.ErrInvalidToken.
func (a *Auth) Authenticate(ctx context.Context, token string) (domain.Principal, error) {
	c, err := a.Codec.Verify(ctx, token, a.Keys.Lookup)
	if err != nil {
		return domain.Principal{}, err
	}
	revoked, err := a.Revoked.IsRevoked(ctx, c.SessionID)
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
func (a *Auth) PasswordChangeStillRequired(ctx context.Context, p domain.Principal) (bool, error) {
	if !p.PasswordChangeRequired {
		return false, nil
	}
	u, err := a.Users.ByID(ctx, p.UserID)
	if err != nil {
		if errors.Is(err, domain.ErrUserNotFound) {
			return false, domain.ErrInvalidToken
		}
		return false, err
	}
	return u.PasswordChangeRequired(a.Clock.Now()), nil
}

// confirmPassword checks a signed-in user's password before a sensitive
// change. It goes through the login throttle, so a stolen access token
// cannot be used to guess the password faster than the login form allows.
func (a *Auth) confirmPassword(ctx context.Context, u *domain.User, password, field string) error {
	if password == "" || len(password) > 1024 {
		return domain.WrongPassword(field)
	}
	key := throttleKey(u, "")
	ok, retry, err := a.Throttle.Reserve(ctx, key, a.Clock.Now())
	if err != nil {
		return fmt.Errorf("login throttle: %w", err)
	}
	if !ok {
		return domain.LoginLocked(retry)
	}
	match, _, err := a.Hasher.Verify(ctx, password, u.PasswordHash)
	if err != nil {
		if rerr := a.Throttle.Release(ctx, key); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return err
	}
	if !match {
		if _, err := a.Throttle.Fail(ctx, key, a.Clock.Now()); err != nil {
			return fmt.Errorf("login throttle: %w", err)
		}
		return domain.WrongPassword(field)
	}
	if err := a.Throttle.Reset(ctx, key); err != nil {
		return fmt.Errorf("login throttle: %w", err)
	}
	return nil
}

// revokeUserSessions revokes every active session of the user but keep,
// in the caller's transaction; the caller announces them after commit.
func (a *Auth) revokeUserSessions(ctx context.Context, userID, keep uuid.UUID, reason string, now time.Time) ([]uuid.UUID, error) {
	if keep == uuid.Nil {
		return a.SessionStore.RevokeAllForUser(ctx, userID, now, reason)
	}
	active, err := a.SessionStore.ActiveByUser(ctx, userID, now)
	if err != nil {
		return nil, err
	}
	var ids []uuid.UUID
	for _, s := range active {
		if s.ID == keep {
			continue
		}
		if _, err := a.SessionStore.Revoke(ctx, s.ID, now, reason); err != nil {
			return nil, err
		}
		ids = append(ids, s.ID)
	}
	return ids, nil
}

func (a *Auth) pair(ctx context.Context, user *domain.User, sess domain.Session, raw string, rt domain.RefreshToken, now time.Time) (TokenPair, error) {
	key, err := a.Keys.Signing(ctx)
	if err != nil {
		return TokenPair{}, err
	}
	exp := now.Add(a.cfg.AccessTTL)
	if exp.After(sess.ExpiresAt) {
		exp = sess.ExpiresAt
	}
	access, err := a.Codec.Sign(domain.AccessClaims{
		Subject: user.ID, SessionID: sess.ID, TokenID: a.IDs.NewID().String(), IssuedAt: now, ExpiresAt: exp,
		PasswordChangeRequired: user.PasswordChangeRequired(now),
	}, key)
	if err != nil {
		return TokenPair{}, err
	}
	return TokenPair{
		AccessToken: access, AccessExpiresIn: exp.Sub(now),
		RefreshToken: raw, RefreshExpiresIn: rt.ExpiresAt.Sub(now),
		SessionID:              sess.ID,
		PasswordChangeRequired: user.PasswordChangeRequired(now),
	}, nil
}

func (a *Auth) newRefreshToken(sess domain.Session, now time.Time) (string, domain.RefreshToken, error) {
	b := make([]byte, refreshTokenBytes)
	if _, err := io.ReadFull(a.Random, b); err != nil {
		return "", domain.RefreshToken{}, fmt.Errorf("refresh token randomness: %w", err)
	}
	raw := base64.RawURLEncoding.EncodeToString(b)
	exp := now.Add(a.cfg.RefreshIdleTTL)
	if exp.After(sess.ExpiresAt) {
		exp = sess.ExpiresAt
	}
	return raw, domain.RefreshToken{ID: a.IDs.NewID(), SessionID: sess.ID, Hash: hashToken(raw), CreatedAt: now, ExpiresAt: exp}, nil
}

// auditLogin records a failed or locked login. Its own failure must not
// change the answer (that would tell an attacker something), so it is
// dropped; the lockout itself is still enforced by the throttle.
func (a *Auth) auditLogin(ctx context.Context, user *domain.User, action, reason string) {
	ev := domain.NewAuditEvent(ctx, a.IDs.NewID(), a.Clock.Now(), action, domain.OutcomeFailure)
	if user != nil {
		ev.ActorID, ev.TargetType, ev.TargetID = &user.ID, "user", user.ID.String()
	}
	// The login string of an unknown user is not recorded: people type
	// passwords into the login field.
	ev.Details = map[string]any{"reason": reason}
	_ = a.Audit.Record(ctx, ev)
}

func failureReason(user *domain.User, match bool) string {
	switch {
	case user == nil:
		return "unknown_login"
	case !match:
		return "wrong_password"
	default:
		return "inactive_user"
	}
}

// throttleKey counts a known user's failures under its id, so failures by
// email and by username add up; unknown logins count under their text.
func throttleKey(user *domain.User, login string) string {
	if user != nil {
		return "user:" + user.ID.String()
	}
	return "login:" + strings.ToLower(login)
}

func hashToken(raw string) []byte {
	sum := sha256.Sum256([]byte(raw))
	return sum[:]
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}

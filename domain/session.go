package domain

import (
	"time"

	"github.com/google/uuid"
)

// Session is one login on one device. Its refresh tokens form one family:
// each refresh spends a token and issues its successor. Revoking the session
// kills the family and every access token carrying its id.
type Session struct {
	ID         uuid.UUID
	UserID     uuid.UUID
	CreatedAt  time.Time
	LastUsedAt time.Time
	// ExpiresAt is the absolute end of the session; refreshing never
	// extends it.
	ExpiresAt    time.Time
	IP           string
	UserAgent    string
	RevokedAt    *time.Time
	RevokeReason string
}

// Active reports whether the session may still issue tokens at now.
func (s Session) Active(now time.Time) bool {
	return s.RevokedAt == nil && now.Before(s.ExpiresAt)
}

// Reasons a session ends early, recorded with the revocation.
const (
	RevokeLogout        = "logout"
	RevokeLogoutAll     = "logout_all"
	RevokeByUser        = "revoked_by_user"
	RevokeRefreshReuse  = "refresh_token_reuse"
	RevokePasswordReset = "password_changed"
	RevokeByAdmin       = "revoked_by_admin"
)

// RefreshToken is one member of a session's token family, known only by
// the SHA-256 hash of its value.
type RefreshToken struct {
	ID        uuid.UUID
	SessionID uuid.UUID
	Hash      []byte
	CreatedAt time.Time
	// ExpiresAt is the idle limit: a token unused this long is dead, and
	// never later than its session's absolute end.
	ExpiresAt  time.Time
	UsedAt     *time.Time
	ReplacedBy *uuid.UUID
}

// Principal is who an access token speaks for.
type Principal struct {
	UserID    uuid.UUID
	SessionID uuid.UUID
	TokenID   string
	ExpiresAt time.Time
}

// AccessClaims are the facts an access token carries besides iss and aud.
type AccessClaims struct {
	Subject   uuid.UUID
	SessionID uuid.UUID
	TokenID   string
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// Authentication errors. Wrong password and unknown user share one error
// so the answer never tells whether an account exists.
var (
	ErrInvalidCredentials = &Error{Kind: KindUnauthorized, Code: "invalid_credentials", Message: "the login or password is wrong"}
	ErrInvalidToken       = &Error{Kind: KindUnauthorized, Code: "invalid_token", Message: "the token is missing, malformed, expired or revoked"}
	ErrRefreshTokenReused = &Error{Kind: KindUnauthorized, Code: "invalid_token", Message: "the refresh token was already used"}
	ErrSessionNotFound    = &Error{Kind: KindNotFound, Code: "session_not_found", Message: "session not found"}
)

// LoginLocked is the error of a login identifier that failed too often.
func LoginLocked(retryAfter time.Duration) *Error {
	return &Error{Kind: KindRateLimited, Code: "login_locked",
		Message: "too many failed logins; try again later", RetryAfter: retryAfter}
}

// Audit actions of authentication.
const (
	ActionLoginSucceeded   = "auth.login"
	ActionLoginFailed      = "auth.login_failed"
	ActionLoginLocked      = "auth.login_locked"
	ActionRefreshReused    = "auth.refresh_token_reused"
	ActionLogout           = "auth.logout"
	ActionLogoutAll        = "auth.logout_all"
	ActionSessionRevoked   = "session.revoked"
	ActionProfileUpdated   = "user.profile_updated"
	ActionPasswordRehashed = "user.password_rehashed"
)

// RevokedSession is a revocation every instance must know about until the
// last access token of the session has expired.
type RevokedSession struct {
	SessionID uuid.UUID
	RevokedAt time.Time
}

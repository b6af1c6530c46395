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
	// ClientID is the OpenID Connect client the session was issued to,
	// empty for the API's own logins. Only reads of a refresh token fill
	// it: that is where a client's token must not pass for an API one.
	ClientID string
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
	// RevokeDuplicate ends a session opened twice for one proof by
	// concurrent requests: the one that was not kept.
	RevokeDuplicate = "duplicate"
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
	// PasswordChangeRequired is carried by tokens issued while a password
	// change was pending.
	PasswordChangeRequired bool
	// Kind is what vouched for the caller: a person's session (the zero
	// value), a personal access token or a service account's token.
	Kind PrincipalKind
	// Scope narrows a personal access token; nil for every other kind.
	Scope *TokenScope
}

// PrincipalKind tells the credentials behind a request apart.
type PrincipalKind string

// The kinds of principal.
const (
	PrincipalSession        PrincipalKind = ""
	PrincipalPersonalToken  PrincipalKind = "personal_access_token"
	PrincipalServiceAccount PrincipalKind = "service_account"
)

// TokenScope is what a personal access token may speak for: only the
// organization named (any when OrgID is nil) and only the permissions
// named, each still held by the owner at the time of use.
type TokenScope struct {
	TokenID     uuid.UUID
	OrgID       *uuid.UUID
	Permissions []string
}

// IsPersonalToken reports whether a personal access token vouched for p.
func (p Principal) IsPersonalToken() bool { return p.Kind == PrincipalPersonalToken }

// IsServiceAccount reports whether p is a service account.
func (p Principal) IsServiceAccount() bool { return p.Kind == PrincipalServiceAccount }

// AccessClaims are the facts an access token carries besides iss and aud.
type AccessClaims struct {
	Subject   uuid.UUID
	SessionID uuid.UUID
	TokenID   string
	IssuedAt  time.Time
	ExpiresAt time.Time
	// PasswordChangeRequired marks a token that may only change the
	// password, log out and read /me.
	PasswordChangeRequired bool
}

// Authentication errors. Wrong password and unknown user share one error
// so the answer never tells whether an account exists.
var (
	ErrInvalidCredentials = &Error{Kind: KindUnauthorized, Code: "invalid_credentials", Message: "the login or password is wrong"}
	ErrInvalidToken       = &Error{Kind: KindUnauthorized, Code: "invalid_token", Message: "the token is missing, malformed, expired or revoked"}
	ErrRefreshTokenReused = &Error{Kind: KindUnauthorized, Code: "refresh_token_reused",
		Message: "the refresh token was already used; the session it belonged to may have been revoked"}
	ErrSessionNotFound = &Error{Kind: KindNotFound, Code: "session_not_found", Message: "session not found"}
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

// Account lifecycle errors.
var (
	ErrPasswordChangeRequired = &Error{Kind: KindForbidden, Code: "password_change_required",
		Message: "the password must be changed before anything else"}
	ErrEmailNotVerified = &Error{Kind: KindForbidden, Code: "email_not_verified",
		Message: "the email address must be verified first; check your mail or ask for a new link"}
	ErrMFARequired = &Error{Kind: KindUnauthorized, Code: "mfa_required",
		Message: "this account needs a second factor: send mfa_code (an authenticator code or a recovery code)"}
	ErrInvalidMFACode = &Error{Kind: KindUnauthorized, Code: "invalid_mfa_code",
		Message: "the authenticator or recovery code is wrong or already used"}
	ErrMFAAlreadyEnabled = &Error{Kind: KindConflict, Code: "mfa_already_enabled",
		Message: "multi-factor login is already on; disable it first"}
	ErrMFANotSetUp = &Error{Kind: KindConflict, Code: "mfa_not_set_up",
		Message: "multi-factor login has not been set up yet; start its setup first"}
	ErrMFANotEnabled = &Error{Kind: KindConflict, Code: "mfa_not_enabled",
		Message: "multi-factor login is not on"}
)

// WrongPassword is a validation error naming the field whose password is not the
// account's: a wrong password on a signed-in request is a bad input, not
// a bad token, so clients do not log the user out over it.
func WrongPassword(field string) *Error {
	return Invalid(FieldError{Field: field, Code: "incorrect", Message: "is not the account's current password"})
}

// Account lifecycle audit actions.
const (
	ActionPasswordChanged        = "user.password_changed"
	ActionPasswordChangeRequired = "user.password_change_required"
	ActionPasswordResetAsked     = "user.password_reset_requested"
	ActionPasswordReset          = "user.password_reset"
	ActionEmailVerificationSent  = "user.email_verification_sent"
	ActionEmailVerified          = "user.email_verified"
	ActionEmailChangeRequested   = "user.email_change_requested"
	ActionEmailChanged           = "user.email_changed"
	ActionMFASetup               = "user.mfa_setup"
	ActionMFAEnabled             = "user.mfa_enabled"
	ActionMFADisabled            = "user.mfa_disabled"
	ActionMFAReset               = "user.mfa_reset"
	ActionMFAFailed              = "auth.mfa_failed"
	ActionRecoveryCodeUsed       = "auth.recovery_code_used"
)

// RevokedSession is a revocation every instance must know about until the
// last access token of the session has expired.
type RevokedSession struct {
	SessionID uuid.UUID
	RevokedAt time.Time
}

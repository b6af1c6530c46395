package ports

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
)

// OneTimeTokenRepository keeps mailed single-use tokens.
type OneTimeTokenRepository interface {
	// Create stores a new token.
	Create(ctx context.Context, t domain.OneTimeToken) error
	// Consume marks the unused, unexpired token with that purpose and hash
	// used at now and returns it. Of concurrent callers exactly one
	// succeeds; the others, and any unknown, used or expired token, get
	// domain.ErrInvalidToken.
	Consume(ctx context.Context, purpose domain.TokenPurpose, hash []byte, now time.Time) (domain.OneTimeToken, error)
	// InvalidateForUser spends every unused token of the user with that
	// purpose, so only the newest mailed link works.
	InvalidateForUser(ctx context.Context, userID uuid.UUID, purpose domain.TokenPurpose, now time.Time) error
}

// PasswordHistory keeps a user's previous password hashes.
type PasswordHistory interface {
	// Add records a hash the user had.
	Add(ctx context.Context, id, userID uuid.UUID, hash string, at time.Time) error
	// Recent returns the user's n newest previous hashes, newest first.
	Recent(ctx context.Context, userID uuid.UUID, n int) ([]string, error)
}

// RecoveryCodes keeps the hashed single-use MFA recovery codes.
type RecoveryCodes interface {
	// Replace drops the user's codes and stores these hashes.
	Replace(ctx context.Context, userID uuid.UUID, hashes [][]byte, at time.Time) error
	// Use spends the user's unused code with that hash; it reports false
	// when there is none. Of concurrent callers exactly one gets true.
	Use(ctx context.Context, userID uuid.UUID, hash []byte, at time.Time) (bool, error)
	// Remaining counts the user's unused codes.
	Remaining(ctx context.Context, userID uuid.UUID) (int, error)
}

// TOTP makes and checks RFC 6238 time-based one-time passwords.
type TOTP interface {
	// Generate makes a new random secret and its otpauth:// URI for an
	// authenticator app, labelled with issuer and account.
	Generate(issuer, account string) (secret, uri string, err error)
	// Validate checks code against secret at now, allowing one step of
	// clock skew either way, and returns the time step the code belongs
	// to so a used step can be refused (no replay within its window).
	Validate(secret, code string, now time.Time) (step int64, ok bool)
	// ValidSecret reports whether secret is a base32 secret Validate can
	// use (one another system made, for instance).
	ValidSecret(secret string) bool
}

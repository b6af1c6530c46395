package domain

import (
	"time"

	"github.com/google/uuid"
)

// TokenPurpose says what a one-time token proves.
type TokenPurpose string

// One-time token purposes.
const (
	PurposePasswordReset TokenPurpose = "password_reset"
	PurposeEmailVerify   TokenPurpose = "email_verify"
	// PurposeEmailChange proves a new address an account is moving to; it
	// is kept apart from PurposeEmailVerify so asking for a new
	// verification link never voids a pending change, and the reverse.
	PurposeEmailChange TokenPurpose = "email_change"
)

// OneTimeToken is a single-use secret mailed to a user, known to UMS only
// by its SHA-256 hash.
type OneTimeToken struct {
	ID      uuid.UUID
	UserID  uuid.UUID
	Purpose TokenPurpose
	Hash    []byte
	// Payload carries what the token confirms, e.g. the address an email
	// verification is for. Never a secret.
	Payload   string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

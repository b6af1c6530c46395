package domain

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Passkey is a WebAuthn credential registered by a user: a public key the
// authenticator keeps the private half of. Only public data is stored.
type Passkey struct {
	ID     uuid.UUID
	UserID uuid.UUID
	// CredentialID is the authenticator's id for the credential.
	CredentialID []byte
	// PublicKey is the COSE-encoded public key.
	PublicKey []byte
	// SignCount is the authenticator's counter at the last use; a
	// counter that goes back means a cloned authenticator.
	SignCount uint32
	AAGUID    []byte
	// Transports are the hints the authenticator gave (usb, nfc, ble,
	// internal, hybrid).
	Transports []string
	// BackupEligible and BackedUp are the authenticator's flags: a synced
	// passkey (iCloud Keychain, Google Password Manager) is both.
	BackupEligible bool
	BackedUp       bool
	// AttestationType is what the authenticator attested ("none" by
	// default).
	AttestationType string
	Name            string
	CreatedAt       time.Time
	LastUsedAt      *time.Time
}

// ParsePasskeyName validates a passkey's display name.
func ParsePasskeyName(field, s string) (string, *FieldError) {
	s = strings.TrimSpace(s)
	if s == "" || utf8.RuneCountInString(s) > 100 {
		return "", &FieldError{Field: field, Code: "invalid", Message: "a name of 1 to 100 characters is required"}
	}
	return s, nil
}

// PasskeyUse is what a successful assertion changes on a passkey.
type PasskeyUse struct {
	// From is the counter read before the ceremony; the write is refused
	// when another use moved it meanwhile.
	From     uint32
	To       uint32
	BackedUp bool
	At       time.Time
}

// Passkey errors and audit actions.
var (
	ErrPasskeyNotFound = &Error{Kind: KindNotFound, Code: "passkey_not_found", Message: "passkey not found"}
	ErrPasskeyRefused  = &Error{Kind: KindUnauthorized, Code: "passkey_refused",
		Message: "the passkey could not be verified; try again or sign in another way"}
	ErrCeremonyExpired = &Error{Kind: KindUnauthorized, Code: "ceremony_expired",
		Message: "the passkey request expired or was already used; start again"}
)

const (
	ActionPasskeyRegistered = "user.passkey_registered"
	ActionPasskeyRenamed    = "user.passkey_renamed"
	ActionPasskeyDeleted    = "user.passkey_deleted"
	ActionPasskeyFailed     = "auth.passkey_failed"
	ActionPasskeyCloned     = "auth.passkey_counter_regressed"
)

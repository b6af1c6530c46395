package ports

import (
	"context"
	"time"
)

// StoredSigningKey is a signing key as kept at rest: the private key only in
// sealed form.
type StoredSigningKey struct {
	KID              string
	Algorithm        string
	PublicKey        []byte
	PrivateKeySealed []byte
	CreatedAt        time.Time
	RetiredAt        *time.Time
	ExpiresAt        *time.Time
}

// SigningKeyRepository keeps the signing keys shared by every instance.
type SigningKeyRepository interface {
	// Create stores a new key; a duplicate kid is domain.ErrConflict.
	Create(ctx context.Context, k StoredSigningKey) error
	// All returns every key, newest first.
	All(ctx context.Context) ([]StoredSigningKey, error)
	// Retire marks a key retired; a missing kid is domain.ErrNotFound-kind.
	Retire(ctx context.Context, kid string, retiredAt, expiresAt time.Time) error
}

// SecretBox encrypts small secrets at rest with the key-encryption key.
type SecretBox interface {
	// Seal encrypts plaintext; label binds the ciphertext to its use so a
	// sealed value cannot be moved to another column.
	Seal(plaintext []byte, label string) ([]byte, error)
	// Open decrypts what Seal produced with the same label, or fails.
	Open(sealed []byte, label string) ([]byte, error)
}

package domain

import (
	"crypto/ed25519"
	"crypto/rsa"
	"time"
)

// SigningKey is one Ed25519 key that signs access tokens. Exactly one key is
// active at a time; a retired key stays published until every token it
// signed has expired, so verifiers never meet an unknown kid.
type SigningKey struct {
	KID        string
	PublicKey  ed25519.PublicKey
	PrivateKey ed25519.PrivateKey
	CreatedAt  time.Time
	RetiredAt  *time.Time
	// ExpiresAt is when the last token it signed expires; nil while active.
	ExpiresAt *time.Time
}

// SigningAlgorithm is the only JWS algorithm UMS signs and accepts for its
// API's access tokens.
const SigningAlgorithm = "EdDSA"

// OIDCSigningAlgorithm signs what the OpenID Connect provider issues (ID
// tokens, client access tokens): RS256, the algorithm every OpenID client
// accepts without configuration (OpenID Connect Core 15.1).
const OIDCSigningAlgorithm = "RS256"

// Active reports whether the key signs new tokens.
func (k SigningKey) Active() bool { return k.RetiredAt == nil }

// Published reports whether verifiers still need the public key at now.
func (k SigningKey) Published(now time.Time) bool {
	return k.ExpiresAt == nil || now.Before(*k.ExpiresAt)
}

// Retire stops the key signing at now; it stays published for tokenTTL
// (the longest-lived token it may have signed) after that.
func (k *SigningKey) Retire(now time.Time, tokenTTL time.Duration) {
	exp := now.Add(tokenTTL)
	k.RetiredAt, k.ExpiresAt = &now, &exp
}

// ActionKeyRotated is audited when a new signing key becomes active.
const ActionKeyRotated = "signing_key.rotated"

// RSASigningKey is one RSA key of the OpenID Connect provider; it rotates
// like the Ed25519 keys.
type RSASigningKey struct {
	KID        string
	PublicKey  *rsa.PublicKey
	PrivateKey *rsa.PrivateKey
	CreatedAt  time.Time
	RetiredAt  *time.Time
	ExpiresAt  *time.Time
}

// Active reports whether the key signs new tokens.
func (k RSASigningKey) Active() bool { return k.RetiredAt == nil }

// Published reports whether verifiers still need the public key at now.
func (k RSASigningKey) Published(now time.Time) bool {
	return k.ExpiresAt == nil || now.Before(*k.ExpiresAt)
}

package crypto

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/ums-project/ums/ports"
)

// SecretBox seals secrets with AES-256-GCM under the key-encryption key.
// Sealed form: version byte, 12-byte nonce, ciphertext and tag. The label is
// authenticated data, so a value sealed for one column does not open in
// another.
type SecretBox struct{ aead cipher.AEAD }

var _ ports.SecretBox = (*SecretBox)(nil)

const sealVersion = 1

// NewSecretBox derives the AES key from kek (at least 32 bytes).
func NewSecretBox(kek []byte) (*SecretBox, error) {
	if len(kek) < 32 {
		return nil, errors.New("key-encryption key must be at least 32 bytes")
	}
	// SHA-256 folds longer keys to the AES-256 key size.
	k := sha256.Sum256(kek)
	block, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &SecretBox{aead: aead}, nil
}

// Seal implements ports.SecretBox.
func (b *SecretBox) Seal(plaintext []byte, label string) ([]byte, error) {
	out := make([]byte, 1+b.aead.NonceSize(), 1+b.aead.NonceSize()+len(plaintext)+b.aead.Overhead())
	out[0] = sealVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("nonce: %w", err)
	}
	return b.aead.Seal(out, out[1:], plaintext, []byte(label)), nil
}

// Open implements ports.SecretBox.
func (b *SecretBox) Open(sealed []byte, label string) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < 1+n+b.aead.Overhead() || sealed[0] != sealVersion {
		return nil, errors.New("sealed value is malformed")
	}
	pt, err := b.aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte(label))
	if err != nil {
		return nil, errors.New("sealed value does not open with this key and label")
	}
	return pt, nil
}

package crypto_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/adapters/crypto"
)

func TestSecretBox(t *testing.T) {
	kek := bytes.Repeat([]byte{7}, 32)
	box, err := crypto.NewSecretBox(kek)
	require.NoError(t, err)
	secret := []byte("ed25519 seed of 32 bytes........")

	sealed, err := box.Seal(secret, "signing_keys.private_key")
	require.NoError(t, err)
	assert.NotContains(t, string(sealed), string(secret), "ciphertext hides the secret")

	t.Run("opens_with_same_key_and_label", func(t *testing.T) {
		got, err := box.Open(sealed, "signing_keys.private_key")
		require.NoError(t, err)
		assert.Equal(t, secret, got)
	})
	t.Run("refuses_other_label", func(t *testing.T) {
		_, err := box.Open(sealed, "users.mfa_secret")
		assert.Error(t, err)
	})
	t.Run("refuses_other_key", func(t *testing.T) {
		other, err := crypto.NewSecretBox(bytes.Repeat([]byte{8}, 32))
		require.NoError(t, err)
		_, err = other.Open(sealed, "signing_keys.private_key")
		assert.Error(t, err)
	})
	t.Run("refuses_tampering", func(t *testing.T) {
		bad := bytes.Clone(sealed)
		bad[len(bad)-1] ^= 1
		_, err := box.Open(bad, "signing_keys.private_key")
		assert.Error(t, err)
		_, err = box.Open(sealed[:5], "signing_keys.private_key")
		assert.Error(t, err)
	})
	t.Run("nonces_differ", func(t *testing.T) {
		again, err := box.Seal(secret, "signing_keys.private_key")
		require.NoError(t, err)
		assert.NotEqual(t, sealed, again)
	})
	t.Run("refuses_short_key", func(t *testing.T) {
		_, err := crypto.NewSecretBox(make([]byte, 16))
		assert.Error(t, err)
	})
}

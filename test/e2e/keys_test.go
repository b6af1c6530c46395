package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/ums-project/ums/adapters/crypto"
	"github.com/ums-project/ums/bootstrap"
	"github.com/ums-project/ums/domain"
)

func jwksKIDs(t *testing.T, s *server) []string {
	t.Helper()
	res := s.request(t, http.MethodGet, "/.well-known/jwks.json", "", nil, nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	var kids []string
	for _, k := range res.JSON(t)["keys"].([]any) {
		key := k.(map[string]any)
		assert.NotContains(t, key, "d", "the private part is never published")
		kids = append(kids, key["kid"].(string))
	}
	return kids
}

func TestSigningKeysArePublishedAndRotateWithoutRestart(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *server) {
		first := jwksKIDs(t, s)
		require.Len(t, first, 1, "a fresh database gets one active key at start")
		userID := registerUser(t, s, "rotator")
		before := login(t, s, "rotator", testPass)

		res := s.request(t, http.MethodGet, "/.well-known/openid-configuration", "", nil, nil)
		require.Equal(t, http.StatusOK, res.Status)
		assert.Equal(t, "http://localhost:8080", res.JSON(t)["issuer"])
		assert.Equal(t, "http://localhost:8080/.well-known/jwks.json", res.JSON(t)["jwks_uri"])

		// `ums keys rotate` against the same database and key file.
		rotated, err := bootstrap.RotateKeys(context.Background(), s.cfg, zap.NewNop())
		require.NoError(t, err)

		after := jwksKIDs(t, s)
		assert.Equal(t, []string{rotated.KID, first[0]}, after,
			"the new key is served at once, the retired one stays until its tokens expire")

		require.Equal(t, http.StatusOK, s.authed(t, http.MethodGet, "/api/v1/me", before.AccessToken, nil).Status,
			"tokens signed by the retired key stay valid")

		// Another instance that already signs with the new key: its tokens
		// verify here without a restart (an unknown kid reloads the keys).
		now := time.Now()
		fromNewKey, err := crypto.NewJWT(crypto.TokenConfig{Issuer: s.cfg.PublicURL, Audience: s.cfg.AccessTokenAudience}).
			Sign(domain.AccessClaims{Subject: uuid.MustParse(userID), SessionID: uuid.MustParse(before.SessionID),
				TokenID: uuid.NewString(), IssuedAt: now, ExpiresAt: now.Add(time.Minute)}, rotated)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, s.authed(t, http.MethodGet, "/api/v1/me", fromNewKey, nil).Status)

		var sealed []byte
		require.NoError(t, s.db.NewSelect().Table("signing_keys").Column("private_key_encrypted").
			Where("kid = ?", rotated.KID).Scan(context.Background(), &sealed))
		assert.NotContains(t, string(sealed), string(rotated.PrivateKey.Seed()), "private keys are encrypted at rest")
	})
}

func TestWrongKeyEncryptionKeyStopsStartup(t *testing.T) {
	s := startServer(t, dialects["sqlite"](t), nil)
	_ = jwksKIDs(t, s)
	cfg := s.cfg
	cfg.KeyEncryptionKeyFile = t.TempDir() + "/other-kek"
	_, err := bootstrap.RotateKeys(context.Background(), cfg, zap.NewNop())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "KEY_ENCRYPTION_KEY")
}

package e2e

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAccessTokensVerifyWithAnIndependentLibrary is what a relying service
// does: it knows only the discovery document and the JWKS it points to, and
// verifies our tokens with go-jose, not the jwx library that signed them.
func TestAccessTokensVerifyWithAnIndependentLibrary(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *server) {
		userID := registerUser(t, s, "relying")
		tk := login(t, s, "relying", testPass)

		disco := s.request(t, http.MethodGet, "/.well-known/openid-configuration", "", nil, nil)
		require.Equal(t, http.StatusOK, disco.Status)
		var meta struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		require.NoError(t, json.Unmarshal(disco.Body, &meta))

		res, err := s.client.Get(s.base + "/.well-known/jwks.json")
		require.NoError(t, err)
		defer res.Body.Close()
		var set jose.JSONWebKeySet
		require.NoError(t, json.NewDecoder(res.Body).Decode(&set))

		parsed, err := josejwt.ParseSigned(tk.AccessToken, []jose.SignatureAlgorithm{jose.EdDSA})
		require.NoError(t, err)
		require.Len(t, parsed.Headers, 1)
		keys := set.Key(parsed.Headers[0].KeyID)
		require.Len(t, keys, 1, "the token's kid is in the JWKS")

		var std josejwt.Claims
		var extra struct {
			SID string `json:"sid"`
		}
		require.NoError(t, parsed.Claims(keys[0].Key, &std, &extra))
		require.NoError(t, std.ValidateWithLeeway(josejwt.Expected{
			Issuer: meta.Issuer, AnyAudience: josejwt.Audience{s.cfg.AccessTokenAudience}, Time: time.Now(),
		}, 0))
		assert.Equal(t, userID, std.Subject)
		assert.Equal(t, tk.SessionID, extra.SID)
		assert.NotEmpty(t, std.ID)
		assert.NotNil(t, std.NotBefore)
		assert.NotNil(t, std.IssuedAt)

		// A token from one service cannot be passed off as another's.
		assert.Error(t, std.ValidateWithLeeway(josejwt.Expected{AnyAudience: josejwt.Audience{"billing"}, Time: time.Now()}, 0))
	})
}

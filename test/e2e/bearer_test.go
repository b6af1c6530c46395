package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/adapters/crypto"
	"github.com/ums-project/ums/domain"
)

func TestBearerTokenAttacksAreRefused(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *server) {
		userID := uuid.MustParse(registerUser(t, s, "mallory"))
		tk := login(t, s, "mallory", testPass)
		require.Equal(t, http.StatusOK, s.authed(t, http.MethodGet, "/api/v1/me", tk.AccessToken, nil).Status)

		key, err := s.keys.Signing(context.Background())
		require.NoError(t, err)
		parts := strings.Split(tk.AccessToken, ".")
		require.Len(t, parts, 3)
		b64 := base64.RawURLEncoding.EncodeToString
		claims := map[string]any{}
		raw, err := base64.RawURLEncoding.DecodeString(parts[1])
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(raw, &claims))

		// signWith signs the user's real claims with the server's real key
		// under a changed issuer, audience or lifetime.
		now := time.Now()
		signWith := func(iss, aud string, iat, exp time.Time) string {
			c := crypto.NewJWT(crypto.TokenConfig{Issuer: iss, Audience: aud})
			tok, err := c.Sign(domain.AccessClaims{Subject: userID, SessionID: uuid.MustParse(tk.SessionID),
				TokenID: uuid.NewString(), IssuedAt: iat, ExpiresAt: exp}, key)
			require.NoError(t, err)
			return tok
		}
		hs256 := func() string {
			tok, err := jwt.ParseInsecure([]byte(tk.AccessToken))
			require.NoError(t, err)
			hdr := jws.NewHeaders()
			require.NoError(t, hdr.Set(jws.KeyIDKey, key.KID))
			signed, err := jwt.Sign(tok, jwt.WithKey(jwa.HS256, []byte(key.PublicKey), jws.WithProtectedHeaders(hdr)))
			require.NoError(t, err)
			return string(signed)
		}
		tampered := func() string {
			claims["sub"] = uuid.NewString()
			b, _ := json.Marshal(claims)
			return parts[0] + "." + b64(b) + "." + parts[2]
		}

		attacks := map[string]string{
			"alg_none":              b64([]byte(`{"alg":"none","kid":"`+key.KID+`"}`)) + "." + parts[1] + ".",
			"hs256_with_public_key": hs256(),
			"unknown_kid":           b64([]byte(`{"alg":"EdDSA","kid":"not-a-key","typ":"JWT"}`)) + "." + parts[1] + "." + parts[2],
			"tampered_payload":      tampered(),
			"expired":               signWith(s.cfg.PublicURL, s.cfg.AccessTokenAudience, now.Add(-20*time.Minute), now.Add(-5*time.Minute)),
			"wrong_audience":        signWith(s.cfg.PublicURL, "another-service", now, now.Add(time.Minute)),
			"wrong_issuer":          signWith("https://evil.example", s.cfg.AccessTokenAudience, now, now.Add(time.Minute)),
			"garbage":               "abc.def.ghi",
		}
		for name, token := range attacks {
			t.Run(name, func(t *testing.T) {
				res := s.authed(t, http.MethodGet, "/api/v1/me", token, nil)
				require.Equal(t, http.StatusUnauthorized, res.Status, string(res.Body))
				assert.Equal(t, `Bearer realm="ums", error="invalid_token"`, res.Header.Get("WWW-Authenticate"))
				assert.Equal(t, "invalid_token", res.JSON(t)["code"])
			})
		}

		t.Run("a_real_key_with_the_right_claims_is_accepted", func(t *testing.T) {
			// The control case: the forgeries above fail for their flaw only.
			ok := signWith(s.cfg.PublicURL, s.cfg.AccessTokenAudience, now, now.Add(time.Minute))
			require.Equal(t, http.StatusOK, s.authed(t, http.MethodGet, "/api/v1/me", ok, nil).Status)
		})

		t.Run("missing_or_non_bearer_credentials", func(t *testing.T) {
			res := s.authed(t, http.MethodGet, "/api/v1/me", "", nil)
			require.Equal(t, http.StatusUnauthorized, res.Status)
			assert.Equal(t, `Bearer realm="ums"`, res.Header.Get("WWW-Authenticate"))
			res = s.request(t, http.MethodGet, "/api/v1/me", "", nil, map[string]string{"Authorization": "Basic Zm9vOmJhcg=="})
			require.Equal(t, http.StatusUnauthorized, res.Status)
		})

		t.Run("revoked", func(t *testing.T) {
			other := login(t, s, "mallory", testPass)
			require.Equal(t, http.StatusNoContent, s.authed(t, http.MethodPost, "/api/v1/auth/logout", other.AccessToken, nil).Status)
			res := s.authed(t, http.MethodGet, "/api/v1/me", other.AccessToken, nil)
			require.Equal(t, http.StatusUnauthorized, res.Status)
			assert.Equal(t, `Bearer realm="ums", error="invalid_token"`, res.Header.Get("WWW-Authenticate"))
			refreshRes, _ := refresh(t, s, other.RefreshToken)
			assert.Equal(t, http.StatusUnauthorized, refreshRes.Status)
		})
	})
}

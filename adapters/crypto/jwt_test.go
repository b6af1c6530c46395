package crypto

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

type fixture struct {
	codec  *JWT
	key    domain.SigningKey
	lookup ports.KeyLookup
	now    time.Time
	claims domain.AccessClaims
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	f := &fixture{
		key: domain.SigningKey{KID: "k1", PublicKey: pub, PrivateKey: priv},
		now: now,
		claims: domain.AccessClaims{Subject: uuid.New(), SessionID: uuid.New(), TokenID: uuid.NewString(),
			IssuedAt: now, ExpiresAt: now.Add(15 * time.Minute)},
	}
	f.codec = NewJWT(TokenConfig{Issuer: "https://ums.test", Audience: "ums", Leeway: 30 * time.Second,
		Now: func() time.Time { return f.now }})
	f.lookup = func(_ context.Context, kid string) (domain.SigningKey, bool, error) {
		if kid == f.key.KID {
			return domain.SigningKey{KID: kid, PublicKey: pub}, true, nil
		}
		return domain.SigningKey{}, false, nil
	}
	return f
}

func (f *fixture) sign(t *testing.T) string {
	t.Helper()
	tok, err := f.codec.Sign(f.claims, f.key)
	require.NoError(t, err)
	return tok
}

func TestSignedTokenVerifiesWithItsClaims(t *testing.T) {
	f := newFixture(t)
	got, err := f.codec.Verify(context.Background(), f.sign(t), f.lookup)
	require.NoError(t, err)
	assert.Equal(t, f.claims, got)
}

func TestPasswordChangeClaimRoundTrips(t *testing.T) {
	f := newFixture(t)
	f.claims.PasswordChangeRequired = true
	got, err := f.codec.Verify(context.Background(), f.sign(t), f.lookup)
	require.NoError(t, err)
	assert.True(t, got.PasswordChangeRequired)
}

func TestSignedTokenCarriesKidAndStandardClaims(t *testing.T) {
	f := newFixture(t)
	raw := f.sign(t)
	parts := strings.Split(raw, ".")
	require.Len(t, parts, 3)
	var hdr map[string]any
	require.NoError(t, json.Unmarshal(decodeSeg(t, parts[0]), &hdr))
	assert.Equal(t, "EdDSA", hdr["alg"])
	assert.Equal(t, "k1", hdr["kid"])
	var claims map[string]any
	require.NoError(t, json.Unmarshal(decodeSeg(t, parts[1]), &claims))
	for _, c := range []string{"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "sid"} {
		assert.Contains(t, claims, c)
	}
}

func TestVerifyRefusesForgedAndStaleTokens(t *testing.T) {
	f := newFixture(t)
	valid := f.sign(t)
	parts := strings.Split(valid, ".")

	hs256WithPublicKey := func() string {
		tok, err := jwt.ParseInsecure([]byte(valid))
		require.NoError(t, err)
		hdr := jws.NewHeaders()
		require.NoError(t, hdr.Set(jws.KeyIDKey, "k1"))
		signed, err := jwt.Sign(tok, jwt.WithKey(jwa.HS256, []byte(f.key.PublicKey), jws.WithProtectedHeaders(hdr)))
		require.NoError(t, err)
		return string(signed)
	}
	withHeader := func(h string) string {
		return base64.RawURLEncoding.EncodeToString([]byte(h)) + "." + parts[1] + "." + parts[2]
	}
	tamperedPayload := func() string {
		var claims map[string]any
		require.NoError(t, json.Unmarshal(decodeSeg(t, parts[1]), &claims))
		claims["sub"] = uuid.NewString()
		b, _ := json.Marshal(claims)
		return parts[0] + "." + base64.RawURLEncoding.EncodeToString(b) + "." + parts[2]
	}
	otherKey := func() string {
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		tok, err := f.codec.Sign(f.claims, domain.SigningKey{KID: "k1", PrivateKey: priv})
		require.NoError(t, err)
		return tok
	}
	signedBy := func(cfg TokenConfig) string {
		tok, err := NewJWT(cfg).Sign(f.claims, f.key)
		require.NoError(t, err)
		return tok
	}

	cases := map[string]struct {
		token string
		at    time.Time
	}{
		"alg none":                  {token: withHeader(`{"alg":"none","kid":"k1"}`), at: f.now},
		"alg none without sig":      {token: base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"k1"}`)) + "." + parts[1] + ".", at: f.now},
		"HS256 with the public key": {token: hs256WithPublicKey(), at: f.now},
		"unknown kid":               {token: withHeader(`{"alg":"EdDSA","kid":"nope","typ":"JWT"}`), at: f.now},
		"missing kid":               {token: withHeader(`{"alg":"EdDSA","typ":"JWT"}`), at: f.now},
		"tampered payload":          {token: tamperedPayload(), at: f.now},
		"signed by another key":     {token: otherKey(), at: f.now},
		"expired":                   {token: valid, at: f.now.Add(16 * time.Minute)},
		"not yet valid":             {token: valid, at: f.now.Add(-time.Minute)},
		"wrong audience":            {token: signedBy(TokenConfig{Issuer: "https://ums.test", Audience: "other"}), at: f.now},
		"wrong issuer":              {token: signedBy(TokenConfig{Issuer: "https://evil.test", Audience: "ums"}), at: f.now},
		"garbage":                   {token: "not.a.jwt", at: f.now},
		"empty":                     {token: "", at: f.now},
		"oversized":                 {token: strings.Repeat("a", 5000), at: f.now},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			f.now = tc.at
			defer func() { f.now = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC) }()
			_, err := f.codec.Verify(context.Background(), tc.token, f.lookup)
			assert.ErrorIs(t, err, domain.ErrInvalidToken)
		})
	}
}

func TestVerifyToleratesClockSkewWithinLeeway(t *testing.T) {
	f := newFixture(t)
	tok := f.sign(t)
	f.now = f.claims.ExpiresAt.Add(20 * time.Second)
	_, err := f.codec.Verify(context.Background(), tok, f.lookup)
	assert.NoError(t, err)
}

func decodeSeg(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	require.NoError(t, err)
	return b
}

package crypto_test

import (
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/adapters/crypto"
	"github.com/ums-project/ums/domain"
)

func signOld(t *testing.T, alg jwa.SignatureAlgorithm, secret string, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	require.NoError(t, err)
	b, err := jws.Sign(payload, jws.WithKey(alg, []byte(secret)))
	require.NoError(t, err)
	return string(b)
}

func TestLegacyJWTVerify(t *testing.T) {
	const secret = "the old secret"
	now := time.Unix(1_800_000_000, 0)
	v, err := crypto.NewLegacyJWT(secret)
	require.NoError(t, err)
	claims := func(edit func(map[string]any)) map[string]any {
		c := map[string]any{"sub": 7, "type": "access", "iat": now.Unix() - 10, "nbf": now.Unix() - 10,
			"exp": now.Unix() + 3600, "jti": "x", "fresh": false, "csrf": "y"}
		if edit != nil {
			edit(c)
		}
		return c
	}

	for name, tc := range map[string]struct {
		token string
		sub   int64
		typ   string
	}{
		"integer sub":   {signOld(t, jwa.HS256, secret, claims(nil)), 7, "access"},
		"string sub":    {signOld(t, jwa.HS256, secret, claims(func(c map[string]any) { c["sub"] = "7" })), 7, "access"},
		"refresh token": {signOld(t, jwa.HS256, secret, claims(func(c map[string]any) { c["type"] = "refresh" })), 7, "refresh"},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := v.Verify(tc.token, now)
			require.NoError(t, err)
			assert.Equal(t, tc.sub, c.Subject)
			assert.Equal(t, tc.typ, c.Type)
			assert.Equal(t, now.Unix()+3600, c.ExpiresAt.Unix())
		})
	}

	none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." +
		base64.RawURLEncoding.EncodeToString([]byte(`{"sub":7,"type":"access","exp":1900000000}`)) + "."
	for name, token := range map[string]string{
		"wrong secret":       signOld(t, jwa.HS256, "another", claims(nil)),
		"HS512":              signOld(t, jwa.HS512, secret, claims(nil)),
		"alg none":           none,
		"expired":            signOld(t, jwa.HS256, secret, claims(func(c map[string]any) { c["exp"] = now.Unix() })),
		"not yet valid":      signOld(t, jwa.HS256, secret, claims(func(c map[string]any) { c["nbf"] = now.Unix() + 60 })),
		"no exp":             signOld(t, jwa.HS256, secret, claims(func(c map[string]any) { delete(c, "exp") })),
		"unknown type":       signOld(t, jwa.HS256, secret, claims(func(c map[string]any) { c["type"] = "id" })),
		"negative sub":       signOld(t, jwa.HS256, secret, claims(func(c map[string]any) { c["sub"] = -1 })),
		"sub not a number":   signOld(t, jwa.HS256, secret, claims(func(c map[string]any) { c["sub"] = "alice" })),
		"fractional sub":     signOld(t, jwa.HS256, secret, claims(func(c map[string]any) { c["sub"] = 1.5 })),
		"garbage":            "a.b.c",
		"too many segments":  "a.b.c.d",
		"empty":              "",
		"tampered signature": signOld(t, jwa.HS256, secret, claims(nil)) + "A",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := v.Verify(token, now)
			assert.ErrorIs(t, err, domain.ErrInvalidToken)
		})
	}
	_, err = crypto.NewLegacyJWT("")
	assert.Error(t, err)
}

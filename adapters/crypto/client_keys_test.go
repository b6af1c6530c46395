package crypto_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	ucrypto "github.com/ums-project/ums/adapters/crypto"
	"github.com/ums-project/ums/domain"
)

func publicPEM(t *testing.T, pub any) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func jwkJSON(t *testing.T, key any, set map[string]any) string {
	t.Helper()
	k, err := jwk.FromRaw(key)
	require.NoError(t, err)
	for name, v := range set {
		require.NoError(t, k.Set(name, v))
	}
	b, err := json.Marshal(k)
	require.NoError(t, err)
	return string(b)
}

func assertFieldCode(t *testing.T, err error, code string) {
	t.Helper()
	var de *domain.Error
	require.ErrorAs(t, err, &de)
	require.Equal(t, domain.KindInvalid, de.Kind)
	require.Len(t, de.Fields, 1)
	assert.Equal(t, "public_key", de.Fields[0].Field)
	assert.Equal(t, code, de.Fields[0].Code)
}

func TestParsePublicKey(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	edPub, edPriv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	p := ucrypto.ClientKeys{}

	t.Run("accepted", func(t *testing.T) {
		for name, tc := range map[string]struct{ raw, alg string }{
			"rsa_pem":         {publicPEM(t, &rsaKey.PublicKey), "RS256"},
			"rsa_pkcs1_pem":   {string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)})), "RS256"},
			"rsa_jwk":         {jwkJSON(t, &rsaKey.PublicKey, nil), "RS256"},
			"rsa_jwk_ps256":   {jwkJSON(t, &rsaKey.PublicKey, map[string]any{"alg": "PS256"}), "PS256"},
			"ec_p256_pem":     {publicPEM(t, &ecKey.PublicKey), "ES256"},
			"ec_p256_jwk":     {jwkJSON(t, &ecKey.PublicKey, nil), "ES256"},
			"ed25519_pem":     {publicPEM(t, edPub), "EdDSA"},
			"ed25519_jwk":     {jwkJSON(t, edPub, nil), "EdDSA"},
			"ed25519_jwk_sig": {jwkJSON(t, edPub, map[string]any{"use": "sig"}), "EdDSA"},
		} {
			t.Run(name, func(t *testing.T) {
				k, err := p.ParsePublicKey("public_key", tc.raw)
				require.NoError(t, err)
				assert.Equal(t, tc.alg, k.Algorithm)
				assert.Equal(t, k.Thumbprint, k.KID, "without a kid of its own, a key is named by its thumbprint")
				var m map[string]any
				require.NoError(t, json.Unmarshal(k.JWK, &m))
				assert.NotContains(t, m, "d")
				assert.Equal(t, k.KID, m["kid"])
				assert.Equal(t, tc.alg, m["alg"])
			})
		}
	})

	t.Run("the_jwk_kid_is_kept", func(t *testing.T) {
		k, err := p.ParsePublicKey("public_key", jwkJSON(t, edPub, map[string]any{"kid": "deploy-2030"}))
		require.NoError(t, err)
		assert.Equal(t, "deploy-2030", k.KID)
		again, err := p.ParsePublicKey("public_key", publicPEM(t, edPub))
		require.NoError(t, err)
		assert.Equal(t, k.Thumbprint, again.Thumbprint, "the thumbprint is the key's, whatever its wrapping")
	})

	t.Run("refused", func(t *testing.T) {
		privDER, err := x509.MarshalPKCS8PrivateKey(rsaKey)
		require.NoError(t, err)
		for name, tc := range map[string]struct{ raw, code string }{
			"empty":             {"  ", "required"},
			"garbage":           {"hello", "invalid_key"},
			"not_json":          {"{nope", "invalid_jwk"},
			"jwk_set":           {`{"keys":[]}`, "invalid_jwk"},
			"private_rsa_jwk":   {jwkJSON(t, rsaKey, nil), "private_key"},
			"private_ed_jwk":    {jwkJSON(t, edPriv, nil), "private_key"},
			"symmetric_jwk":     {`{"kty":"oct","k":"c2VjcmV0"}`, "private_key"},
			"private_pem":       {string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})), "private_key"},
			"weak_rsa":          {publicPEM(t, &weak.PublicKey), "weak_key"},
			"p384":              {publicPEM(t, &p384.PublicKey), "unsupported_key"},
			"wrong_alg":         {jwkJSON(t, edPub, map[string]any{"alg": "RS256"}), "invalid_algorithm"},
			"encryption_use":    {jwkJSON(t, edPub, map[string]any{"use": "enc"}), "invalid_jwk"},
			"certificate_block": {string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}})), "invalid_pem"},
			"bad_kid":           {jwkJSON(t, edPub, map[string]any{"kid": "has space"}), "invalid_kid"},
			"bad_pem":           {"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "invalid_pem"},
		} {
			t.Run(name, func(t *testing.T) {
				_, err := p.ParsePublicKey("public_key", tc.raw)
				assertFieldCode(t, err, tc.code)
			})
		}
	})
}

func signAssertion(t *testing.T, alg jwa.SignatureAlgorithm, key any, kid string, claims map[string]any) string {
	t.Helper()
	tok := jwt.New()
	for k, v := range claims {
		require.NoError(t, tok.Set(k, v))
	}
	priv, err := jwk.FromRaw(key)
	require.NoError(t, err)
	require.NoError(t, priv.Set(jwk.KeyIDKey, kid))
	b, err := jwt.Sign(tok, jwt.WithKey(alg, priv))
	require.NoError(t, err)
	return string(b)
}

func TestVerifyAssertion(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	edPub, edPriv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	p := ucrypto.ClientKeys{}
	exp := time.Now().Add(5 * time.Minute).Truncate(time.Second).UTC()
	claims := map[string]any{"iss": "client", "sub": "client", "aud": []string{"https://ums.example"},
		"jti": "once", "exp": exp}

	for name, tc := range map[string]struct {
		alg  jwa.SignatureAlgorithm
		priv crypto.Signer
		pub  any
	}{
		"rs256": {jwa.RS256, rsaKey, &rsaKey.PublicKey},
		"es256": {jwa.ES256, ecKey, &ecKey.PublicKey},
		"eddsa": {jwa.EdDSA, edPriv, edPub},
	} {
		t.Run(name, func(t *testing.T) {
			key, err := p.ParsePublicKey("public_key", publicPEM(t, tc.pub))
			require.NoError(t, err)
			raw := signAssertion(t, tc.alg, tc.priv, key.KID, claims)

			kid, iss, err := p.Peek(raw)
			require.NoError(t, err)
			assert.Equal(t, key.KID, kid)
			assert.Equal(t, "client", iss)
			got, err := p.Verify(raw, key)
			require.NoError(t, err)
			assert.Equal(t, domain.ClientAssertion{Issuer: "client", Subject: "client", Audience: []string{"https://ums.example"},
				JTI: "once", ExpiresAt: exp}, got)
		})
	}

	t.Run("another_key_or_algorithm_is_refused", func(t *testing.T) {
		edKey, err := p.ParsePublicKey("public_key", publicPEM(t, edPub))
		require.NoError(t, err)
		otherPub, otherPriv, err := ed25519.GenerateKey(rand.Reader)
		require.NoError(t, err)
		_ = otherPub
		forged := signAssertion(t, jwa.EdDSA, otherPriv, edKey.KID, claims)
		_, err = p.Verify(forged, edKey)
		assert.ErrorIs(t, err, domain.ErrInvalidCredentials)

		rsaKeyInfo, err := p.ParsePublicKey("public_key", publicPEM(t, &rsaKey.PublicKey))
		require.NoError(t, err)
		ps := signAssertion(t, jwa.PS256, rsaKey, rsaKeyInfo.KID, claims)
		_, err = p.Verify(ps, rsaKeyInfo)
		assert.ErrorIs(t, err, domain.ErrInvalidCredentials, "the key is registered for RS256 only")

		hmac := signAssertion(t, jwa.HS256, []byte("a shared secret of enough bytes!"), rsaKeyInfo.KID, claims)
		_, err = p.Verify(hmac, rsaKeyInfo)
		assert.ErrorIs(t, err, domain.ErrInvalidCredentials)
	})

	t.Run("malformed", func(t *testing.T) {
		for _, raw := range []string{"", "a.b", "a.b.c", string(make([]byte, 9000))} {
			_, _, err := p.Peek(raw)
			assert.ErrorIs(t, err, domain.ErrInvalidCredentials)
		}
	})
}

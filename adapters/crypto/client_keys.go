package crypto

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// ClientKeys reads the public keys clients register and checks the
// assertions they sign with them (RFC 7523).
type ClientKeys struct{}

var (
	_ ports.ClientKeyParser         = ClientKeys{}
	_ ports.ClientAssertionVerifier = ClientKeys{}
)

// Bounds on what is parsed at all.
const (
	maxClientKeyBytes = 16 << 10
	// maxAssertionBytes admits an assertion signed with an RSA key of
	// 8192 bits and ordinary claims.
	maxAssertionBytes = 8 << 10
	minRSABits        = 2048
	maxRSABits        = 8192
)

// privateJWKMembers are the members that carry a private or symmetric
// key (RFC 7518 §6.2.2, §6.3.2, §6.4.1; RFC 8037 §2).
var privateJWKMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// ParsePublicKey implements ports.ClientKeyParser.
func (ClientKeys) ParsePublicKey(field, raw string) (domain.ClientPublicKey, error) {
	bad := func(code, msg string) error {
		return domain.Invalid(domain.FieldError{Field: field, Code: code, Message: msg})
	}
	raw = strings.TrimSpace(raw)
	switch {
	case raw == "":
		return domain.ClientPublicKey{}, bad("required", "is required: a public JWK or a PEM public key")
	case len(raw) > maxClientKeyBytes:
		return domain.ClientPublicKey{}, bad("too_large", "a public key is far shorter")
	}
	var (
		pub      any
		kid, alg string
		err      error
	)
	switch {
	case strings.HasPrefix(raw, "{"):
		pub, kid, alg, err = parseJWK(raw)
	case strings.Contains(raw, "-----BEGIN"):
		pub, err = parsePEM(raw)
	default:
		err = bad("invalid_key", "must be a public JWK (a JSON object) or a PEM public key")
	}
	if err != nil {
		var fe keyError
		if errors.As(err, &fe) {
			return domain.ClientPublicKey{}, bad(fe.code, fe.msg)
		}
		return domain.ClientPublicKey{}, err
	}
	alg, err = keyAlgorithm(pub, alg)
	if err != nil {
		var fe keyError
		errors.As(err, &fe)
		return domain.ClientPublicKey{}, bad(fe.code, fe.msg)
	}
	return publicJWK(pub, kid, alg, bad)
}

// keyError is a refused key: a code and message for the field.
type keyError struct{ code, msg string }

func (e keyError) Error() string { return e.code + ": " + e.msg }

func parseJWK(raw string) (pub any, kid, alg string, err error) {
	var members map[string]json.RawMessage
	if json.Unmarshal([]byte(raw), &members) != nil {
		return nil, "", "", keyError{"invalid_jwk", "is not a JSON Web Key"}
	}
	if _, ok := members["keys"]; ok {
		return nil, "", "", keyError{"invalid_jwk", "is a JWK set; send one key"}
	}
	for _, m := range privateJWKMembers {
		if _, ok := members[m]; ok {
			return nil, "", "", keyError{"private_key", "holds a private or symmetric key; register the public key only"}
		}
	}
	key, err := jwk.ParseKey([]byte(raw))
	if err != nil {
		return nil, "", "", keyError{"invalid_jwk", "is not a valid public JSON Web Key"}
	}
	if u := key.KeyUsage(); u != "" && u != string(jwk.ForSignature) {
		return nil, "", "", keyError{"invalid_jwk", `"use" must be "sig"`}
	}
	if err := key.Raw(&pub); err != nil {
		return nil, "", "", keyError{"invalid_jwk", "is not a valid public JSON Web Key"}
	}
	return pub, key.KeyID(), key.Algorithm().String(), nil
}

func parsePEM(raw string) (any, error) {
	block, rest := pem.Decode([]byte(raw))
	if block == nil {
		return nil, keyError{"invalid_pem", "is not a PEM block"}
	}
	if strings.Contains(block.Type, "PRIVATE") {
		return nil, keyError{"private_key", "is a private key; register the public key only"}
	}
	if strings.TrimSpace(string(rest)) != "" {
		return nil, keyError{"invalid_pem", "must hold one PEM block"}
	}
	var (
		pub any
		err error
	)
	switch block.Type {
	case "PUBLIC KEY":
		pub, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		pub, err = x509.ParsePKCS1PublicKey(block.Bytes)
	default:
		return nil, keyError{"invalid_pem", `must be a "PUBLIC KEY" or "RSA PUBLIC KEY" block`}
	}
	if err != nil {
		return nil, keyError{"invalid_pem", "is not a readable public key"}
	}
	return pub, nil
}

// keyAlgorithm is the one signature algorithm the key will verify: the
// one the JWK named, when it fits the key, or the key type's default.
func keyAlgorithm(pub any, named string) (string, error) {
	fits := func(allowed ...string) (string, error) {
		if named == "" {
			return allowed[0], nil
		}
		for _, a := range allowed {
			if named == a {
				return a, nil
			}
		}
		return "", keyError{"invalid_algorithm", fmt.Sprintf("the key's alg must be one of %s", strings.Join(allowed, ", "))}
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if bits := k.N.BitLen(); bits < minRSABits || bits > maxRSABits {
			return "", keyError{"weak_key", "an RSA key must have 2048 to 8192 bits"}
		}
		if k.E < 3 || k.E%2 == 0 {
			return "", keyError{"invalid_key", "the RSA exponent is invalid"}
		}
		return fits(jwa.RS256.String(), jwa.PS256.String())
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return "", keyError{"unsupported_key", "an EC key must be on P-256"}
		}
		if _, err := k.ECDH(); err != nil {
			return "", keyError{"invalid_key", "the EC point is not on P-256"}
		}
		return fits(jwa.ES256.String())
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return "", keyError{"invalid_key", "an Ed25519 key has 32 bytes"}
		}
		return fits(jwa.EdDSA.String())
	}
	return "", keyError{"unsupported_key", "the key must be RSA (2048 bits or more), EC P-256 or Ed25519"}
}

// publicJWK renders the key as the JWK UMS keeps, named by its own kid or
// its thumbprint.
func publicJWK(pub any, kid, alg string, bad func(code, msg string) error) (domain.ClientPublicKey, error) {
	key, err := jwk.FromRaw(pub)
	if err != nil {
		return domain.ClientPublicKey{}, fmt.Errorf("client key to JWK: %w", err)
	}
	sum, err := key.Thumbprint(crypto.SHA256)
	if err != nil {
		return domain.ClientPublicKey{}, fmt.Errorf("client key thumbprint: %w", err)
	}
	thumb := base64.RawURLEncoding.EncodeToString(sum)
	if kid == "" {
		kid = thumb
	}
	if !domain.WellFormedKeyID(kid) {
		return domain.ClientPublicKey{}, bad("invalid_kid", "kid must be 1 to 128 printable ASCII characters without spaces")
	}
	for k, v := range map[string]any{jwk.KeyIDKey: kid, jwk.AlgorithmKey: jwa.SignatureAlgorithm(alg),
		jwk.KeyUsageKey: jwk.ForSignature} {
		if err := key.Set(k, v); err != nil {
			return domain.ClientPublicKey{}, fmt.Errorf("client key %s: %w", k, err)
		}
	}
	b, err := json.Marshal(key)
	if err != nil {
		return domain.ClientPublicKey{}, fmt.Errorf("encode client key: %w", err)
	}
	return domain.ClientPublicKey{KID: kid, Algorithm: alg, JWK: b, Thumbprint: thumb}, nil
}

// Peek implements ports.ClientAssertionVerifier.
func (ClientKeys) Peek(raw string) (string, string, error) {
	msg, err := parseAssertion(raw)
	if err != nil {
		return "", "", err
	}
	var claims struct {
		Issuer string `json:"iss"`
	}
	if json.Unmarshal(msg.Payload(), &claims) != nil || claims.Issuer == "" {
		return "", "", domain.ErrInvalidCredentials
	}
	return msg.Signatures()[0].ProtectedHeaders().KeyID(), claims.Issuer, nil
}

// Verify implements ports.ClientAssertionVerifier. The algorithm is the
// key's, never the token's: a header naming another is refused before
// the key is used.
func (ClientKeys) Verify(raw string, key domain.ClientPublicKey) (domain.ClientAssertion, error) {
	msg, err := parseAssertion(raw)
	if err != nil {
		return domain.ClientAssertion{}, err
	}
	alg := jwa.SignatureAlgorithm(key.Algorithm)
	if msg.Signatures()[0].ProtectedHeaders().Algorithm() != alg {
		return domain.ClientAssertion{}, domain.ErrInvalidCredentials
	}
	pub, err := jwk.ParseKey(key.JWK)
	if err != nil {
		return domain.ClientAssertion{}, fmt.Errorf("stored client key %s: %w", key.KID, err)
	}
	payload, err := jws.Verify([]byte(raw), jws.WithKey(alg, pub))
	if err != nil {
		return domain.ClientAssertion{}, domain.ErrInvalidCredentials
	}
	tok, err := jwt.Parse(payload, jwt.WithVerify(false), jwt.WithValidate(false))
	if err != nil {
		return domain.ClientAssertion{}, domain.ErrInvalidCredentials
	}
	return assertionClaims(tok), nil
}

func parseAssertion(raw string) (*jws.Message, error) {
	if raw == "" || len(raw) > maxAssertionBytes {
		return nil, domain.ErrInvalidCredentials
	}
	msg, err := jws.Parse([]byte(raw), jws.WithCompact())
	if err != nil || len(msg.Signatures()) != 1 {
		return nil, domain.ErrInvalidCredentials
	}
	return msg, nil
}

func assertionClaims(tok jwt.Token) domain.ClientAssertion {
	a := domain.ClientAssertion{Issuer: tok.Issuer(), Subject: tok.Subject(), Audience: tok.Audience(),
		JTI: tok.JwtID(), ExpiresAt: tok.Expiration().UTC()}
	opt := func(t time.Time) *time.Time {
		if t.IsZero() {
			return nil
		}
		t = t.UTC()
		return &t
	}
	a.IssuedAt, a.NotBefore = opt(tok.IssuedAt()), opt(tok.NotBefore())
	return a
}

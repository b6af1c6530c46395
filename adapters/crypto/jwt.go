package crypto

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// sessionClaim carries the session id, so a revoked session's tokens can be
// refused.
const sessionClaim = "sid"

// passwordChangeClaim marks a token issued while a password change is
// pending; only present when true.
const passwordChangeClaim = "pcr"

// maxTokenBytes bounds what is parsed at all; our tokens are ~400 bytes.
const maxTokenBytes = 4096

// TokenConfig fixes who issues the tokens and for whom.
type TokenConfig struct {
	Issuer   string
	Audience string
	// Leeway tolerates clock differences between instances and verifiers.
	Leeway time.Duration
	// Now is the verifier's clock; nil means time.Now.
	Now func() time.Time
}

// JWT is the jwx access-token codec: EdDSA only, kid in the header.
type JWT struct{ cfg TokenConfig }

var _ ports.AccessTokenCodec = (*JWT)(nil)

// NewJWT returns a codec for cfg.
func NewJWT(cfg TokenConfig) *JWT {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &JWT{cfg: cfg}
}

// Sign implements ports.AccessTokenCodec.
func (j *JWT) Sign(c domain.AccessClaims, key domain.SigningKey) (string, error) {
	if key.PrivateKey == nil {
		return "", errors.New("sign access token: signing key has no private part")
	}
	b := jwt.NewBuilder()
	if c.PasswordChangeRequired {
		b = b.Claim(passwordChangeClaim, true)
	}
	tok, err := b.
		Issuer(j.cfg.Issuer).
		Subject(c.Subject.String()).
		Audience([]string{j.cfg.Audience}).
		IssuedAt(c.IssuedAt).
		NotBefore(c.IssuedAt).
		Expiration(c.ExpiresAt).
		JwtID(c.TokenID).
		Claim(sessionClaim, c.SessionID.String()).
		Build()
	if err != nil {
		return "", fmt.Errorf("build access token: %w", err)
	}
	hdr := jws.NewHeaders()
	if err := hdr.Set(jws.KeyIDKey, key.KID); err != nil {
		return "", err
	}
	if err := hdr.Set(jws.TypeKey, "JWT"); err != nil {
		return "", err
	}
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.EdDSA, key.PrivateKey, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return "", fmt.Errorf("sign access token: %w", err)
	}
	return string(signed), nil
}

// Verify implements ports.AccessTokenCodec. The algorithm and key are chosen
// by us, never by the token: the header is only read to find the kid, and a
// header naming anything but EdDSA is refused before any key is touched.
func (j *JWT) Verify(ctx context.Context, raw string, lookup ports.KeyLookup) (domain.AccessClaims, error) {
	if raw == "" || len(raw) > maxTokenBytes {
		return domain.AccessClaims{}, domain.ErrInvalidToken
	}
	msg, err := jws.Parse([]byte(raw), jws.WithCompact())
	if err != nil || len(msg.Signatures()) != 1 {
		return domain.AccessClaims{}, domain.ErrInvalidToken
	}
	hdr := msg.Signatures()[0].ProtectedHeaders()
	if hdr.Algorithm() != jwa.EdDSA || hdr.KeyID() == "" {
		return domain.AccessClaims{}, domain.ErrInvalidToken
	}
	key, ok, err := lookup(ctx, hdr.KeyID())
	if err != nil {
		return domain.AccessClaims{}, fmt.Errorf("look up signing key: %w", err)
	}
	if !ok {
		return domain.AccessClaims{}, domain.ErrInvalidToken
	}
	tok, err := jwt.Parse([]byte(raw),
		jwt.WithKey(jwa.EdDSA, key.PublicKey),
		jwt.WithValidate(true),
		jwt.WithIssuer(j.cfg.Issuer),
		jwt.WithAudience(j.cfg.Audience),
		jwt.WithAcceptableSkew(j.cfg.Leeway),
		jwt.WithClock(jwt.ClockFunc(j.cfg.Now)),
		jwt.WithRequiredClaim(jwt.SubjectKey),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
		jwt.WithRequiredClaim(jwt.IssuedAtKey),
		jwt.WithRequiredClaim(jwt.JwtIDKey),
		jwt.WithRequiredClaim(sessionClaim),
	)
	if err != nil {
		return domain.AccessClaims{}, domain.ErrInvalidToken
	}
	sub, err := uuid.Parse(tok.Subject())
	if err != nil {
		return domain.AccessClaims{}, domain.ErrInvalidToken
	}
	sidRaw, _ := tok.Get(sessionClaim)
	sidStr, _ := sidRaw.(string)
	sid, err := uuid.Parse(sidStr)
	if err != nil {
		return domain.AccessClaims{}, domain.ErrInvalidToken
	}
	pcr, _ := tok.Get(passwordChangeClaim)
	return domain.AccessClaims{
		Subject: sub, SessionID: sid, TokenID: tok.JwtID(),
		IssuedAt: tok.IssuedAt(), ExpiresAt: tok.Expiration(),
		PasswordChangeRequired: pcr == true,
	}, nil
}

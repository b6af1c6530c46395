package crypto

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// LegacyJWT verifies the tokens the old Flask service issued with
// Flask-JWT-Extended: HS256 with its shared secret, `sub` the integer user
// id (or its decimal string), `type` access or refresh, no leeway.
type LegacyJWT struct{ secret []byte }

var _ ports.LegacyTokenVerifier = (*LegacyJWT)(nil)

// NewLegacyJWT returns a verifier for tokens signed with secret.
func NewLegacyJWT(secret string) (*LegacyJWT, error) {
	if secret == "" {
		return nil, errors.New("legacy JWT secret is empty")
	}
	return &LegacyJWT{secret: []byte(secret)}, nil
}

// legacyClaims are the registered and private claims the old service set;
// sub is raw because it is an integer in tokens of PyJWT before 2.10.
type legacyClaims struct {
	Sub  json.RawMessage `json:"sub"`
	Type string          `json:"type"`
	Iat  *json.Number    `json:"iat"`
	Nbf  *json.Number    `json:"nbf"`
	Exp  *json.Number    `json:"exp"`
}

// Verify implements ports.LegacyTokenVerifier. jws checks the signature
// with the one algorithm allowed (a token claiming another, "none"
// included, is refused before any key is used); the claims are then read
// from the verified payload.
func (l *LegacyJWT) Verify(token string, now time.Time) (ports.LegacyClaims, error) {
	if token == "" || len(token) > maxTokenBytes || strings.Count(token, ".") != 2 {
		return ports.LegacyClaims{}, domain.ErrInvalidToken
	}
	payload, err := jws.Verify([]byte(token), jws.WithKey(jwa.HS256, l.secret))
	if err != nil {
		return ports.LegacyClaims{}, domain.ErrInvalidToken
	}
	var c legacyClaims
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&c); err != nil {
		return ports.LegacyClaims{}, domain.ErrInvalidToken
	}
	sub, ok := legacySubject(c.Sub)
	exp, expOK := unixTime(c.Exp)
	if !ok || !expOK || (c.Type != "access" && c.Type != "refresh") || !now.Before(exp) {
		return ports.LegacyClaims{}, domain.ErrInvalidToken
	}
	if nbf, ok := unixTime(c.Nbf); ok && now.Before(nbf) {
		return ports.LegacyClaims{}, domain.ErrInvalidToken
	}
	iat, _ := unixTime(c.Iat)
	return ports.LegacyClaims{Subject: sub, Type: c.Type, IssuedAt: iat, ExpiresAt: exp}, nil
}

// legacySubject reads sub as a positive integer, from a JSON number or a
// decimal string.
func legacySubject(raw json.RawMessage) (int64, bool) {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		var n json.Number
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if dec.Decode(&n) != nil {
			return 0, false
		}
		s = n.String()
	}
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil && id > 0
}

func unixTime(n *json.Number) (time.Time, bool) {
	if n == nil {
		return time.Time{}, false
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e12 {
		return time.Time{}, false
	}
	return time.Unix(int64(f), 0), true
}

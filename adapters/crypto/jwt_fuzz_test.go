package crypto

import (
	"context"
	"crypto/ed25519"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// fuzzKey signs the one token the verifier fuzz knows to be valid.
var fuzzKey = ed25519.NewKeyFromSeed([]byte("ums-fuzz-verifier-seed-32-bytes!"))

var fuzzClaims = domain.AccessClaims{
	Subject: uuid.MustParse("0190b6a4-0000-7000-8000-000000000001"), SessionID: uuid.MustParse("0190b6a4-0000-7000-8000-000000000002"),
	TokenID: "fuzz", IssuedAt: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC), ExpiresAt: time.Date(2026, 11, 26, 12, 15, 0, 0, time.UTC),
}

func fuzzCodec() (*JWT, domain.SigningKey) {
	key := domain.SigningKey{KID: "k1", PrivateKey: fuzzKey, PublicKey: fuzzKey.Public().(ed25519.PublicKey)}
	return NewJWT(TokenConfig{Issuer: "https://ums.test", Audience: "ums", Leeway: 30 * time.Second,
		Now: func() time.Time { return fuzzClaims.IssuedAt.Add(time.Minute) }}), key
}

// FuzzJWTVerify: no input makes the verifier panic, and the only thing
// that verifies is the token we signed: anything accepted carries exactly
// its claims (a mutation that decodes to the same bytes is that token).
// Seeds are in testdata/fuzz/FuzzJWTVerify; the valid token is added here.
func FuzzJWTVerify(f *testing.F) {
	codec, key := fuzzCodec()
	valid, err := codec.Sign(fuzzClaims, key)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	parts := strings.Split(valid, ".")
	f.Add(parts[0] + "." + parts[1] + ".")
	f.Add(`eyJhbGciOiJub25lIiwia2lkIjoiazEifQ.` + parts[1] + ".")
	lookup := func(_ context.Context, kid string) (domain.SigningKey, bool, error) {
		return domain.SigningKey{KID: kid, PublicKey: key.PublicKey}, kid == key.KID, nil
	}
	cached := NewVerifyCache(codec, 64)
	f.Fuzz(func(t *testing.T, token string) {
		for _, v := range []ports.AccessTokenCodec{codec, cached} {
			got, err := v.Verify(context.Background(), token, lookup)
			if err != nil {
				if err != domain.ErrInvalidToken {
					t.Fatalf("a bad token must be ErrInvalidToken, got %v", err)
				}
				continue
			}
			if !got.IssuedAt.Equal(fuzzClaims.IssuedAt) || !got.ExpiresAt.Equal(fuzzClaims.ExpiresAt) ||
				got.Subject != fuzzClaims.Subject || got.SessionID != fuzzClaims.SessionID || got.TokenID != fuzzClaims.TokenID {
				t.Fatalf("accepted a token with other claims: %+v", got)
			}
		}
	})
}

package crypto

import (
	"crypto/subtle"
	"encoding/base32"
	"fmt"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/ums-project/ums/ports"
)

// TOTP settings every authenticator app supports: Google Authenticator and
// several others ignore the algorithm, digits and period in the URI.
const (
	totpDigits     = otp.DigitsSix
	totpPeriod     = 30 // seconds
	totpSecretSize = 20 // bytes: the 160 bits RFC 4226 recommends
	totpSkew       = 1  // steps either side of now
)

// TOTP makes and checks RFC 6238 codes: SHA-1, six digits, 30-second steps.
type TOTP struct{}

var _ ports.TOTP = (*TOTP)(nil)

// NewTOTP returns a TOTP.
func NewTOTP() *TOTP { return &TOTP{} }

// Generate implements ports.TOTP with a random 20-byte secret, returned
// base32-encoded without padding.
func (*TOTP) Generate(issuer, account string) (secret, uri string, err error) {
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer:      issuer,
		AccountName: account,
		Period:      totpPeriod,
		SecretSize:  totpSecretSize,
		Digits:      totpDigits,
		Algorithm:   otp.AlgorithmSHA1,
	})
	if err != nil {
		return "", "", fmt.Errorf("generate totp secret: %w", err)
	}
	return key.Secret(), key.URL(), nil
}

// Validate implements ports.TOTP. Every candidate step is computed and
// compared in constant time, so the time taken does not tell how close a
// guess came. Should a code match two steps, the later one is returned:
// refusing steps up to the last one used then errs towards refusing.
func (*TOTP) Validate(secret, code string, now time.Time) (int64, bool) {
	if !sixDigits(code) {
		return 0, false
	}
	current := floorDiv(now.Unix(), totpPeriod)
	var step int64
	matched := false
	for skew := int64(-totpSkew); skew <= totpSkew; skew++ {
		s := current + skew
		if s < 0 {
			continue
		}
		want, err := totp.GenerateCodeCustom(secret, time.Unix(s*totpPeriod, 0), totp.ValidateOpts{
			Period:    totpPeriod,
			Digits:    totpDigits,
			Algorithm: otp.AlgorithmSHA1,
		})
		if err != nil {
			return 0, false // the secret is not valid base32
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			step, matched = s, true
		}
	}
	return step, matched
}

// ValidSecret implements ports.TOTP: base32 without padding (as pyotp and
// this adapter write it, any case), of at least 80 bits.
func (*TOTP) ValidSecret(secret string) bool {
	b, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(strings.TrimRight(secret, "=")))
	return err == nil && len(b) >= 10
}

func sixDigits(code string) bool {
	if len(code) != totpDigits.Length() {
		return false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return false
		}
	}
	return true
}

// floorDiv rounds towards minus infinity, as RFC 6238's step count does.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

package crypto_test

import (
	"encoding/base32"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/adapters/crypto"
)

// rfc6238Secret is the SHA-1 key of RFC 6238's test vectors, base32-encoded.
var rfc6238Secret = base32.StdEncoding.EncodeToString([]byte("12345678901234567890"))

func codeAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{
		Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1,
	})
	require.NoError(t, err)
	return code
}

func TestTOTPMatchesRFC6238Vectors(t *testing.T) {
	eight, err := totp.GenerateCodeCustom(rfc6238Secret, time.Unix(59, 0), totp.ValidateOpts{
		Period: 30, Digits: otp.DigitsEight, Algorithm: otp.AlgorithmSHA1,
	})
	require.NoError(t, err)
	assert.Equal(t, "94287082", eight)

	v := crypto.NewTOTP()
	for unix, code := range map[int64]string{
		59:          "287082",
		1111111109:  "081804",
		1111111111:  "050471",
		1234567890:  "005924",
		2000000000:  "279037",
		20000000000: "353130",
	} {
		step, ok := v.Validate(rfc6238Secret, code, time.Unix(unix, 0))
		assert.True(t, ok, "T=%d", unix)
		assert.Equal(t, unix/30, step, "T=%d", unix)
	}
}

func TestTOTPValidatesOneStepOfSkew(t *testing.T) {
	v := crypto.NewTOTP()
	secret, _, err := v.Generate("UMS", "ada@example.com")
	require.NoError(t, err)
	now := time.Date(2030, 3, 4, 5, 6, 7, 0, time.UTC)
	nowStep := now.Unix() / 30

	step, ok := v.Validate(secret, codeAt(t, secret, now), now)
	assert.True(t, ok)
	assert.Equal(t, nowStep, step)

	for _, tc := range []struct {
		offset time.Duration
		ok     bool
		step   int64
	}{
		{-30 * time.Second, true, nowStep - 1},
		{30 * time.Second, true, nowStep + 1},
		{-60 * time.Second, false, 0},
		{60 * time.Second, false, 0},
		{-90 * time.Second, false, 0},
		{90 * time.Second, false, 0},
	} {
		code := codeAt(t, secret, now.Add(tc.offset))
		if !tc.ok && code == codeAt(t, secret, now) {
			continue // a one-in-a-million collision with an accepted step
		}
		step, ok := v.Validate(secret, code, now)
		assert.Equal(t, tc.ok, ok, "offset %v", tc.offset)
		if tc.ok {
			assert.Equal(t, tc.step, step, "offset %v", tc.offset)
		}
	}
}

func TestTOTPRejectsMalformedCodes(t *testing.T) {
	v := crypto.NewTOTP()
	at := time.Unix(59, 0)
	for _, code := range []string{
		"", "28708", "2870820", "94287082", "28708a", " 287082", "287082 ", "287 082",
		"２８７０８２", // full-width digits
		"-28708", "+28708",
	} {
		_, ok := v.Validate(rfc6238Secret, code, at)
		assert.False(t, ok, "%q", code)
	}
	_, ok := v.Validate("not base32!", "287082", at)
	assert.False(t, ok, "a malformed secret validates nothing")
	_, ok = v.Validate(rfc6238Secret, "287083", at)
	assert.False(t, ok)
}

func TestTOTPGenerateMakesAnAuthenticatorURI(t *testing.T) {
	v := crypto.NewTOTP()
	secret, uri, err := v.Generate("UMS Example", "ada@example.com")
	require.NoError(t, err)

	key, err := otp.NewKeyFromURL(uri)
	require.NoError(t, err)
	assert.Equal(t, "totp", key.Type())
	assert.Equal(t, "UMS Example", key.Issuer())
	assert.Equal(t, "ada@example.com", key.AccountName())
	assert.Equal(t, secret, key.Secret())
	assert.Equal(t, uint64(30), key.Period())
	assert.Equal(t, otp.DigitsSix, key.Digits())
	assert.Equal(t, otp.AlgorithmSHA1, key.Algorithm())
	assert.True(t, strings.HasPrefix(uri, "otpauth://totp/"), uri)

	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	require.NoError(t, err)
	assert.Len(t, raw, 20)

	other, _, err := v.Generate("UMS Example", "ada@example.com")
	require.NoError(t, err)
	assert.NotEqual(t, secret, other, "secrets are random")

	now := time.Now()
	_, ok := v.Validate(secret, codeAt(t, secret, now), now)
	assert.True(t, ok, "a generated secret validates its codes")

	_, _, err = v.Generate("", "ada@example.com")
	assert.Error(t, err)
	_, _, err = v.Generate("UMS", "")
	assert.Error(t, err)
}

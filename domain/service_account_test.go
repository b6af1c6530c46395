package domain_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/domain"
)

func TestServiceAccountUser(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	u := domain.NewServiceAccountUser(uuid.New(), domain.MustUsername("sa-Robot7"), "!", now)
	assert.True(t, u.IsServiceAccount())
	assert.Equal(t, "sa-robot7@service-accounts.invalid", u.Email().String())
	assert.True(t, u.Email().Reserved())
	assert.False(t, u.EmailVerified(), "nobody can prove a synthetic address")
	assert.True(t, u.IsActive())
	assert.Nil(t, u.PasswordExpiresAt(), "no password, so none expires")
	assert.False(t, u.PasswordChangeRequired(now.Add(10000*time.Hour)))

	again := domain.RehydrateUser(u.State())
	assert.Equal(t, domain.UserKindService, again.Kind())
	person := domain.RehydrateUser(domain.UserState{ID: uuid.New()})
	assert.Equal(t, domain.UserKindPerson, person.Kind(), "a row without a kind is a person's")
}

func TestReservedEmail(t *testing.T) {
	for addr, reserved := range map[string]bool{
		"a@service-accounts.invalid": true,
		"a@anything.invalid":         true,
		"a@example.com":              false,
		"a@invalid.example":          false,
	} {
		e, fe := domain.ParseEmail(addr)
		require.Nil(t, fe, addr)
		assert.Equal(t, reserved, e.Reserved(), addr)
	}
}

func TestParseServiceAccountName(t *testing.T) {
	for in, code := range map[string]string{
		"Nightly export":         "",
		"  padded  ":             "",
		"":                       "invalid_length",
		strings.Repeat("n", 100): "",
		strings.Repeat("n", 101): "invalid_length",
		"bell\a":                 "invalid_characters",
		"rtl\u202eoverride":      "invalid_characters",
	} {
		got, fe := domain.ParseServiceAccountName("name", in)
		if code == "" {
			require.Nil(t, fe, in)
			assert.Equal(t, strings.TrimSpace(in), got)
			continue
		}
		require.NotNil(t, fe, in)
		assert.Equal(t, code, fe.Code, in)
	}
	_, fe := domain.ParseServiceAccountDescription("description", strings.Repeat("d", 1001))
	assert.NotNil(t, fe)
	d, fe := domain.ParseServiceAccountDescription("description", " fine ")
	assert.Nil(t, fe)
	assert.Equal(t, "fine", d)
}

func TestServiceAccountKeyUsable(t *testing.T) {
	now := time.Now()
	exp := now.Add(time.Minute)
	assert.True(t, domain.ServiceAccountKey{}.Usable(now))
	assert.True(t, domain.ServiceAccountKey{ExpiresAt: &exp}.Usable(now))
	assert.False(t, domain.ServiceAccountKey{ExpiresAt: &exp}.Usable(exp))
}

func TestClientKeyIDsAndAssertionIDsAreWellFormed(t *testing.T) {
	for kid, want := range map[string]bool{
		"k1": true, "projects/p/keys/k:1": true, strings.Repeat("k", 128): true,
		"": false, "\x00": false, "a b": false, "k\n": false, "ключ": false, strings.Repeat("k", 129): false,
	} {
		assert.Equal(t, want, domain.WellFormedKeyID(kid), "%q", kid)
	}
	for jti, want := range map[string]bool{
		"0190b6a4-0000-7000-8000-000000000000": true, "ключ-1": true, strings.Repeat("j", 256): true,
		"": false, "a\x00b": false, "a\nb": false, "\xff": false, strings.Repeat("j", 257): false,
	} {
		assert.Equal(t, want, domain.WellFormedJTI(jti), "%q", jti)
	}
}

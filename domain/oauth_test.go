package domain_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/domain"
)

func TestOAuthClientRedirectURIs(t *testing.T) {
	now := time.Now()
	cases := []struct {
		uri       string
		allowHTTP bool
		ok        bool
	}{
		{"https://app.example/cb", false, true},
		{"http://127.0.0.1:8000/cb", false, true},
		{"http://localhost/cb", false, true},
		{"com.example.app:/oauth", false, true},
		{"http://app.example/cb", false, false},
		{"http://app.example/cb", true, true},
		{"https://app.example/cb#x", false, false},
		{"javascript:alert(1)", false, false},
		{"data:text/html,hi", false, false},
		{"/relative", false, false},
		{"myapp:/cb", false, false},
		{"https:///nohost", false, false},
	}
	for _, c := range cases {
		_, err := domain.NewOAuthClient("id", domain.OAuthClientSpec{Name: "App", RedirectURIs: []string{c.uri}}, now, c.allowHTTP)
		if c.ok {
			assert.NoError(t, err, c.uri)
		} else {
			assert.Equal(t, domain.KindInvalid, domain.KindOf(err), c.uri)
		}
	}
}

func TestOAuthClientGrants(t *testing.T) {
	now := time.Now()
	c, err := domain.NewOAuthClient("id", domain.OAuthClientSpec{Name: "App", RedirectURIs: []string{"https://a.example/cb"}}, now, false)
	require.NoError(t, err)
	assert.Equal(t, []string{domain.GrantAuthorizationCode, domain.GrantRefreshToken}, c.GrantTypes, "the default is a sign-in client")

	_, err = domain.NewOAuthClient("id", domain.OAuthClientSpec{Name: "Job", Public: true,
		GrantTypes: []string{domain.GrantClientCredentials}}, now, false)
	assert.Equal(t, domain.KindInvalid, domain.KindOf(err), "a public client has no secret to prove")

	m, err := domain.NewOAuthClient("id", domain.OAuthClientSpec{Name: "Job",
		GrantTypes: []string{domain.GrantClientCredentials, domain.GrantClientCredentials}}, now, false)
	require.NoError(t, err, "a machine client needs no redirect URI")
	assert.Equal(t, []string{domain.GrantClientCredentials}, m.GrantTypes)

	name := "Renamed"
	next, err := m.Change(domain.OAuthClientChange{Name: &name, At: now.Add(time.Minute)}, false)
	require.NoError(t, err)
	assert.Equal(t, "Renamed", next.Name)
	assert.Equal(t, m.GrantTypes, next.GrantTypes)
	assert.Equal(t, now.Add(time.Minute), next.UpdatedAt)
	code := []string{domain.GrantAuthorizationCode}
	_, err = m.Change(domain.OAuthClientChange{GrantTypes: &code}, false)
	assert.Equal(t, domain.KindInvalid, domain.KindOf(err), "turning on sign-in needs a redirect URI")
}

func TestAuthRequestAcceptsSignIn(t *testing.T) {
	now := time.Now()
	hour := time.Hour
	zero := time.Duration(0)
	assert.True(t, domain.AuthRequest{}.AcceptsSignIn(now.Add(-24*time.Hour), now))
	assert.False(t, domain.AuthRequest{Prompt: []string{"login"}}.AcceptsSignIn(now, now))
	assert.True(t, domain.AuthRequest{MaxAge: &hour}.AcceptsSignIn(now.Add(-time.Minute), now))
	assert.False(t, domain.AuthRequest{MaxAge: &hour}.AcceptsSignIn(now.Add(-2*time.Hour), now))
	assert.False(t, domain.AuthRequest{MaxAge: &zero}.AcceptsSignIn(now.Add(-time.Second), now))
}

func TestConsentCovers(t *testing.T) {
	c := domain.Consent{Scopes: []string{"openid", "email"}}
	assert.True(t, c.Covers([]string{"openid"}))
	assert.True(t, c.Covers([]string{"email", "openid"}))
	assert.False(t, c.Covers([]string{"openid", "orgs"}))
}

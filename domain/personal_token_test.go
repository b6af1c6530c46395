package domain_test

import (
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/domain"
)

func TestPersonalTokenValuesAreRecognisedByTheirChecksum(t *testing.T) {
	random := make([]byte, 96)
	_, err := rand.Read(random)
	require.NoError(t, err)
	v := domain.NewPersonalTokenValue(random)
	require.Regexp(t, `^ums_pat_[0-9A-Za-z]{46}$`, v)
	assert.True(t, domain.WellFormedPersonalToken(v))
	// Flipping a byte the encoder uses (below 248, so not skipped) must
	// change the value; rotating the input would not when the first byte
	// is one the encoder skips.
	changed := append([]byte(nil), random...)
	for i, c := range changed {
		if c < 248 {
			changed[i] = (c + 1) % 248
			break
		}
	}
	assert.NotEqual(t, v, domain.NewPersonalTokenValue(changed), "values follow the random")
	for name, bad := range map[string]string{
		"typo in the random":   v[:10] + swap(v[10]) + v[11:],
		"typo in the checksum": v[:len(v)-1] + swap(v[len(v)-1]),
		"truncated":            v[:len(v)-1],
		"another prefix":       "ums_pak_" + v[8:],
		"not base62":           v[:12] + "_" + v[13:],
		"empty":                "",
	} {
		assert.False(t, domain.WellFormedPersonalToken(bad), name)
	}
	assert.Equal(t, v[len(v)-4:], domain.PersonalTokenHint(v))
}

func swap(c byte) string {
	if c == 'Z' {
		return "Y"
	}
	return "Z"
}

func TestDecideScopedHoldsOnlyTheScopesPermissionsInItsOrganization(t *testing.T) {
	now := time.Now()
	org, other := uuid.New(), uuid.New()
	member := domain.AccessFacts{UserActive: true, OrgExists: true, OrgActive: true, Role: domain.RoleMember,
		RoleDefaults: []string{"a.read", "b.read"}}
	admin := domain.AccessFacts{UserActive: true, IsSystemAdmin: true, OrgExists: true, OrgActive: true,
		Catalog: []string{"a.read", "b.read", "c.read"}}
	scope := &domain.TokenScope{OrgID: &org, Permissions: []string{"a.read", "c.read"}}
	adminMember := func(orgActive bool) domain.AccessFacts {
		f := admin
		f.OrgActive, f.Role = orgActive, domain.RoleViewer
		return f
	}
	inactiveOrg := member
	inactiveOrg.OrgActive = false
	cases := []struct {
		name    string
		facts   domain.AccessFacts
		scope   *domain.TokenScope
		org     uuid.UUID
		asked   []string
		allowed bool
		perms   []string
	}{
		{"unscoped is Decide", member, nil, org, []string{"b.read"}, true, []string{"a.read", "b.read"}},
		{"held and named", member, scope, org, []string{"a.read"}, true, []string{"a.read"}},
		{"held, not named", member, scope, org, []string{"b.read"}, false, []string{"a.read"}},
		{"named, not held", member, scope, org, []string{"c.read"}, false, []string{"a.read"}},
		{"membership check inside", member, scope, org, nil, true, []string{"a.read"}},
		{"outside the organization", member, scope, other, nil, false, []string{}},
		{"admin token holds only what it names", admin, scope, org, []string{"a.read", "c.read"}, true, []string{"a.read", "c.read"}},
		{"admin token asks beyond", admin, scope, org, []string{"b.read"}, false, []string{"a.read", "c.read"}},
		{"inactive owner", domain.AccessFacts{}, scope, org, []string{"a.read"}, false, []string{}},
		{"admin token is no member where the admin is none", admin, &domain.TokenScope{}, org, nil, false, []string{}},
		{"admin token in a deactivated organization", adminMember(false), &domain.TokenScope{}, org, nil, false, []string{}},
		{"admin token where the admin is a member", adminMember(true), &domain.TokenScope{}, org, nil, true, []string{}},
		{"member token in a deactivated organization", inactiveOrg, scope, org, nil, false, []string{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := domain.DecideScoped(c.facts, c.asked, now, c.scope, c.org)
			assert.Equal(t, c.allowed, d.Allowed)
			assert.Equal(t, c.perms, d.Permissions)
			if c.scope != nil {
				assert.False(t, d.IsSystemAdmin)
			}
		})
	}
}

func TestPersonalTokenRequestsAreValidated(t *testing.T) {
	now := time.Now()
	in := func(d time.Duration) *time.Time { t := now.Add(d); return &t }
	name, perms, err := domain.ValidatePersonalToken(domain.PersonalTokenRequest{Name: " ci ", ExpiresAt: in(time.Hour),
		Permissions: []string{"b.read", "a.read", "b.read"}}, now)
	require.NoError(t, err)
	assert.Equal(t, "ci", name)
	assert.Equal(t, []string{"a.read", "b.read"}, perms)
	_, _, err = domain.ValidatePersonalToken(domain.PersonalTokenRequest{Name: strings.Repeat("x", 101), ExpiresAt: in(time.Hour)}, now)
	assert.Equal(t, domain.KindInvalid, domain.KindOf(err))
	_, _, err = domain.ValidatePersonalToken(domain.PersonalTokenRequest{Name: "bidi\u202e", ExpiresAt: in(time.Hour)}, now)
	assert.Equal(t, domain.KindInvalid, domain.KindOf(err))
}

package domain_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/ums-project/ums/domain"
)

func TestEffectivePermissions(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	later, earlier := now.Add(time.Hour), now.Add(-time.Second)
	member := domain.AccessFacts{
		UserActive: true, OrgExists: true, OrgActive: true, Role: domain.RoleMember,
		RoleDefaults:       []string{"lab.report.read"},
		OrgRolePermissions: []string{"lab.patient.read", "lab.report.read"},
		Grants: []domain.Grant{
			{Permission: "lab.patient.write", IsActive: true},
			{Permission: "lab.sample.ship", IsActive: true, ExpiresAt: &later},
			{Permission: "lab.sample.destroy", IsActive: true, ExpiresAt: &earlier},
			{Permission: "lab.billing.read", IsActive: false},
		},
	}
	with := func(change func(*domain.AccessFacts)) domain.AccessFacts {
		f := member
		change(&f)
		return f
	}
	cases := map[string]struct {
		facts domain.AccessFacts
		at    time.Time
		want  []string
	}{
		"role default + org role + live grants, once each": {member, now,
			[]string{"lab.patient.read", "lab.patient.write", "lab.report.read", "lab.sample.ship"}},
		"a grant expires with the clock": {member, later,
			[]string{"lab.patient.read", "lab.patient.write", "lab.report.read"}},
		"a grant left to a non-member confers nothing": {with(func(f *domain.AccessFacts) { f.Role = "" }), now, nil},
		"an inactive organization confers nothing":     {with(func(f *domain.AccessFacts) { f.OrgActive = false }), now, nil},
		"an inactive user holds nothing":               {with(func(f *domain.AccessFacts) { f.UserActive = false }), now, nil},
		"an unknown organization confers nothing":      {with(func(f *domain.AccessFacts) { f.OrgExists = false }), now, nil},
		"a system admin holds the whole catalog, member or not": {with(func(f *domain.AccessFacts) {
			f.IsSystemAdmin, f.Role, f.Catalog = true, "", []string{"x.b", "x.a"}
		}), now, []string{"x.a", "x.b"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, tc.want, domain.EffectivePermissions(tc.facts, tc.at))
		})
	}
}

func TestDecide(t *testing.T) {
	now := time.Now()
	f := domain.AccessFacts{UserActive: true, OrgExists: true, OrgActive: true, Role: domain.RoleViewer,
		RoleDefaults: []string{"lab.report.read"}}
	d := domain.Decide(f, []string{"lab.report.read", "lab.patient.write", "lab.report.read"}, now)
	assert.False(t, d.Allowed, "every asked permission is needed")
	assert.Equal(t, []string{"lab.report.read"}, d.Granted)
	assert.Equal(t, []string{"lab.patient.write"}, d.Missing)

	assert.True(t, domain.Decide(f, nil, now).Allowed, "asking for nothing checks membership")
	f.Role = ""
	assert.False(t, domain.Decide(f, nil, now).Allowed)

	admin := domain.AccessFacts{UserActive: true, OrgExists: true, IsSystemAdmin: true}
	d = domain.Decide(admin, []string{"anything.at.all"}, now)
	assert.True(t, d.Allowed)
	assert.True(t, d.IsSystemAdmin)
	assert.False(t, domain.Decide(domain.AccessFacts{UserActive: true, IsSystemAdmin: true}, []string{"a.b"}, now).Allowed,
		"not even a system admin is allowed in an organization that does not exist")
}

func TestParsePermissionName(t *testing.T) {
	for _, ok := range []string{"lab.patient.read", "a.b", "lab_x.y2"} {
		_, fe := domain.ParsePermissionName("p", ok)
		assert.Nil(t, fe, ok)
	}
	for _, bad := range []string{"", "lab", "Lab.read", "lab..read", ".lab.read", "lab.read.", "lab.pa tient", "1ab.read"} {
		_, fe := domain.ParsePermissionName("p", bad)
		assert.NotNil(t, fe, bad)
	}
}

package application_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/domain"
)

func TestNormalizePermissionName(t *testing.T) {
	for in, want := range map[string]string{
		"lab.patient.read":        "lab.patient.read",
		"LAB.PATIENT.READ":        "lab.patient.read",
		"Sample:Export":           "legacy.sample_export",
		"admin":                   "legacy.admin",
		"Lab Patient Read":        "legacy.lab_patient_read",
		" reports..view. ":        "reports.view",
		"2fa.reset":               "x2fa.reset",
		"_hidden._x":              "hidden.x",
		"café.crème":              "caf.cr_me",
		"":                        "legacy.unnamed",
		"!!!":                     "legacy.unnamed",
		strings.Repeat("a.", 100): strings.TrimRight(strings.Repeat("a.", 64), "."),
	} {
		t.Run(in, func(t *testing.T) {
			got := application.NormalizePermissionName(in)
			assert.Equal(t, want, got)
			_, fe := domain.ParsePermissionName("name", got)
			assert.Nil(t, fe, "the result is always a valid permission name")
		})
	}
}

func TestNormalizeSlug(t *testing.T) {
	for in, want := range map[string]string{
		"GEN":                     "gen",
		"PROT_01":                 "prot-01",
		"  Genomics Lab  ":        "genomics-lab",
		"--a--b--":                "a-b",
		"€€€":                     "",
		strings.Repeat("ab-", 40): strings.TrimRight(strings.Repeat("ab-", 22)[:64], "-"),
	} {
		t.Run(in, func(t *testing.T) {
			got := application.NormalizeSlug(in)
			assert.Equal(t, want, got)
			if got != "" {
				_, fe := domain.ParseSlug("slug", got)
				assert.Nil(t, fe)
			}
		})
	}
}

func TestDeriveUsername(t *testing.T) {
	for _, tc := range []struct{ old, email, want string }{
		{"José Müller", "jose@example.com", "Jose.Muller"},
		{"Ævar Þór", "aevar@example.com", "AEvar.THor"},
		{"straße", "s@example.com", "strasse"},
		{"李雷", "lilei@example.com", "lilei"},
		{"李雷", "李@example.com", "user14"},
		{"fr ank", "frank@example.com", "fr.ank"},
		{"  .-weird--name.  ", "w@example.com", "weird-name"},
		{"x", "ok@example.com", "user14"},
		{strings.Repeat("ab ", 20), "a@example.com", "ab.ab.ab.ab.ab.ab.ab.ab.ab.ab.ab"},
	} {
		t.Run(tc.old, func(t *testing.T) {
			got := application.DeriveUsername(tc.old, tc.email, 14)
			assert.Equal(t, tc.want, got)
			_, fe := domain.ParseUsername(got)
			assert.Nil(t, fe, "the result is always a valid username")
		})
	}
}

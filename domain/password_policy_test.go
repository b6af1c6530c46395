package domain_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/domain"
)

// codes returns the codes of errs, in order.
func codes(errs []domain.FieldError) []string {
	out := make([]string, 0, len(errs))
	for _, e := range errs {
		out = append(out, e.Code)
	}
	return out
}

func TestPasswordPolicy_Check(t *testing.T) {
	t.Parallel()

	// Every entry below is on domain/common_passwords.txt and at least 12
	// characters long, so only the list can reject it.
	ada := domain.PasswordSubject{Username: "AdaLovelace", Email: "countess.ada@example.com"}
	cases := []struct {
		name     string
		password string
		who      domain.PasswordSubject
		want     []string
	}{
		{"empty_is_required", "", ada, []string{"required"}},
		{"rejects_11_characters", "xK9#mQ2$vL7", ada, []string{"too_short"}},
		{"accepts_exactly_12_characters", "xK9#mQ2$vL7!", ada, nil},
		{"accepts_256_characters", strings.Repeat("xK9#", 64), ada, nil},
		{"rejects_257_characters", strings.Repeat("xK9#", 64) + "z", ada, []string{"too_long"}},
		{"counts_runes_not_bytes_12_multibyte_pass", strings.Repeat("ж", 12), ada, nil},
		{"counts_runes_not_bytes_11_multibyte_fail", strings.Repeat("ж", 11), ada, []string{"too_short"}},
		{"counts_runes_not_bytes_256_emoji_pass", strings.Repeat("🔑", 256), ada, nil},
		{"counts_runes_not_bytes_257_emoji_fail", strings.Repeat("🔑", 257), ada, []string{"too_long"}},
		{"rejects_invalid_utf8", "xK9#mQ2$vL7!\xff", ada, []string{"invalid_encoding"}},
		{"rejects_common_password", "password1234", ada, []string{"too_common"}},
		{"rejects_common_password_case_insensitively", "PassWord1234", ada, []string{"too_common"}},
		{"rejects_common_keyboard_walk", "qwerty123456", ada, []string{"too_common"}},
		{"rejects_common_phrase_upper_case", "LEAVEMEALONE", ada, []string{"too_common"}},
		{"rejects_short_common_password_for_both_reasons", "password", ada, []string{"too_short", "too_common"}},
		{"rejects_username", "my-AdaLovelace-pw", ada, []string{"contains_username"}},
		{"rejects_username_case_insensitively", "xx adalovelace xx", ada, []string{"contains_username"}},
		{"rejects_username_when_password_upper_case", "XXADALOVELACEXX", ada, []string{"contains_username"}},
		{"ignores_username_shorter_than_3", "kx9ab#mQ2$vL7!", domain.PasswordSubject{Username: "ab"}, nil},
		{"rejects_email_local_part", "countess.ada-2025!", ada, []string{"contains_email"}},
		{"rejects_email_local_part_case_insensitively", "COUNTESS.ADA-2025!", ada, []string{"contains_email"}},
		{"rejects_email_local_part_of_mixed_case_subject", "countess.ada-2025!",
			domain.PasswordSubject{Email: "Countess.Ada@Example.com"}, []string{"contains_email"}},
		{"does_not_reject_email_domain", "example.com-2025!", ada, nil},
		{"ignores_email_local_part_shorter_than_3", "ab-xK9#mQ2$vL7!", domain.PasswordSubject{Email: "ab@example.com"}, nil},
		{"works_without_subject", "xK9#mQ2$vL7!", domain.PasswordSubject{}, nil},
		{"reports_every_broken_rule", "adalovelace", domain.PasswordSubject{Username: "adalovelace", Email: "adalovelace@example.com"},
			[]string{"too_short", "contains_username", "contains_email"}},
		{"does_not_require_character_classes_by_default", "correct horse battery staple", ada, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			errs := domain.DefaultPasswordPolicy().Check("password", tc.password, tc.who)
			assert.Equal(t, tc.want, nilIfEmpty(codes(errs)))
			for _, e := range errs {
				assert.Equal(t, "password", e.Field)
				assert.NotEmpty(t, e.Message)
			}
		})
	}
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

func TestPasswordPolicy_Check_reports_on_given_field(t *testing.T) {
	t.Parallel()
	errs := domain.DefaultPasswordPolicy().Check("new_password", "short", domain.PasswordSubject{})
	require.Len(t, errs, 1)
	assert.Equal(t, "new_password", errs[0].Field)
	assert.Contains(t, errs[0].Message, "12")
}

func TestPasswordPolicy_Check_require_classes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		classes  int
		password string
		ok       bool
	}{
		{"one_class_passes_rule_of_one", 1, "correcthorsebattery", true},
		{"lower_only_fails_rule_of_two", 2, "correcthorsebattery", false},
		{"lower_and_digit_pass_rule_of_two", 2, "correcthorse42battery", true},
		{"two_classes_fail_rule_of_three", 3, "correcthorse42battery", false},
		{"lower_upper_digit_pass_rule_of_three", 3, "CorrectHorse42battery", true},
		{"space_counts_as_symbol", 3, "correct horse 42 battery", true},
		{"three_classes_fail_rule_of_four", 4, "CorrectHorse42battery", false},
		{"all_four_pass_rule_of_four", 4, "CorrectHorse42battery!", true},
		{"non_ascii_letters_count_by_case", 2, "жжжжЖЖЖЖжжжж", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := domain.DefaultPasswordPolicy()
			p.RequireClasses = tc.classes
			errs := p.Check("password", tc.password, domain.PasswordSubject{})
			if tc.ok {
				assert.Empty(t, errs)
				return
			}
			assert.Equal(t, []string{"too_few_character_classes"}, codes(errs))
		})
	}
}

func TestPasswordPolicy_Check_custom_lengths(t *testing.T) {
	t.Parallel()
	p := domain.PasswordPolicy{MinLength: 8, MaxLength: 10}
	assert.Empty(t, p.Check("password", "xK9#mQ2$", domain.PasswordSubject{}))
	assert.Equal(t, []string{"too_short"}, codes(p.Check("password", "xK9#mQ2", domain.PasswordSubject{})))
	assert.Equal(t, []string{"too_long"}, codes(p.Check("password", "xK9#mQ2$vL7", domain.PasswordSubject{})))
}

func TestDefaultPasswordPolicy(t *testing.T) {
	t.Parallel()
	p := domain.DefaultPasswordPolicy()
	assert.Equal(t, 12, p.MinLength)
	assert.Equal(t, 256, p.MaxLength)
	assert.Zero(t, p.RequireClasses, "NIST 800-63B: no composition rules by default")
}

func TestIsCommonPassword(t *testing.T) {
	t.Parallel()
	assert.True(t, domain.IsCommonPassword("password1234"))
	assert.True(t, domain.IsCommonPassword("PASSWORD1234"))
	assert.True(t, domain.IsCommonPassword("123456"))
	assert.False(t, domain.IsCommonPassword("xK9#mQ2$vL7!"))
	assert.False(t, domain.IsCommonPassword(""), "blank lines of the list are not entries")
}

func TestCommonPasswordCount(t *testing.T) {
	t.Parallel()
	assert.GreaterOrEqual(t, domain.CommonPasswordCount(), 10000)
}

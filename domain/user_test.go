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

func TestParseEmail(t *testing.T) {
	t.Parallel()

	accepted := []struct {
		name, in, want string
	}{
		{"keeps_a_plain_address", "ada@example.com", "ada@example.com"},
		{"lower_cases", "Ada.Lovelace@Example.COM", "ada.lovelace@example.com"},
		{"trims_surrounding_space", "  ada@example.com\t\n", "ada@example.com"},
		{"accepts_plus_and_subdomains", "ada+ums@mail.example.co.uk", "ada+ums@mail.example.co.uk"},
		{"accepts_local_part_of_64", strings.Repeat("a", 64) + "@example.com", strings.Repeat("a", 64) + "@example.com"},
		{"accepts_total_of_254", strings.Repeat("a", 64) + "@" + longHost(254-65), strings.Repeat("a", 64) + "@" + longHost(254-65)},
	}
	for _, tc := range accepted {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, fe := domain.ParseEmail(tc.in)
			require.Nil(t, fe)
			assert.Equal(t, tc.want, e.String())
			assert.False(t, e.IsZero())
		})
	}

	rejected := []struct {
		name, in, code string
	}{
		{"empty_is_required", "", "required"},
		{"blank_is_required", "   \t ", "required"},
		{"rejects_missing_at", "ada.example.com", "invalid_email"},
		{"rejects_missing_local_part", "@example.com", "invalid_email"},
		{"rejects_missing_host", "ada@", "invalid_email"},
		{"rejects_display_name", "Ada <a@b.com>", "invalid_email"},
		{"rejects_angle_brackets_alone", "<a@b.com>", "invalid_email"},
		{"rejects_quoted_display_name", `"Ada" <a@b.com>`, "invalid_email"},
		{"rejects_host_without_dot", "ada@localhost", "invalid_email"},
		{"rejects_host_with_leading_dot", "ada@.example.com", "invalid_email"},
		{"rejects_host_with_trailing_dot", "ada@example.com.", "invalid_email"},
		{"rejects_two_ats", "ada@lovelace@example.com", "invalid_email"},
		{"rejects_inner_space", "ada lovelace@example.com", "invalid_email"},
		{"rejects_list_of_addresses", "a@b.com, c@d.com", "invalid_email"},
		{"rejects_local_part_over_64", strings.Repeat("a", 65) + "@example.com", "invalid_email"},
		{"rejects_total_over_254", strings.Repeat("a", 64) + "@" + longHost(255-65), "invalid_email"},
		{"rejects_ip_literal_host", "ada@[127.0.0.1]", "invalid_email"},
		{"rejects_numeric_host", "ada@1.2.3.4", "invalid_email"},
		{"rejects_label_with_leading_hyphen", "ada@-b.com", "invalid_email"},
		{"rejects_label_with_trailing_hyphen", "ada@b-.com", "invalid_email"},
		{"rejects_underscore_in_host", "ada@exa_mple.com", "invalid_email"},
	}
	for _, tc := range rejected {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, fe := domain.ParseEmail(tc.in)
			require.NotNil(t, fe, "accepted %q as %q", tc.in, e.String())
			assert.Equal(t, "email", fe.Field)
			assert.Equal(t, tc.code, fe.Code)
			assert.NotEmpty(t, fe.Message)
			assert.True(t, e.IsZero())
		})
	}
}

// longHost returns a valid host name of exactly n (>= 5) characters, made of
// short labels so that only the total length can be at fault.
func longHost(n int) string {
	var b strings.Builder
	rest := n - len(".com")
	for rest > 63 {
		b.WriteString("hhhhhhhhh.")
		rest -= 10
	}
	b.WriteString(strings.Repeat("h", rest))
	b.WriteString(".com")
	return b.String()
}

func TestEmail_LocalPart(t *testing.T) {
	t.Parallel()
	assert.Equal(t, "ada.lovelace", domain.MustEmail("Ada.Lovelace@Example.com").LocalPart())
}

func TestMustEmail_panics_on_invalid(t *testing.T) {
	t.Parallel()
	assert.Panics(t, func() { domain.MustEmail("not an email") })
}

func TestParseUsername(t *testing.T) {
	t.Parallel()

	accepted := []struct {
		name, in, want string
	}{
		{"accepts_three_characters", "ada", "ada"},
		{"accepts_thirty_two_characters", strings.Repeat("a", 32), strings.Repeat("a", 32)},
		{"accepts_dot_underscore_and_dash_after_first", "a.d_a-1", "a.d_a-1"},
		{"accepts_leading_digit", "1ada", "1ada"},
		{"keeps_case", "AdaLovelace", "AdaLovelace"},
		{"trims_surrounding_space", "  ada  ", "ada"},
	}
	for _, tc := range accepted {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u, fe := domain.ParseUsername(tc.in)
			require.Nil(t, fe)
			assert.Equal(t, tc.want, u.String())
		})
	}

	rejected := []struct {
		name, in, code string
	}{
		{"empty_is_required", "", "required"},
		{"blank_is_required", "   ", "required"},
		{"rejects_two_characters", "ab", "invalid_length"},
		{"rejects_thirty_three_characters", strings.Repeat("a", 33), "invalid_length"},
		{"rejects_at_sign", "ada@home", "invalid_username"},
		{"rejects_leading_dot", ".ada", "invalid_username"},
		{"rejects_leading_underscore", "_ada", "invalid_username"},
		{"rejects_leading_dash", "-ada", "invalid_username"},
		{"rejects_inner_space", "ada love", "invalid_username"},
		{"rejects_non_ascii_letter", "adéla", "invalid_username"},
		{"rejects_plus", "ada+1", "invalid_username"},
		{"rejects_slash", "ada/1", "invalid_username"},
	}
	for _, tc := range rejected {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			u, fe := domain.ParseUsername(tc.in)
			require.NotNil(t, fe, "accepted %q", u.String())
			assert.Equal(t, "username", fe.Field)
			assert.Equal(t, tc.code, fe.Code)
			assert.NotEmpty(t, fe.Message)
		})
	}
}

func TestUsername_Normalized(t *testing.T) {
	t.Parallel()
	u := domain.MustUsername("Ada.Lovelace")
	assert.Equal(t, "Ada.Lovelace", u.String(), "display form keeps its case")
	assert.Equal(t, "ada.lovelace", u.Normalized())
}

func TestMustUsername_panics_on_invalid(t *testing.T) {
	t.Parallel()
	assert.Panics(t, func() { domain.MustUsername("a@b") })
}

func TestParsePersonName(t *testing.T) {
	t.Parallel()

	accepted := []struct {
		name, in, want string
	}{
		{"empty_is_allowed", "", ""},
		{"trims_surrounding_space", "  Ada ", "Ada"},
		{"accepts_unicode_letters", "Zoë Ñúñez-O'Brien", "Zoë Ñúñez-O'Brien"},
		{"accepts_100_ascii_characters", strings.Repeat("a", 100), strings.Repeat("a", 100)},
		{"counts_runes_not_bytes", strings.Repeat("é", 100), strings.Repeat("é", 100)},
	}
	for _, tc := range accepted {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, fe := domain.ParsePersonName("first_name", tc.in)
			require.Nil(t, fe)
			assert.Equal(t, tc.want, got)
		})
	}

	rejected := []struct {
		name, in, code string
	}{
		{"rejects_c1_control", "Ada\u0085Lovelace", "invalid_characters"},
		{"rejects_bidi_override", "Ada\u202eecalevoL", "invalid_characters"},
		{"rejects_invalid_utf8", "Ada\xffLovelace", "invalid_characters"},
		{"rejects_101_characters", strings.Repeat("a", 101), "too_long"},
		{"rejects_101_multibyte_characters", strings.Repeat("é", 101), "too_long"},
		{"rejects_inner_newline", "Ada\nLovelace", "invalid_characters"},
		{"rejects_nul", "Ada\x00", "invalid_characters"},
		{"rejects_escape", "Ada\x1b[31m", "invalid_characters"},
		{"rejects_delete", "Ada\x7f", "invalid_characters"},
		{"rejects_inner_tab", "Ada\tLovelace", "invalid_characters"},
	}
	for _, tc := range rejected {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, fe := domain.ParsePersonName("last_name", tc.in)
			require.NotNil(t, fe, "accepted %q", got)
			assert.Equal(t, "last_name", fe.Field, "the error names the field it was given")
			assert.Equal(t, tc.code, fe.Code)
			assert.Empty(t, got)
		})
	}
}

func TestNewUser(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	params := func(maxAge time.Duration, admin bool) domain.NewUserParams {
		return domain.NewUserParams{
			ID:             uuid.MustParse("0195a1b2-0000-7000-8000-000000000001"),
			Email:          domain.MustEmail("ada@example.com"),
			Username:       domain.MustUsername("Ada"),
			FirstName:      "Ada",
			LastName:       "Lovelace",
			PasswordHash:   "$argon2id$hash",
			IsSystemAdmin:  admin,
			Now:            now,
			PasswordMaxAge: maxAge,
		}
	}

	t.Run("creates_an_active_user_whose_password_was_just_set", func(t *testing.T) {
		t.Parallel()
		p := params(0, false)
		u := domain.NewUser(p)
		assert.Equal(t, p.ID, u.ID())
		assert.Equal(t, p.Email, u.Email())
		assert.Equal(t, p.Username, u.Username())
		assert.Equal(t, "Ada", u.FirstName())
		assert.Equal(t, "Lovelace", u.LastName())
		assert.Equal(t, "$argon2id$hash", u.PasswordHash())
		assert.True(t, u.IsActive())
		assert.False(t, u.IsSystemAdmin())
		assert.False(t, u.EmailVerified())
		assert.False(t, u.MustChangePassword())
		assert.False(t, u.MFAEnabled())
		assert.Zero(t, u.FailedLoginCount())
		assert.Nil(t, u.LockedUntil())
		assert.Nil(t, u.LastLoginAt())
		assert.Equal(t, now, u.PasswordChangedAt())
		assert.Equal(t, now, u.CreatedAt())
		assert.Equal(t, now, u.UpdatedAt())
	})

	t.Run("keeps_system_admin_flag", func(t *testing.T) {
		t.Parallel()
		assert.True(t, domain.NewUser(params(0, true)).IsSystemAdmin())
	})

	t.Run("no_expiry_without_max_age", func(t *testing.T) {
		t.Parallel()
		assert.Nil(t, domain.NewUser(params(0, false)).PasswordExpiresAt())
	})

	t.Run("no_expiry_with_negative_max_age", func(t *testing.T) {
		t.Parallel()
		assert.Nil(t, domain.NewUser(params(-time.Hour, false)).PasswordExpiresAt())
	})

	t.Run("expiry_is_now_plus_max_age", func(t *testing.T) {
		t.Parallel()
		u := domain.NewUser(params(90*24*time.Hour, false))
		require.NotNil(t, u.PasswordExpiresAt())
		assert.Equal(t, now.Add(90*24*time.Hour), *u.PasswordExpiresAt())
	})
}

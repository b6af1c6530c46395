package domain_test

import (
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/domain"
)

func TestError_Is(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		err    error
		target error
		want   bool
	}{
		{"matches_sentinel_itself", domain.ErrUserNotFound, domain.ErrUserNotFound, true},
		{"matches_through_one_wrap", fmt.Errorf("load user: %w", domain.ErrUserNotFound), domain.ErrUserNotFound, true},
		{"matches_through_nested_wraps",
			fmt.Errorf("login: %w", fmt.Errorf("by login: %w", domain.ErrEmailTaken)), domain.ErrEmailTaken, true},
		{"matches_through_errors_join", errors.Join(io.EOF, domain.ErrUsernameTaken), domain.ErrUsernameTaken, true},
		{"matches_a_copy_with_same_kind_and_code",
			&domain.Error{Kind: domain.KindNotFound, Code: "user_not_found", Message: "another message"}, domain.ErrUserNotFound, true},
		{"matches_a_wrapped_copy_with_other_retry_after",
			fmt.Errorf("hash: %w", domain.Unavailable("overloaded", "busy", 5*time.Second)), domain.ErrHashingOverloaded, true},
		{"same_kind_other_code_does_not_match", domain.ErrEmailTaken, domain.ErrUsernameTaken, false},
		{"same_code_other_kind_does_not_match",
			&domain.Error{Kind: domain.KindConflict, Code: "user_not_found"}, domain.ErrUserNotFound, false},
		{"non_domain_error_does_not_match", io.EOF, domain.ErrUserNotFound, false},
		{"domain_error_does_not_match_non_domain_target", domain.ErrUserNotFound, io.EOF, false},
		{"nil_does_not_match", nil, domain.ErrUserNotFound, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, errors.Is(tc.err, tc.target))
		})
	}
}

func TestError_As_reaches_the_wrapped_error(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("register: %w", domain.Invalid(
		domain.FieldError{Field: "email", Code: "required", Message: "is required"},
	))
	var de *domain.Error
	require.ErrorAs(t, err, &de)
	assert.Equal(t, domain.KindInvalid, de.Kind)
	assert.Equal(t, "validation_failed", de.Code)
	require.Len(t, de.Fields, 1)
	assert.Equal(t, "email", de.Fields[0].Field)
}

func TestKindOf(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		err  error
		want domain.Kind
	}{
		{"unwrapped_domain_error", domain.ErrEmailTaken, domain.KindConflict},
		{"wrapped_domain_error", fmt.Errorf("create user: %w", domain.ErrUserNotFound), domain.KindNotFound},
		{"doubly_wrapped_domain_error",
			fmt.Errorf("a: %w", fmt.Errorf("b: %w", domain.ErrHashingOverloaded)), domain.KindUnavailable},
		{"validation_error", domain.Invalid(), domain.KindInvalid},
		{"first_domain_error_in_chain_wins",
			fmt.Errorf("%w / %w", domain.ErrEmailTaken, domain.ErrUserNotFound), domain.KindConflict},
		{"non_domain_error_is_internal", io.EOF, domain.KindInternal},
		{"wrapped_non_domain_error_is_internal", fmt.Errorf("read: %w", io.EOF), domain.KindInternal},
		{"nil_is_internal", nil, domain.KindInternal},
		{"zero_value_error_is_internal", &domain.Error{Code: "boom"}, domain.KindInternal},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tc.want, domain.KindOf(tc.err))
		})
	}
}

func TestKind_String(t *testing.T) {
	t.Parallel()
	cases := map[domain.Kind]string{
		domain.KindInternal:     "internal",
		domain.KindInvalid:      "invalid",
		domain.KindNotFound:     "not_found",
		domain.KindConflict:     "conflict",
		domain.KindUnauthorized: "unauthorized",
		domain.KindForbidden:    "forbidden",
		domain.KindRateLimited:  "rate_limited",
		domain.KindUnavailable:  "unavailable",
		domain.Kind(99):         "internal",
	}
	for k, want := range cases {
		assert.Equal(t, want, k.String())
	}
}

func TestError_Error(t *testing.T) {
	t.Parallel()
	t.Run("code_and_message", func(t *testing.T) {
		t.Parallel()
		assert.Equal(t, "user_not_found: user not found", domain.ErrUserNotFound.Error())
	})
	t.Run("counts_field_errors", func(t *testing.T) {
		t.Parallel()
		err := domain.Invalid(domain.FieldError{Field: "a"}, domain.FieldError{Field: "b"})
		assert.Equal(t, "validation_failed: one or more fields are invalid (2 field errors)", err.Error())
	})
}

func TestUnavailable(t *testing.T) {
	t.Parallel()
	err := domain.Unavailable("maintenance", "down for maintenance", time.Minute)
	assert.Equal(t, domain.KindUnavailable, err.Kind)
	assert.Equal(t, "maintenance", err.Code)
	assert.Equal(t, time.Minute, err.RetryAfter)
}

func TestSentinels_are_classified(t *testing.T) {
	t.Parallel()
	assert.Equal(t, domain.KindNotFound, domain.ErrUserNotFound.Kind)
	assert.Equal(t, domain.KindConflict, domain.ErrEmailTaken.Kind)
	assert.Equal(t, domain.KindConflict, domain.ErrUsernameTaken.Kind)
	assert.Equal(t, domain.KindConflict, domain.ErrConflict.Kind)
	assert.Equal(t, domain.KindUnavailable, domain.ErrHashingOverloaded.Kind)
	assert.Positive(t, domain.ErrHashingOverloaded.RetryAfter, "an overloaded client is told when to retry")
}

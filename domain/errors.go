package domain

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an Error so that driving adapters can map it to a protocol
// status in exactly one place.
type Kind int

// The error kinds of UMS. KindInternal is the zero value on purpose: an error
// nobody classified must never be shown to a client as their fault.
const (
	KindInternal Kind = iota
	KindInvalid
	KindNotFound
	KindConflict
	KindUnauthorized
	KindForbidden
	KindRateLimited
	KindUnavailable
)

// String names the kind for logs.
func (k Kind) String() string {
	switch k {
	case KindInvalid:
		return "invalid"
	case KindNotFound:
		return "not_found"
	case KindConflict:
		return "conflict"
	case KindUnauthorized:
		return "unauthorized"
	case KindForbidden:
		return "forbidden"
	case KindRateLimited:
		return "rate_limited"
	case KindUnavailable:
		return "unavailable"
	default:
		return "internal"
	}
}

// FieldError reports one rule broken by one input field.
type FieldError struct {
	Field   string
	Code    string
	Message string
}

// Error is the typed error of UMS: a kind, a stable machine-readable code and
// a message safe to show to the client.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	// Fields lists the broken rules of a KindInvalid error.
	Fields []FieldError
	// RetryAfter tells a rate-limited or unavailable client when to come back.
	RetryAfter time.Duration
}

// Error implements error.
func (e *Error) Error() string {
	if len(e.Fields) > 0 {
		return fmt.Sprintf("%s: %s (%d field errors)", e.Code, e.Message, len(e.Fields))
	}
	return e.Code + ": " + e.Message
}

// Is makes errors.Is match any *Error of the same kind and code, so sentinel
// values such as ErrUserNotFound work through wrapping.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	return t.Kind == e.Kind && t.Code == e.Code
}

// KindOf returns the kind of the first *Error in err's chain, KindInternal if
// there is none.
func KindOf(err error) Kind {
	var de *Error
	if errors.As(err, &de) {
		return de.Kind
	}
	return KindInternal
}

// Invalid builds a validation error from field errors.
func Invalid(fields ...FieldError) *Error {
	return &Error{Kind: KindInvalid, Code: "validation_failed", Message: "one or more fields are invalid", Fields: fields}
}

// Unavailable builds an error telling the client to retry after d.
func Unavailable(code, msg string, d time.Duration) *Error {
	return &Error{Kind: KindUnavailable, Code: code, Message: msg, RetryAfter: d}
}

// Sentinel errors returned by ports and use cases; compare with errors.Is.
var (
	ErrUserNotFound      = &Error{Kind: KindNotFound, Code: "user_not_found", Message: "user not found"}
	ErrEmailTaken        = &Error{Kind: KindConflict, Code: "email_taken", Message: "a user with this email already exists"}
	ErrUsernameTaken     = &Error{Kind: KindConflict, Code: "username_taken", Message: "a user with this username already exists"}
	ErrConflict          = &Error{Kind: KindConflict, Code: "conflict", Message: "the resource already exists"}
	ErrHashingOverloaded = &Error{Kind: KindUnavailable, Code: "overloaded", Message: "the service is busy, retry shortly", RetryAfter: time.Second}
)

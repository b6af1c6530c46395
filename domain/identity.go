package domain

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Email is a syntactically valid, normalised (trimmed, lower-case) address.
// Uniqueness is case-insensitive, so the normal form is the identity.
type Email struct{ v string }

// ParseEmail validates and normalises an address.
func ParseEmail(s string) (Email, *FieldError) {
	s = strings.ToLower(strings.TrimSpace(s))
	fe := &FieldError{Field: "email", Code: "invalid_email", Message: "must be a valid email address"}
	if s == "" {
		return Email{}, &FieldError{Field: "email", Code: "required", Message: "is required"}
	}
	if len(s) > 254 {
		return Email{}, fe
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || addr.Name != "" {
		return Email{}, fe
	}
	at := strings.LastIndexByte(s, '@')
	local, host := s[:at], s[at+1:]
	if local == "" || len(local) > 64 || !validMailHost(host) {
		return Email{}, fe
	}
	return Email{v: s}, nil
}

// validMailHost accepts DNS names of at least two labels made of letters,
// digits and inner hyphens, with a non-numeric top level. IP literals are
// refused: an account address must be deliverable through DNS.
func validMailHost(host string) bool {
	labels := strings.Split(host, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' {
				return false
			}
		}
	}
	tld := labels[len(labels)-1]
	return strings.IndexFunc(tld, func(r rune) bool { return !unicode.IsDigit(r) }) >= 0
}

// MustEmail parses s or panics; for tests and constants only.
func MustEmail(s string) Email {
	e, fe := ParseEmail(s)
	if fe != nil {
		panic(fe.Message)
	}
	return e
}

// String returns the normalised address.
func (e Email) String() string { return e.v }

// LocalPart returns the part before the @.
func (e Email) LocalPart() string { return e.v[:strings.LastIndexByte(e.v, '@')] }

// IsZero reports whether the email was never set.
func (e Email) IsZero() bool { return e.v == "" }

// Username is 3 to 32 characters of ASCII letters, digits, '.', '_' and '-',
// starting with a letter or digit. It keeps the case it was given for display;
// uniqueness and lookup are case-insensitive.
type Username struct{ v string }

// ParseUsername validates a username.
func ParseUsername(s string) (Username, *FieldError) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Username{}, &FieldError{Field: "username", Code: "required", Message: "is required"}
	}
	if len(s) < 3 || len(s) > 32 {
		return Username{}, &FieldError{Field: "username", Code: "invalid_length", Message: "must be 3 to 32 characters"}
	}
	for i, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			(i > 0 && (r == '.' || r == '_' || r == '-'))
		if !ok {
			return Username{}, &FieldError{Field: "username", Code: "invalid_username",
				Message: "may contain only letters, digits, '.', '_' and '-', and must start with a letter or digit"}
		}
	}
	// An @ is excluded above, so a login identifier is never ambiguous
	// between an email and a username.
	return Username{v: s}, nil
}

// MustUsername parses s or panics; for tests and constants only.
func MustUsername(s string) Username {
	u, fe := ParseUsername(s)
	if fe != nil {
		panic(fe.Message)
	}
	return u
}

// String returns the username as given.
func (u Username) String() string { return u.v }

// Normalized returns the lower-case form used for uniqueness and lookup.
func (u Username) Normalized() string { return strings.ToLower(u.v) }

// ParsePersonName validates an optional first or last name.
func ParsePersonName(field, s string) (string, *FieldError) {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > 100 {
		return "", &FieldError{Field: field, Code: "too_long", Message: "must be at most 100 characters"}
	}
	if !utf8.ValidString(s) {
		return "", &FieldError{Field: field, Code: "invalid_characters", Message: "must be valid UTF-8"}
	}
	for _, r := range s {
		// Bidi overrides can make a name display as something else in
		// admin screens and audit views.
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return "", &FieldError{Field: field, Code: "invalid_characters", Message: "must not contain control characters"}
		}
	}
	return s, nil
}

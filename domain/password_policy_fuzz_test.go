package domain

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzPasswordPolicy: whatever the password and subject, Check never
// panics, reports only on its field, and its verdict agrees with the
// rules it can be held to independently (length, encoding, username).
// Seeds are in testdata/fuzz/FuzzPasswordPolicy.
func FuzzPasswordPolicy(f *testing.F) {
	f.Add("correct horse battery staple", "ada", "ada@example.com", uint8(0))
	f.Add("password1234", "bob", "bob@example.com", uint8(4))
	f.Fuzz(func(t *testing.T, password, username, email string, classes uint8) {
		p := PasswordPolicy{MinLength: 12, MaxLength: 256, RequireClasses: int(classes % 5)}
		errs := p.Check("password", password, PasswordSubject{Username: username, Email: email})
		codes := map[string]bool{}
		for _, e := range errs {
			if e.Field != "password" || e.Code == "" || e.Message == "" {
				t.Fatalf("malformed field error %+v", e)
			}
			codes[e.Code] = true
		}
		n := utf8.RuneCountInString(password)
		switch {
		case password == "":
			if !codes["required"] {
				t.Fatal("empty password accepted")
			}
		case !utf8.ValidString(password):
			if !codes["invalid_encoding"] {
				t.Fatal("invalid UTF-8 accepted")
			}
		case n < p.MinLength && !codes["too_short"], n > p.MaxLength && !codes["too_long"]:
			t.Fatalf("length %d not reported: %v", n, codes)
		}
		if len(username) >= 3 && utf8.ValidString(password) && n >= 1 && n <= p.MaxLength &&
			strings.Contains(strings.ToLower(password), strings.ToLower(username)) && !codes["contains_username"] {
			t.Fatalf("password containing the username %q accepted", username)
		}
	})
}

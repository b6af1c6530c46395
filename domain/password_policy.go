package domain

import (
	_ "embed"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// commonPasswordList is the 30,000 most frequent passwords of the public
// zxcvbn frequency list (MIT licence, Dropbox, Inc.), one per line.
//
//go:embed common_passwords.txt
var commonPasswordList string

var (
	commonOnce sync.Once
	common     map[string]struct{}
)

// IsCommonPassword reports whether p, compared case-insensitively, is on the
// bundled list of common passwords.
func IsCommonPassword(p string) bool {
	commonOnce.Do(func() {
		lines := strings.Split(commonPasswordList, "\n")
		common = make(map[string]struct{}, len(lines))
		for _, l := range lines {
			if l = strings.TrimSpace(l); l != "" {
				common[strings.ToLower(l)] = struct{}{}
			}
		}
	})
	_, ok := common[strings.ToLower(p)]
	return ok
}

// CommonPasswordCount is the size of the bundled list.
func CommonPasswordCount() int {
	IsCommonPassword("")
	return len(common)
}

// PasswordPolicy holds the password rules. The zero value is not useful; use
// DefaultPasswordPolicy and override what the deployment configures.
type PasswordPolicy struct {
	MinLength int
	MaxLength int
	// RequireClasses is how many of lower, upper, digit and symbol a password
	// must mix (0 disables the rule, as NIST 800-63B recommends).
	RequireClasses int
	// HistorySize forbids reusing any of the last N passwords (0 disables).
	HistorySize int
}

// DefaultPasswordPolicy returns the product defaults.
func DefaultPasswordPolicy() PasswordPolicy {
	return PasswordPolicy{MinLength: 12, MaxLength: 256}
}

// PasswordSubject is what a password must not contain.
type PasswordSubject struct {
	Username string
	Email    string
}

// Check returns every rule the password breaks, reported on field.
func (p PasswordPolicy) Check(field, password string, who PasswordSubject) []FieldError {
	var errs []FieldError
	add := func(code, msg string) { errs = append(errs, FieldError{Field: field, Code: code, Message: msg}) }
	n := utf8.RuneCountInString(password)
	switch {
	case password == "":
		add("required", "is required")
		return errs
	case !utf8.ValidString(password):
		add("invalid_encoding", "must be valid UTF-8")
		return errs
	case n < p.MinLength:
		add("too_short", "must be at least "+strconv.Itoa(p.MinLength)+" characters")
	case n > p.MaxLength:
		add("too_long", "must be at most "+strconv.Itoa(p.MaxLength)+" characters")
		return errs
	}
	if IsCommonPassword(password) {
		add("too_common", "is too common; choose a less guessable password")
	}
	lower := strings.ToLower(password)
	if u := strings.ToLower(who.Username); len(u) >= 3 && strings.Contains(lower, u) {
		add("contains_username", "must not contain the username")
	}
	if at := strings.LastIndexByte(who.Email, '@'); at >= 3 && strings.Contains(lower, strings.ToLower(who.Email[:at])) {
		add("contains_email", "must not contain the email address")
	}
	if p.RequireClasses > 0 && charClasses(password) < p.RequireClasses {
		add("too_few_character_classes", "must mix at least "+strconv.Itoa(p.RequireClasses)+
			" of lower-case letters, upper-case letters, digits and symbols")
	}
	return errs
}

func charClasses(s string) int {
	var lower, upper, digit, other bool
	for _, r := range s {
		switch {
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsDigit(r):
			digit = true
		default:
			other = true
		}
	}
	n := 0
	for _, b := range []bool{lower, upper, digit, other} {
		if b {
			n++
		}
	}
	return n
}

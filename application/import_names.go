package application

import (
	"fmt"
	"strings"
	"unicode"
)

// LegacyPermissionPrefix is put before an old attribute name that has a
// single segment, since UMS permission names have at least two.
const LegacyPermissionPrefix = "legacy"

// NormalizePermissionName turns an old attribute name into a UMS
// permission name: lower case, every character but [a-z0-9_.] becomes '_',
// empty segments go, a segment starting with a digit or '_' gets an 'x'
// in front, and a single segment is prefixed with "legacy.". The result
// has at most 128 characters.
func NormalizePermissionName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(s)) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '.' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	var segs []string
	for _, seg := range strings.Split(b.String(), ".") {
		seg = strings.Trim(seg, "_")
		if seg == "" {
			continue
		}
		if seg[0] >= '0' && seg[0] <= '9' {
			seg = "x" + seg
		}
		segs = append(segs, seg)
	}
	switch len(segs) {
	case 0:
		segs = []string{LegacyPermissionPrefix, "unnamed"}
	case 1:
		segs = append([]string{LegacyPermissionPrefix}, segs...)
	}
	name := strings.Join(segs, ".")
	if len(name) > 128 {
		name = strings.TrimRight(name[:128], "._")
	}
	return name
}

// NormalizeSlug turns an old lab code (or, without one, its name) into an
// organization slug: lower case, runs of anything but [a-z0-9] become one
// '-', at most 64 characters, no dash at either end. It returns "" when
// nothing usable is left.
func NormalizeSlug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(strings.TrimSpace(s)) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	slug := strings.Trim(b.String(), "-")
	if len(slug) > 64 {
		slug = strings.Trim(slug[:64], "-")
	}
	return slug
}

// legacyAction names an imported audit_logs row's action in UMS:
// "legacy." followed by the old action, normalised like a permission
// segment list but never prefixed twice.
func legacyAction(action string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(action)) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	a := strings.Trim(b.String(), "._")
	if a == "" {
		a = "unknown"
	}
	if len(a) > 100 {
		a = a[:100]
	}
	return ActionLegacyPrefix + a
}

// truncateRunes cuts s to at most n runes.
func truncateRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}

// latinBase maps the accented Latin letters of European names to the
// ASCII spelling people use when they cannot type them.
var latinBase = func() map[rune]string {
	m := map[rune]string{}
	for base, letters := range map[string]string{
		"a": "àáâãäåāăą", "A": "ÀÁÂÃÄÅĀĂĄ", "c": "çćĉċč", "C": "ÇĆĈĊČ", "d": "ďđ", "D": "ĎĐ",
		"e": "èéêëēĕėęě", "E": "ÈÉÊËĒĔĖĘĚ", "g": "ĝğġģ", "G": "ĜĞĠĢ", "h": "ĥħ", "H": "ĤĦ",
		"i": "ìíîïĩīĭįı", "I": "ÌÍÎÏĨĪĬĮİ", "j": "ĵ", "J": "Ĵ", "k": "ķ", "K": "Ķ", "l": "ĺļľŀł", "L": "ĹĻĽĿŁ",
		"n": "ñńņňŉ", "N": "ÑŃŅŇ", "o": "òóôõöøōŏő", "O": "ÒÓÔÕÖØŌŎŐ", "r": "ŕŗř", "R": "ŔŖŘ",
		"s": "śŝşš", "S": "ŚŜŞŠ", "t": "ţťŧ", "T": "ŢŤŦ", "u": "ùúûüũūŭůűų", "U": "ÙÚÛÜŨŪŬŮŰŲ",
		"w": "ŵ", "W": "Ŵ", "y": "ýÿŷ", "Y": "ÝŸŶ", "z": "źżž", "Z": "ŹŻŽ",
		"ss": "ß", "ae": "æ", "AE": "Æ", "oe": "œ", "OE": "Œ", "th": "þ", "TH": "Þ", "dh": "ð", "DH": "Ð",
	} {
		for _, r := range letters {
			m[r] = base
		}
	}
	return m
}()

// usernameLike spells s with the characters a UMS username may hold:
// accented Latin letters lose their accents, spaces and other separators
// become one '.', anything else is dropped; the result starts with a
// letter or digit and has at most 32 characters.
func usernameLike(s string) string {
	var b strings.Builder
	sep := false
	for _, r := range strings.TrimSpace(s) {
		switch {
		case r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'):
			b.WriteRune(r)
			sep = false
		case latinBase[r] != "":
			b.WriteString(latinBase[r])
			sep = false
		case r == '_' || r == '-':
			if !sep && b.Len() > 0 {
				b.WriteRune(r)
				sep = true
			}
		case unicode.IsSpace(r) || r == '.' || r == '@' || r == '+':
			if !sep && b.Len() > 0 {
				b.WriteByte('.')
				sep = true
			}
		}
	}
	out := strings.TrimRight(b.String(), "._-")
	if len(out) > 32 {
		out = strings.TrimRight(out[:32], "._-")
	}
	return out
}

// DeriveUsername makes a valid UMS username for an account whose old one
// UMS's rules refuse (non-ASCII letters, spaces): the old name spelled in
// the allowed characters, else the email's local part, else "user" and the
// old id. Uniqueness is the caller's.
func DeriveUsername(old, email string, oldID int64) string {
	for _, candidate := range []string{usernameLike(old), usernameLike(strings.SplitN(email, "@", 2)[0])} {
		if len(candidate) >= 3 {
			return candidate
		}
	}
	return fmt.Sprintf("user%d", oldID)
}

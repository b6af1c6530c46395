package application

import (
	"strings"
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

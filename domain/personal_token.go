package domain

import (
	"hash/crc32"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// PersonalToken is a personal access token: a long-lived credential a
// person makes for a script, known to UMS only by the SHA-256 of its
// value. It speaks for its owner narrowed by its scope: only the
// permissions it names, each still held by the owner when it is used.
type PersonalToken struct {
	ID     uuid.UUID
	UserID uuid.UUID
	Name   string
	// Hash is the SHA-256 of the token.
	Hash []byte
	// Hint is the token's last characters, so its owner can tell tokens
	// apart without UMS keeping the value.
	Hint string
	// OrgID, when set, confines the token to one organization.
	OrgID *uuid.UUID
	// Permissions are the catalog permissions the token may exercise;
	// none means it only identifies its owner (reads /me).
	Permissions  []string
	CreatedAt    time.Time
	ExpiresAt    time.Time
	LastUsedAt   *time.Time
	RevokedAt    *time.Time
	RevokeReason string
}

// Usable reports whether the token may still be used at now.
func (t PersonalToken) Usable(now time.Time) bool {
	return t.RevokedAt == nil && now.Before(t.ExpiresAt)
}

// Scope is what the token narrows its owner to.
func (t PersonalToken) Scope() *TokenScope {
	return &TokenScope{TokenID: t.ID, OrgID: t.OrgID, Permissions: append([]string(nil), t.Permissions...)}
}

// Personal access token limits.
const (
	PersonalTokenPrefix = "ums_pat_"
	// personalTokenEntropy is the number of base62 characters of random:
	// 40 of them carry 238 bits.
	personalTokenEntropy  = 40
	personalTokenChecksum = 6
	// MaxPersonalTokenLifetime bounds expires_at: a credential without a
	// person behind each use must end.
	MaxPersonalTokenLifetime = 366 * 24 * time.Hour
	// MaxPersonalTokens is how many live (unrevoked, unexpired) tokens one
	// person may hold.
	MaxPersonalTokens = 50
	// MaxPersonalTokenPermissions bounds a token's permission list.
	MaxPersonalTokenPermissions = 100
	// personalTokenUseResolution is how stale last_used_at may be: each
	// use would otherwise be a write.
	PersonalTokenUseResolution = time.Minute
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// NewPersonalTokenValue makes a token from random bytes (at least
// personalTokenEntropy of them, uniformly random): the prefix, the random
// part in base62 and a CRC32 checksum of both in base62, so secret
// scanners can recognise a token and typos are refused without a lookup.
func NewPersonalTokenValue(random []byte) string {
	var b strings.Builder
	b.WriteString(PersonalTokenPrefix)
	n := 0
	for _, c := range random {
		// 62*4 = 248: bytes at or above it would bias the alphabet.
		if c >= 248 {
			continue
		}
		b.WriteByte(base62[c%62])
		if n++; n == personalTokenEntropy {
			break
		}
	}
	if n < personalTokenEntropy {
		panic("domain: not enough random bytes for a personal access token")
	}
	b.WriteString(checksum62(b.String()))
	return b.String()
}

// WellFormedPersonalToken reports whether s has a personal access
// token's shape and a correct checksum.
func WellFormedPersonalToken(s string) bool {
	body, ok := strings.CutPrefix(s, PersonalTokenPrefix)
	if !ok || len(body) != personalTokenEntropy+personalTokenChecksum {
		return false
	}
	for i := 0; i < len(body); i++ {
		if strings.IndexByte(base62, body[i]) < 0 {
			return false
		}
	}
	cut := len(s) - personalTokenChecksum
	return checksum62(s[:cut]) == s[cut:]
}

// checksum62 is the CRC32 (IEEE) of s in six base62 digits.
func checksum62(s string) string {
	v := crc32.ChecksumIEEE([]byte(s))
	out := make([]byte, personalTokenChecksum)
	for i := personalTokenChecksum - 1; i >= 0; i-- {
		out[i] = base62[v%62]
		v /= 62
	}
	return string(out)
}

// PersonalTokenHint is the part of a token its owner is shown later.
func PersonalTokenHint(token string) string {
	if len(token) < 4 {
		return ""
	}
	return token[len(token)-4:]
}

// PersonalTokenRequest is what a person asks for when making a token.
type PersonalTokenRequest struct {
	Name        string
	ExpiresAt   *time.Time
	OrgID       *uuid.UUID
	Permissions []string
}

// ValidatePersonalToken checks a request against the rules that need no
// store: a name, an expiry in the future within a year, well-formed and
// distinct permission names. It returns the name and the sorted set.
func ValidatePersonalToken(r PersonalTokenRequest, now time.Time) (string, []string, error) {
	var fields []FieldError
	name := strings.TrimSpace(r.Name)
	if name == "" || utf8.RuneCountInString(name) > 100 {
		fields = append(fields, FieldError{Field: "name", Code: "invalid", Message: "a name of 1 to 100 characters is required"})
	} else if _, fe := ParsePersonName("name", name); fe != nil {
		fields = append(fields, *fe)
	}
	switch {
	case r.ExpiresAt == nil:
		fields = append(fields, FieldError{Field: "expires_at", Code: "required", Message: "is required"})
	case !r.ExpiresAt.After(now):
		fields = append(fields, FieldError{Field: "expires_at", Code: "in_the_past", Message: "must be in the future"})
	case r.ExpiresAt.Sub(now) > MaxPersonalTokenLifetime:
		fields = append(fields, FieldError{Field: "expires_at", Code: "too_far", Message: "must be within 366 days"})
	}
	if len(r.Permissions) > MaxPersonalTokenPermissions {
		fields = append(fields, FieldError{Field: "permissions", Code: "too_many", Message: "at most 100 permissions"})
	}
	set := make([]string, 0, len(r.Permissions))
	for _, p := range r.Permissions {
		v, fe := ParsePermissionName("permissions", p)
		if fe != nil {
			fields = append(fields, *fe)
			break
		}
		set = append(set, v)
	}
	if len(fields) > 0 {
		return "", nil, Invalid(fields...)
	}
	return name, SortedSet(set), nil
}

// NeedsUseRecorded reports whether a use at now should be written: at
// most once per PersonalTokenUseResolution.
func (t PersonalToken) NeedsUseRecorded(now time.Time) bool {
	return t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) >= PersonalTokenUseResolution
}

// DecideScoped is Decide for a caller narrowed by scope (nil: not
// narrowed): outside the scope's organization nothing is held, inside
// only the scope's permissions that the owner holds at now. A system
// administrator's token is no system administrator.
func DecideScoped(f AccessFacts, asked []string, now time.Time, scope *TokenScope, orgID uuid.UUID) Decision {
	d := Decide(f, asked, now)
	if scope == nil {
		return d
	}
	inScope := scope.OrgID == nil || *scope.OrgID == orgID
	named := make(map[string]bool, len(scope.Permissions))
	if inScope {
		for _, p := range scope.Permissions {
			named[p] = true
		}
	}
	out := Decision{Granted: []string{}, Missing: []string{}, Permissions: []string{}}
	for _, p := range d.Permissions {
		if named[p] {
			out.Permissions = append(out.Permissions, p)
		}
	}
	held := make(map[string]bool, len(out.Permissions))
	for _, p := range out.Permissions {
		held[p] = true
	}
	for _, p := range sortedSet(asked) {
		if held[p] {
			out.Granted = append(out.Granted, p)
		} else {
			out.Missing = append(out.Missing, p)
		}
	}
	if len(asked) == 0 {
		// A membership check: the owner's system administration does not
		// come with the token, so only a membership of an active
		// organization counts.
		out.Allowed = inScope && f.UserActive && f.OrgExists && f.OrgActive && f.Role != ""
	} else {
		out.Allowed = inScope && len(out.Missing) == 0 && f.UserActive && f.OrgExists
	}
	return out
}

// Personal access token errors and audit actions.
var (
	ErrPersonalTokenNotFound = &Error{Kind: KindNotFound, Code: "token_not_found", Message: "personal access token not found"}
	ErrTooManyPersonalTokens = &Error{Kind: KindConflict, Code: "too_many_tokens",
		Message: "at most 50 live personal access tokens; revoke one first"}
)

// Audit actions of personal access tokens.
const (
	ActionPersonalTokenCreated = "token.created"
	ActionPersonalTokenRevoked = "token.revoked"
	ActionPersonalTokenRefused = "token.refused"
)

// Reasons a personal access token ends early.
const (
	RevokePersonalTokenByUser = "revoked_by_user"
)

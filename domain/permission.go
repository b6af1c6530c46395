package domain

import (
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Permission is one entry of the catalog, e.g. lab.patient.read.
type Permission struct {
	ID          uuid.UUID
	Name        string
	Description string
	Category    string
	IsActive    bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

var permissionPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$`)

// ParsePermissionName validates a dotted lowercase name of at least two
// segments and at most 128 characters.
func ParsePermissionName(field, s string) (string, *FieldError) {
	s = strings.TrimSpace(s)
	if len(s) > 128 || !permissionPattern.MatchString(s) {
		return "", &FieldError{Field: field, Code: "invalid_permission",
			Message: "must be dotted lowercase segments such as lab.patient.read (at most 128 characters)"}
	}
	return s, nil
}

// Grant gives one user one permission in one organization directly.
type Grant struct {
	ID         uuid.UUID
	OrgID      uuid.UUID
	UserID     uuid.UUID
	Permission string
	IsActive   bool
	ExpiresAt  *time.Time
	GrantedBy  *uuid.UUID
	CreatedAt  time.Time
}

// Live reports whether the grant confers its permission at now.
func (g Grant) Live(now time.Time) bool {
	return g.IsActive && (g.ExpiresAt == nil || now.Before(*g.ExpiresAt))
}

// AccessFacts is everything the effective permissions of one user in one
// organization depend on, as loaded in one query. Permission names are
// those of active catalog entries only.
type AccessFacts struct {
	UserActive    bool
	IsSystemAdmin bool
	OrgExists     bool
	OrgActive     bool
	// OrgName and OrgSlug name the organization, for answers that show
	// it.
	OrgName string
	OrgSlug string
	// Role is the user's membership role; empty when not a member.
	Role Role
	// RoleDefaults are the global permissions of Role.
	RoleDefaults []string
	// OrgRolePermissions are the permissions of Role set for this
	// organization.
	OrgRolePermissions []string
	// Grants are the user's direct grants in the organization.
	Grants []Grant
	// Catalog is every active permission, needed only for system admins,
	// who hold them all.
	Catalog []string
}

// EffectivePermissions is PRODUCT.md's rule: the role's global defaults ∪
// the role's permissions in the organization ∪ the user's live direct
// grants there. A system admin holds every permission everywhere; an
// inactive user or organization holds none. The result is sorted.
func EffectivePermissions(f AccessFacts, now time.Time) []string {
	if !f.UserActive || !f.OrgExists {
		return nil
	}
	if f.IsSystemAdmin {
		return sortedSet(f.Catalog)
	}
	if !f.OrgActive {
		return nil
	}
	if f.Role == "" {
		// Direct grants go to members only and end with the membership;
		// one left behind by a bug or a hand-edited row confers nothing.
		return nil
	}
	all := append(append([]string(nil), f.RoleDefaults...), f.OrgRolePermissions...)
	for _, g := range f.Grants {
		if g.Live(now) {
			all = append(all, g.Permission)
		}
	}
	return sortedSet(all)
}

// Decision answers "may the user do these in this organization?".
type Decision struct {
	Allowed       bool
	Granted       []string
	Missing       []string
	Permissions   []string
	IsSystemAdmin bool
}

// Decide checks the asked permissions against the facts. Allowed needs
// every one of them; asking for none is allowed only to a member (or a
// system admin), so an empty list is a membership check.
func Decide(f AccessFacts, asked []string, now time.Time) Decision {
	eff := EffectivePermissions(f, now)
	d := Decision{Permissions: eff, IsSystemAdmin: f.IsSystemAdmin && f.UserActive, Granted: []string{}, Missing: []string{}}
	if d.Permissions == nil {
		d.Permissions = []string{}
	}
	have := make(map[string]bool, len(eff))
	for _, p := range eff {
		have[p] = true
	}
	for _, p := range sortedSet(asked) {
		if have[p] || (d.IsSystemAdmin && f.OrgExists) {
			d.Granted = append(d.Granted, p)
		} else {
			d.Missing = append(d.Missing, p)
		}
	}
	if len(asked) == 0 {
		d.Allowed = f.UserActive && f.OrgExists && (d.IsSystemAdmin || (f.OrgActive && f.Role != ""))
		return d
	}
	d.Allowed = len(d.Missing) == 0 && f.UserActive && f.OrgExists
	return d
}

// SortedSet returns the distinct strings of in, sorted; nil for none.
func SortedSet(in []string) []string { return sortedSet(in) }

func sortedSet(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	seen := make(map[string]bool, len(in))
	out := make([]string, 0, len(in))
	for _, s := range in {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

// Permission errors.
var (
	ErrPermissionNotFound = &Error{Kind: KindNotFound, Code: "permission_not_found", Message: "permission not found"}
	ErrPermissionExists   = &Error{Kind: KindConflict, Code: "permission_exists", Message: "a permission with this name already exists"}
	ErrGrantNotFound      = &Error{Kind: KindNotFound, Code: "grant_not_found", Message: "grant not found"}
)

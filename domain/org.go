package domain

import (
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Role is what a member may do in an organization.
type Role string

// The roles, from most to least powerful.
const (
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
	RoleViewer Role = "viewer"
)

// Roles lists every role.
var Roles = []Role{RoleAdmin, RoleMember, RoleViewer}

// ParseRole validates a role name.
func ParseRole(field, s string) (Role, *FieldError) {
	switch r := Role(s); r {
	case RoleAdmin, RoleMember, RoleViewer:
		return r, nil
	}
	return "", &FieldError{Field: field, Code: "invalid_role", Message: "must be admin, member or viewer"}
}

// Rank orders roles from 0 (no role) to 3 (admin), so a change can be
// called an upgrade and a caller's standing in an organization compared.
func (r Role) Rank() int {
	switch r {
	case RoleAdmin:
		return 3
	case RoleMember:
		return 2
	case RoleViewer:
		return 1
	}
	return 0
}

// Above reports whether r is more powerful than other.
func (r Role) Above(other Role) bool { return r.Rank() > other.Rank() }

// Organization is a tenant (a "lab" in the old service).
type Organization struct {
	ID          uuid.UUID
	Name        string
	Slug        string
	Description string
	IsActive    bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

var slugPattern = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$`)

// ParseSlug validates an organization's short code: lowercase letters,
// digits and inner dashes, at most 64.
func ParseSlug(field, s string) (string, *FieldError) {
	s = strings.ToLower(strings.TrimSpace(s))
	if !slugPattern.MatchString(s) {
		return "", &FieldError{Field: field, Code: "invalid_slug",
			Message: "must be 1 to 64 lowercase letters, digits or inner dashes"}
	}
	return s, nil
}

// ParseOrgName validates an organization's display name.
func ParseOrgName(field, s string) (string, *FieldError) {
	s = strings.TrimSpace(s)
	if s == "" || utf8.RuneCountInString(s) > 200 {
		return "", &FieldError{Field: field, Code: "invalid_length", Message: "must have 1 to 200 characters"}
	}
	if _, fe := ParsePersonName(field, s); fe != nil {
		fe.Message = "must not contain control characters"
		return "", fe
	}
	return s, nil
}

// ParseDescription validates a free-text description.
func ParseDescription(field, s string) (string, *FieldError) {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > 2000 || !utf8.ValidString(s) {
		return "", &FieldError{Field: field, Code: "too_long", Message: "must be valid text of at most 2000 characters"}
	}
	return s, nil
}

// Membership puts a user in an organization with a role.
type Membership struct {
	OrgID     uuid.UUID
	UserID    uuid.UUID
	Role      Role
	CreatedAt time.Time
	UpdatedAt time.Time
}

// CheckRoleChange judges a change of m's role to `to` made by actor:
// nobody but a system administrator raises their own role. It reports
// whether the change takes an admin away, which KeepOrgAdmin must then
// allow.
func (m Membership) CheckRoleChange(to Role, actor uuid.UUID, actorIsSystemAdmin bool) (losesAdmin bool, err error) {
	if actor == m.UserID && to.Above(m.Role) && !actorIsSystemAdmin {
		return false, ErrOwnRoleUpgrade
	}
	return m.Role == RoleAdmin && to != RoleAdmin, nil
}

// RemovalLosesAdmin reports whether removing m takes an admin away.
func (m Membership) RemovalLosesAdmin() bool { return m.Role == RoleAdmin }

// Organization errors.
var (
	ErrOrgNotFound        = &Error{Kind: KindNotFound, Code: "org_not_found", Message: "organization not found"}
	ErrSlugTaken          = &Error{Kind: KindConflict, Code: "slug_taken", Message: "an organization with this slug already exists"}
	ErrMembershipNotFound = &Error{Kind: KindNotFound, Code: "membership_not_found", Message: "the user is not a member of this organization"}
	ErrAlreadyMember      = &Error{Kind: KindConflict, Code: "already_member", Message: "the user is already a member of this organization"}
	ErrLastOrgAdmin       = &Error{Kind: KindConflict, Code: "last_org_admin", Message: "an organization must keep at least one admin"}
	ErrLastSystemAdmin    = &Error{Kind: KindConflict, Code: "last_system_admin", Message: "the last active system administrator cannot be demoted, deactivated or erased"}
	ErrOwnRoleUpgrade     = &Error{Kind: KindForbidden, Code: "own_role_upgrade", Message: "nobody may raise their own role"}
)

// ErrAdminRequired refuses a system administrator's action to anyone else.
var ErrAdminRequired = &Error{Kind: KindForbidden, Code: "system_admin_required",
	Message: "only a system administrator may do this"}

// ErrForbidden refuses an authenticated caller an action on something it
// may see.
var ErrForbidden = &Error{Kind: KindForbidden, Code: "forbidden", Message: "you are not allowed to do this"}

// Organization and permission audit actions.
const (
	ActionOrgCreated          = "org.created"
	ActionOrgUpdated          = "org.updated"
	ActionOrgDeactivated      = "org.deactivated"
	ActionMemberAdded         = "org.member_added"
	ActionMemberRoleChanged   = "org.member_role_changed"
	ActionMemberRemoved       = "org.member_removed"
	ActionRolePermissionsSet  = "role_permissions.set"
	ActionGrantAdded          = "grant.added"
	ActionGrantRemoved        = "grant.removed"
	ActionPermissionCreated   = "permission.created"
	ActionPermissionDisabled  = "permission.deactivated"
	ActionUserCreatedByAdmin  = "user.created"
	ActionUserUpdated         = "user.updated"
	ActionUserErased          = "user.erased"
	ActionUserUnlocked        = "user.unlocked"
	ActionUserSessionsRevoked = "user.sessions_revoked"
	ActionUserExported        = "user.exported"
)

// OrgChange is a change of an organization's fields; nil leaves one.
type OrgChange struct {
	Name        *string
	Slug        *string
	Description *string
	Active      *bool
	At          time.Time
	// Fields names what actually changed, for the audit trail.
	Fields []string
}

// Empty reports whether the change changes nothing.
func (c OrgChange) Empty() bool { return len(c.Fields) == 0 }

// Change validates new values for o's fields (nil leaves one), applies
// them and returns what changed; a value breaking a rule is a KindInvalid
// error and changes nothing.
func (o *Organization) Change(name, slug, description *string, active *bool, now time.Time) (OrgChange, error) {
	var fields []FieldError
	ch := OrgChange{At: now}
	next := *o
	if name != nil {
		v, fe := ParseOrgName("name", *name)
		if fe != nil {
			fields = append(fields, *fe)
		} else if v != o.Name {
			next.Name, ch.Name, ch.Fields = v, &v, append(ch.Fields, "name")
		}
	}
	if slug != nil {
		v, fe := ParseSlug("slug", *slug)
		if fe != nil {
			fields = append(fields, *fe)
		} else if v != o.Slug {
			next.Slug, ch.Slug, ch.Fields = v, &v, append(ch.Fields, "slug")
		}
	}
	if description != nil {
		v, fe := ParseDescription("description", *description)
		if fe != nil {
			fields = append(fields, *fe)
		} else if v != o.Description {
			next.Description, ch.Description, ch.Fields = v, &v, append(ch.Fields, "description")
		}
	}
	if active != nil && *active != o.IsActive {
		next.IsActive, ch.Active, ch.Fields = *active, boolPtr(*active), append(ch.Fields, "is_active")
	}
	if len(fields) > 0 {
		return OrgChange{}, Invalid(fields...)
	}
	if !ch.Empty() {
		next.UpdatedAt = now
	}
	*o = next
	return ch, nil
}

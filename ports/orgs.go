package ports

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
)

// Page asks for one page of a keyset-paginated list. Cursor is opaque to
// callers: the adapter makes it and reads it back; a malformed one is a
// domain KindInvalid error on field "cursor".
type Page struct {
	Limit  int
	Cursor string
}

// OrgFilter narrows an organization list.
type OrgFilter struct {
	// MemberID, when set, lists only that user's organizations.
	MemberID *uuid.UUID
	// Q matches name or slug, case-insensitively.
	Q string
}

// OrgRepository stores organizations.
type OrgRepository interface {
	// Create inserts; a taken slug (case-insensitive) is domain.ErrSlugTaken.
	Create(ctx context.Context, o domain.Organization) error
	// ByID returns the organization or domain.ErrOrgNotFound.
	ByID(ctx context.Context, id uuid.UUID) (domain.Organization, error)
	// Update writes the fields ch changes (and updated_at) and nothing
	// else; domain.ErrOrgNotFound or domain.ErrSlugTaken.
	Update(ctx context.Context, id uuid.UUID, ch domain.OrgChange) error
	// List returns organizations ordered by (created_at, id) and the
	// cursor of the next page ("" when none).
	List(ctx context.Context, f OrgFilter, p Page) ([]domain.Organization, string, error)
}

// MembershipWithUser is a membership with the member's public names, for
// member lists.
type MembershipWithUser struct {
	domain.Membership
	Email    string
	Username string
}

// MembershipRepository stores who belongs to which organization.
type MembershipRepository interface {
	// Add inserts; an existing membership is domain.ErrAlreadyMember.
	Add(ctx context.Context, m domain.Membership) error
	// Get returns the membership or domain.ErrMembershipNotFound.
	Get(ctx context.Context, orgID, userID uuid.UUID) (domain.Membership, error)
	// Lock returns the membership and locks it until the transaction in
	// ctx ends, so a removal cannot interleave with a change that depends
	// on it (a grant); domain.ErrMembershipNotFound when absent.
	Lock(ctx context.Context, orgID, userID uuid.UUID) (domain.Membership, error)
	// SetRole changes the role from `from` to `to` only while it is still
	// `from` (domain.ErrConcurrentChange otherwise), or returns
	// domain.ErrMembershipNotFound.
	SetRole(ctx context.Context, orgID, userID uuid.UUID, from, to domain.Role, at time.Time) error
	// Remove deletes the membership or returns domain.ErrMembershipNotFound.
	Remove(ctx context.Context, orgID, userID uuid.UUID) error
	// LockAdmins locks the organization's admin memberships of people
	// until the transaction in ctx ends and returns how many there are, so
	// two concurrent demotions cannot both pass a last-admin check.
	// Service accounts are not counted: they never give the admin role,
	// so an organization left to them has no admin who could.
	LockAdmins(ctx context.Context, orgID uuid.UUID) (int, error)
	// ByOrg lists an organization's members ordered by (created_at,
	// user_id), keyset-paginated.
	ByOrg(ctx context.Context, orgID uuid.UUID, p Page) ([]MembershipWithUser, string, error)
	// ByUser lists a user's memberships, oldest first.
	ByUser(ctx context.Context, userID uuid.UUID) ([]domain.Membership, error)
}

// PermissionRepository stores the permission catalog, the permissions of
// roles (global defaults and per organization) and direct grants.
type PermissionRepository interface {
	// Create adds a catalog entry; a taken name is domain.ErrPermissionExists.
	Create(ctx context.Context, p domain.Permission) error
	// ByName returns an entry, active or not, or domain.ErrPermissionNotFound.
	ByName(ctx context.Context, name string) (domain.Permission, error)
	// List returns the catalog ordered by name; inactive entries only when
	// includeInactive.
	List(ctx context.Context, includeInactive bool) ([]domain.Permission, error)
	// SetActive flips an entry's active flag or returns
	// domain.ErrPermissionNotFound.
	SetActive(ctx context.Context, name string, active bool, at time.Time) error
	// RolePermissions returns the names set for a role, globally (orgID
	// nil) or in one organization, sorted.
	RolePermissions(ctx context.Context, orgID *uuid.UUID, role domain.Role) ([]string, error)
	// SetRolePermissions replaces that set; every name must exist in the
	// catalog (else domain.ErrPermissionNotFound). ids supplies row ids.
	SetRolePermissions(ctx context.Context, orgID *uuid.UUID, role domain.Role, names []string, ids func() uuid.UUID, at time.Time) error
	// AddGrant stores a direct grant; its permission must exist.
	AddGrant(ctx context.Context, g domain.Grant) error
	// Grants lists an organization's grants, newest first.
	Grants(ctx context.Context, orgID uuid.UUID) ([]domain.Grant, error)
	// DeleteGrant removes a grant of the organization or returns
	// domain.ErrGrantNotFound.
	DeleteGrant(ctx context.Context, orgID, grantID uuid.UUID) error
	// DeleteUserGrants removes every grant of the user in the
	// organization and returns how many there were.
	DeleteUserGrants(ctx context.Context, orgID, userID uuid.UUID) (int, error)
}

// AccessQuery loads what authorization decisions depend on.
type AccessQuery interface {
	// Facts returns the access facts of the user in each organization, in
	// a fixed number of queries however many organizations are asked (no
	// N+1). An unknown user gives facts with UserActive false; an unknown
	// organization facts with OrgExists false.
	Facts(ctx context.Context, userID uuid.UUID, orgIDs []uuid.UUID) (map[uuid.UUID]domain.AccessFacts, error)
}

// AccessStamp tells whether a user's access facts may have changed: it
// differs from an earlier one exactly when something the facts depend on
// was written and committed since.
type AccessStamp struct {
	// User counts the writes to the user's memberships, grants and account
	// flags; Global those to organizations, the permission catalog and
	// role permissions, which every user's facts depend on.
	User, Global int64
}

// AccessStamps reads the stamps the store keeps beside the access facts.
type AccessStamps interface {
	// Stamp returns the user's stamp, in one cheap read. It must be read
	// before the facts it is to vouch for: facts loaded after it are at
	// least as new.
	Stamp(ctx context.Context, userID uuid.UUID) (AccessStamp, error)
}

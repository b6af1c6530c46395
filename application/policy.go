package application

import (
	"context"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// The authorization rules of UMS live here and nowhere else: every use
// case asks this policy before acting. An organization the caller cannot
// see answers 404 (its existence must not leak across tenants); one it can
// see but not change answers 403.

// orgLevel is how much a caller counts for in one organization: a role's
// rank (domain.Role.Rank, 0 for none) or, above every role, a system
// administrator.
type orgLevel int

var (
	levelStranger    = levelOf("")
	levelViewer      = levelOf(domain.RoleViewer)
	levelOrgAdmin    = levelOf(domain.RoleAdmin)
	levelSystemAdmin = levelOrgAdmin + 1
)

func levelOf(role domain.Role) orgLevel { return orgLevel(role.Rank()) }

// OrgAction is something done to or inside an organization.
type OrgAction string

// The organization actions.
const (
	OrgRead         OrgAction = "org.read"
	OrgUpdate       OrgAction = "org.update"
	OrgDelete       OrgAction = "org.delete"
	MembersRead     OrgAction = "members.read"
	MembersManage   OrgAction = "members.manage"
	RolePermsRead   OrgAction = "role_permissions.read"
	RolePermsManage OrgAction = "role_permissions.manage"
	GrantsRead      OrgAction = "grants.read"
	GrantsManage    OrgAction = "grants.manage"
	OrgAuditRead    OrgAction = "audit.read"
	// ServiceAccountsRead lists an organization's service accounts and
	// their public keys; ServiceAccountsManage creates, changes and
	// deletes them and their credentials.
	ServiceAccountsRead   OrgAction = "service_accounts.read"
	ServiceAccountsManage OrgAction = "service_accounts.manage"
	// WebhooksManage sees and changes an organization's webhook
	// endpoints and their deliveries.
	WebhooksManage OrgAction = "webhooks.manage"
)

// orgPolicy is the least level each action needs.
var orgPolicy = map[OrgAction]orgLevel{
	OrgRead:         levelViewer,
	OrgUpdate:       levelSystemAdmin,
	OrgDelete:       levelSystemAdmin,
	MembersRead:     levelViewer,
	MembersManage:   levelOrgAdmin,
	RolePermsRead:   levelViewer,
	RolePermsManage: levelOrgAdmin,
	GrantsRead:      levelOrgAdmin,
	GrantsManage:    levelOrgAdmin,
	OrgAuditRead:    levelOrgAdmin,

	ServiceAccountsRead:   levelViewer,
	ServiceAccountsManage: levelOrgAdmin,

	WebhooksManage: levelOrgAdmin,
}

// Caller is the signed-in user behind a request, as the policy sees it.
type Caller struct {
	User        *domain.User
	SystemAdmin bool
}

// ID is the caller's user id.
func (c Caller) ID() uuid.UUID { return c.User.ID() }

// Policy decides who may do what.
type Policy struct {
	users   ports.UserRepository
	members ports.MembershipRepository
	orgs    ports.OrgRepository
}

// NewPolicy wires the authorization rules.
func NewPolicy(users ports.UserRepository, members ports.MembershipRepository, orgs ports.OrgRepository) *Policy {
	return &Policy{users: users, members: members, orgs: orgs}
}

// Caller loads the principal's account; a deactivated or erased account
// holds no rights even while its token lives.
func (pl *Policy) Caller(ctx context.Context, p domain.Principal) (Caller, error) {
	u, err := pl.users.ByID(ctx, p.UserID)
	if err != nil {
		if domain.KindOf(err) == domain.KindNotFound {
			return Caller{}, domain.ErrInvalidToken
		}
		return Caller{}, err
	}
	if !u.IsActive() {
		return Caller{}, domain.ErrInvalidToken
	}
	return Caller{User: u, SystemAdmin: u.IsSystemAdmin()}, nil
}

// RequireSystemAdmin lets only system administrators through.
func (pl *Policy) RequireSystemAdmin(ctx context.Context, p domain.Principal) (Caller, error) {
	c, err := pl.Caller(ctx, p)
	if err != nil {
		return Caller{}, err
	}
	if !c.SystemAdmin {
		return Caller{}, domain.ErrAdminRequired
	}
	return c, nil
}

// Org checks action on the organization and returns it with the caller's
// membership role ("" for none).
func (pl *Policy) Org(ctx context.Context, p domain.Principal, orgID uuid.UUID, action OrgAction) (Caller, domain.Organization, domain.Role, error) {
	c, err := pl.Caller(ctx, p)
	if err != nil {
		return Caller{}, domain.Organization{}, "", err
	}
	org, err := pl.orgs.ByID(ctx, orgID)
	if err != nil {
		return Caller{}, domain.Organization{}, "", err
	}
	var role domain.Role
	m, err := pl.members.Get(ctx, orgID, c.User.ID())
	switch {
	case err == nil:
		role = m.Role
	case domain.KindOf(err) != domain.KindNotFound:
		return Caller{}, domain.Organization{}, "", err
	}
	level := levelOf(role)
	if !org.IsActive && !c.SystemAdmin {
		// A deactivated organization is gone for its members.
		level = levelStranger
	}
	if c.SystemAdmin {
		level = levelSystemAdmin
	}
	need, ok := orgPolicy[action]
	if !ok {
		return Caller{}, domain.Organization{}, "", domain.ErrForbidden
	}
	switch {
	case level >= need:
		return c, org, role, nil
	case level >= levelViewer:
		return Caller{}, domain.Organization{}, "", domain.ErrForbidden
	default:
		return Caller{}, domain.Organization{}, "", domain.ErrOrgNotFound
	}
}

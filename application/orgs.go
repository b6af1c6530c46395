package application

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// Orgs manages organizations, their members, their role permissions and
// direct grants, under the Policy.
type Orgs struct {
	policy  *Policy
	orgs    ports.OrgRepository
	members ports.MembershipRepository
	perms   ports.PermissionRepository
	users   ports.UserRepository
	tx      ports.TxManager
	audit   ports.AuditLog
	clock   ports.Clock
	ids     ports.IDGenerator
}

// NewOrgs wires organization management.
func NewOrgs(policy *Policy, orgs ports.OrgRepository, members ports.MembershipRepository, perms ports.PermissionRepository,
	users ports.UserRepository, tx ports.TxManager, audit ports.AuditLog, clock ports.Clock, ids ports.IDGenerator,
) *Orgs {
	return &Orgs{policy: policy, orgs: orgs, members: members, perms: perms, users: users, tx: tx, audit: audit, clock: clock, ids: ids}
}

// OrgInput holds organization fields; nil leaves one unchanged on update.
type OrgInput struct {
	Name        *string
	Slug        *string
	Description *string
	IsActive    *bool
}

// List returns every organization to a system admin and their own to
// anyone else.
func (s *Orgs) List(ctx context.Context, p domain.Principal, q string, page ports.Page) ([]domain.Organization, string, error) {
	c, err := s.policy.Caller(ctx, p)
	if err != nil {
		return nil, "", err
	}
	f := ports.OrgFilter{Q: q}
	if !c.SystemAdmin {
		f.MemberID = ptr(c.ID())
	}
	list, next, err := s.orgs.List(ctx, f, page)
	if err != nil || c.SystemAdmin {
		return list, next, err
	}
	// Members do not see deactivated organizations.
	out := list[:0]
	for _, o := range list {
		if o.IsActive {
			out = append(out, o)
		}
	}
	return out, next, nil
}

// Create makes an organization (system admins only).
func (s *Orgs) Create(ctx context.Context, p domain.Principal, in OrgInput) (domain.Organization, error) {
	c, err := s.policy.RequireSystemAdmin(ctx, p)
	if err != nil {
		return domain.Organization{}, err
	}
	var fields []domain.FieldError
	name, fe := domain.ParseOrgName("name", deref(in.Name))
	if fe != nil {
		fields = append(fields, *fe)
	}
	slug, fe := domain.ParseSlug("slug", deref(in.Slug))
	if fe != nil {
		fields = append(fields, *fe)
	}
	desc, fe := domain.ParseDescription("description", deref(in.Description))
	if fe != nil {
		fields = append(fields, *fe)
	}
	if len(fields) > 0 {
		return domain.Organization{}, domain.Invalid(fields...)
	}
	now := s.clock.Now()
	o := domain.Organization{ID: s.ids.NewID(), Name: name, Slug: slug, Description: desc, IsActive: true, CreatedAt: now, UpdatedAt: now}
	if in.IsActive != nil {
		o.IsActive = *in.IsActive
	}
	err = s.tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := s.orgs.Create(ctx, o); err != nil {
			return err
		}
		return s.record(ctx, c, domain.ActionOrgCreated, "organization", o.ID.String(), &o.ID, map[string]any{"slug": o.Slug})
	})
	return o, err
}

// Get returns an organization the caller may see.
func (s *Orgs) Get(ctx context.Context, p domain.Principal, id uuid.UUID) (domain.Organization, error) {
	_, o, _, err := s.policy.Org(ctx, p, id, OrgRead)
	return o, err
}

// Update changes an organization's fields (system admins only), writing
// only the fields that change.
func (s *Orgs) Update(ctx context.Context, p domain.Principal, id uuid.UUID, in OrgInput) (domain.Organization, error) {
	c, o, _, err := s.policy.Org(ctx, p, id, OrgUpdate)
	if err != nil {
		return domain.Organization{}, err
	}
	ch, err := o.Change(in.Name, in.Slug, in.Description, in.IsActive, s.clock.Now())
	if err != nil {
		return domain.Organization{}, err
	}
	err = s.tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := s.orgs.Update(ctx, id, ch); err != nil {
			return err
		}
		if o, err = s.orgs.ByID(ctx, id); err != nil {
			return err
		}
		return s.record(ctx, c, domain.ActionOrgUpdated, "organization", id.String(), &id, map[string]any{"fields": ch.Fields})
	})
	return o, err
}

// Deactivate is DELETE on an organization: a soft delete, so its audit
// trail and grants stay explainable; members stop seeing it and hold no
// permissions in it.
func (s *Orgs) Deactivate(ctx context.Context, p domain.Principal, id uuid.UUID) error {
	c, o, _, err := s.policy.Org(ctx, p, id, OrgDelete)
	if err != nil {
		return err
	}
	off := false
	ch, err := o.Change(nil, nil, nil, &off, s.clock.Now())
	if err != nil {
		return err
	}
	return s.tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := s.orgs.Update(ctx, id, ch); err != nil {
			return err
		}
		return s.record(ctx, c, domain.ActionOrgDeactivated, "organization", id.String(), &id, nil)
	})
}

// Members lists an organization's members.
func (s *Orgs) Members(ctx context.Context, p domain.Principal, orgID uuid.UUID, page ports.Page) ([]ports.MembershipWithUser, string, error) {
	if _, _, _, err := s.policy.Org(ctx, p, orgID, MembersRead); err != nil {
		return nil, "", err
	}
	return s.members.ByOrg(ctx, orgID, page)
}

// AddMember puts a user into the organization with a role.
func (s *Orgs) AddMember(ctx context.Context, p domain.Principal, orgID, userID uuid.UUID, roleName string) (domain.Membership, error) {
	c, _, _, err := s.policy.Org(ctx, p, orgID, MembersManage)
	if err != nil {
		return domain.Membership{}, err
	}
	role, fe := domain.ParseRole("role", roleName)
	if fe != nil {
		return domain.Membership{}, domain.Invalid(*fe)
	}
	if _, err := s.users.ByID(ctx, userID); err != nil {
		if errors.Is(err, domain.ErrUserNotFound) {
			return domain.Membership{}, domain.Invalid(domain.FieldError{Field: "user_id", Code: "unknown_user", Message: "no such user"})
		}
		return domain.Membership{}, err
	}
	now := s.clock.Now()
	m := domain.Membership{OrgID: orgID, UserID: userID, Role: role, CreatedAt: now, UpdatedAt: now}
	err = s.tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := s.members.Add(ctx, m); err != nil {
			return err
		}
		return s.record(ctx, c, domain.ActionMemberAdded, "user", userID.String(), &orgID, map[string]any{"role": string(role)})
	})
	return m, err
}

// SetMemberRole changes a member's role. The last admin cannot be demoted
// and nobody raises their own role; the role is written only while it is
// still the one those rules judged.
func (s *Orgs) SetMemberRole(ctx context.Context, p domain.Principal, orgID, userID uuid.UUID, roleName string) (domain.Membership, error) {
	c, _, _, err := s.policy.Org(ctx, p, orgID, MembersManage)
	if err != nil {
		return domain.Membership{}, err
	}
	role, fe := domain.ParseRole("role", roleName)
	if fe != nil {
		return domain.Membership{}, domain.Invalid(*fe)
	}
	var out domain.Membership
	err = s.tx.WithinTx(ctx, func(ctx context.Context) error {
		m, err := s.members.Get(ctx, orgID, userID)
		if err != nil {
			return err
		}
		losesAdmin, err := m.CheckRoleChange(role, c.ID(), c.SystemAdmin)
		if err != nil {
			return err
		}
		if losesAdmin {
			if err := s.keepAnAdmin(ctx, orgID); err != nil {
				return err
			}
		}
		now := s.clock.Now()
		if err := s.members.SetRole(ctx, orgID, userID, m.Role, role, now); err != nil {
			return err
		}
		m.Role, m.UpdatedAt = role, now
		out = m
		return s.record(ctx, c, domain.ActionMemberRoleChanged, "user", userID.String(), &orgID, map[string]any{"role": string(role)})
	})
	return out, err
}

// RemoveMember takes a user out of the organization, never its last admin.
// The user's direct grants there end with the membership.
func (s *Orgs) RemoveMember(ctx context.Context, p domain.Principal, orgID, userID uuid.UUID) error {
	c, _, _, err := s.policy.Org(ctx, p, orgID, MembersManage)
	if err != nil {
		return err
	}
	return s.tx.WithinTx(ctx, func(ctx context.Context) error {
		m, err := s.members.Lock(ctx, orgID, userID)
		if err != nil {
			return err
		}
		if m.RemovalLosesAdmin() {
			if err := s.keepAnAdmin(ctx, orgID); err != nil {
				return err
			}
		}
		if err := s.members.Remove(ctx, orgID, userID); err != nil {
			return err
		}
		grants, err := s.perms.DeleteUserGrants(ctx, orgID, userID)
		if err != nil {
			return err
		}
		return s.record(ctx, c, domain.ActionMemberRemoved, "user", userID.String(), &orgID, map[string]any{"grants_removed": grants})
	})
}

// keepAnAdmin refuses a change that would leave the organization without
// an admin; the count locks the admin rows, so two concurrent demotions
// cannot both pass.
func (s *Orgs) keepAnAdmin(ctx context.Context, orgID uuid.UUID) error {
	n, err := s.members.LockAdmins(ctx, orgID)
	if err != nil {
		return err
	}
	return domain.KeepOrgAdmin(n)
}

// RolePermissions returns the permissions a role has in the organization
// (on top of the role's global defaults).
func (s *Orgs) RolePermissions(ctx context.Context, p domain.Principal, orgID uuid.UUID, roleName string) ([]string, error) {
	if _, _, _, err := s.policy.Org(ctx, p, orgID, RolePermsRead); err != nil {
		return nil, err
	}
	role, fe := domain.ParseRole("role", roleName)
	if fe != nil {
		return nil, domain.Invalid(*fe)
	}
	return s.perms.RolePermissions(ctx, &orgID, role)
}

// SetRolePermissions replaces the permissions a role has in the
// organization.
func (s *Orgs) SetRolePermissions(ctx context.Context, p domain.Principal, orgID uuid.UUID, roleName string, names []string) ([]string, error) {
	c, _, _, err := s.policy.Org(ctx, p, orgID, RolePermsManage)
	if err != nil {
		return nil, err
	}
	return setRolePermissions(ctx, s.tx, s.perms, s.ids, s.clock, &orgID, roleName, names, func(ctx context.Context, role domain.Role, set []string) error {
		return s.record(ctx, c, domain.ActionRolePermissionsSet, "role", string(role), &orgID, map[string]any{"permissions": set})
	})
}

// Grants lists the organization's direct grants.
func (s *Orgs) Grants(ctx context.Context, p domain.Principal, orgID uuid.UUID) ([]domain.Grant, error) {
	if _, _, _, err := s.policy.Org(ctx, p, orgID, GrantsRead); err != nil {
		return nil, err
	}
	return s.perms.Grants(ctx, orgID)
}

// GrantInput is a direct grant to make.
type GrantInput struct {
	UserID     uuid.UUID
	Permission string
	ExpiresAt  *time.Time
}

// AddGrant gives a member one permission in the organization directly.
// A grant goes to members only: the membership is locked while the grant
// is written, so a concurrent removal (which deletes the member's grants)
// cannot leave it behind.
func (s *Orgs) AddGrant(ctx context.Context, p domain.Principal, orgID uuid.UUID, in GrantInput) (domain.Grant, error) {
	c, _, _, err := s.policy.Org(ctx, p, orgID, GrantsManage)
	if err != nil {
		return domain.Grant{}, err
	}
	var fields []domain.FieldError
	name, fe := domain.ParsePermissionName("permission", in.Permission)
	if fe != nil {
		fields = append(fields, *fe)
	}
	now := s.clock.Now()
	if in.ExpiresAt != nil && !in.ExpiresAt.After(now) {
		fields = append(fields, domain.FieldError{Field: "expires_at", Code: "in_the_past", Message: "must be in the future"})
	}
	if len(fields) > 0 {
		return domain.Grant{}, domain.Invalid(fields...)
	}
	g := domain.Grant{ID: s.ids.NewID(), OrgID: orgID, UserID: in.UserID, Permission: name, IsActive: true,
		ExpiresAt: in.ExpiresAt, GrantedBy: ptr(c.ID()), CreatedAt: now}
	err = s.tx.WithinTx(ctx, func(ctx context.Context) error {
		if _, err := s.members.Lock(ctx, orgID, in.UserID); err != nil {
			if errors.Is(err, domain.ErrMembershipNotFound) {
				return domain.Invalid(domain.FieldError{Field: "user_id", Code: "not_a_member",
					Message: "direct grants go to members of the organization only"})
			}
			return err
		}
		if err := s.perms.AddGrant(ctx, g); err != nil {
			if errors.Is(err, domain.ErrPermissionNotFound) {
				return domain.Invalid(domain.FieldError{Field: "permission", Code: "unknown_permission", Message: "no such permission in the catalog"})
			}
			return err
		}
		return s.record(ctx, c, domain.ActionGrantAdded, "user", in.UserID.String(), &orgID,
			map[string]any{"grant_id": g.ID.String(), "permission": name})
	})
	return g, err
}

// DeleteGrant removes a direct grant.
func (s *Orgs) DeleteGrant(ctx context.Context, p domain.Principal, orgID, grantID uuid.UUID) error {
	c, _, _, err := s.policy.Org(ctx, p, orgID, GrantsManage)
	if err != nil {
		return err
	}
	return s.tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := s.perms.DeleteGrant(ctx, orgID, grantID); err != nil {
			return err
		}
		return s.record(ctx, c, domain.ActionGrantRemoved, "grant", grantID.String(), &orgID, nil)
	})
}

func (s *Orgs) record(ctx context.Context, c Caller, action, targetType, targetID string, orgID *uuid.UUID, details map[string]any) error {
	return recordAudit(ctx, s.audit, s.ids, s.clock, c.ID(), action, targetType, targetID, orgID, details)
}

// recordAudit records a successful action of actor.
func recordAudit(ctx context.Context, audit ports.AuditLog, ids ports.IDGenerator, clock ports.Clock, actor uuid.UUID,
	action, targetType, targetID string, orgID *uuid.UUID, details map[string]any,
) error {
	ev := domain.NewAuditEvent(ctx, ids.NewID(), clock.Now(), action, domain.OutcomeSuccess)
	ev.ActorID, ev.TargetType, ev.TargetID, ev.OrgID, ev.Details = &actor, targetType, targetID, orgID, details
	return audit.Record(ctx, ev)
}

// setRolePermissions validates names and replaces a role's set, globally
// (orgID nil) or in one organization.
func setRolePermissions(ctx context.Context, tx ports.TxManager, perms ports.PermissionRepository, ids ports.IDGenerator,
	clock ports.Clock, orgID *uuid.UUID, roleName string, names []string, audit func(context.Context, domain.Role, []string) error,
) ([]string, error) {
	role, fe := domain.ParseRole("role", roleName)
	if fe != nil {
		return nil, domain.Invalid(*fe)
	}
	if len(names) > 500 {
		return nil, domain.Invalid(domain.FieldError{Field: "permissions", Code: "too_many", Message: "at most 500 permissions"})
	}
	var fields []domain.FieldError
	set := make([]string, 0, len(names))
	for _, n := range names {
		v, fe := domain.ParsePermissionName("permissions", n)
		if fe != nil {
			fields = append(fields, *fe)
			continue
		}
		set = append(set, v)
	}
	if len(fields) > 0 {
		return nil, domain.Invalid(fields...)
	}
	set = domain.SortedSet(set)
	err := tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := perms.SetRolePermissions(ctx, orgID, role, set, ids.NewID, clock.Now()); err != nil {
			if errors.Is(err, domain.ErrPermissionNotFound) {
				return domain.Invalid(domain.FieldError{Field: "permissions", Code: "unknown_permission",
					Message: "every permission must be in the catalog"})
			}
			return err
		}
		return audit(ctx, role, set)
	})
	if err != nil {
		return nil, err
	}
	if set == nil {
		set = []string{}
	}
	return set, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

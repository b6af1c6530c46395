package application

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

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

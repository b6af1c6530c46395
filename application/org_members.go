package application

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

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
	if err := adminRoleByPeople(p, role); err != nil {
		return domain.Membership{}, err
	}
	u, err := s.users.ByID(ctx, userID)
	if err != nil {
		if errors.Is(err, domain.ErrUserNotFound) {
			return domain.Membership{}, domain.Invalid(domain.FieldError{Field: "user_id", Code: "unknown_user", Message: "no such user"})
		}
		return domain.Membership{}, err
	}
	if u.IsServiceAccount() {
		// A service account belongs to the organization it was made in,
		// which it joined then.
		return domain.Membership{}, domain.Invalid(domain.FieldError{Field: "user_id", Code: "service_account",
			Message: "a service account is a member of its own organization only, from its creation"})
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
		if err := adminRoleByPeople(p, m.Role, role); err != nil {
			return err
		}
		losesAdmin, err := m.CheckRoleChange(role, c.ID(), c.SystemAdmin)
		if err != nil {
			return err
		}
		if losesAdmin {
			if err := s.keepAnAdmin(ctx, orgID, userID); err != nil {
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
		if err := adminRoleByPeople(p, m.Role); err != nil {
			return err
		}
		if m.RemovalLosesAdmin() {
			if err := s.keepAnAdmin(ctx, orgID, userID); err != nil {
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

// errAdminRoleByPeople refuses a machine credential giving or taking an
// organization's admin role.
var errAdminRoleByPeople = &domain.Error{Kind: domain.KindForbidden, Code: "service_account_not_allowed",
	Message: "only people signed in give or take an organization's admin role"}

// adminRoleByPeople refuses a service account's change of a membership
// whose role is or becomes admin. A service account may manage members
// (provisioning), but an admin could make service accounts and rotate
// their credentials: a leaked machine credential must not be able to make
// a lasting admin of its holder, nor leave the organization to machines.
func adminRoleByPeople(p domain.Principal, roles ...domain.Role) error {
	if !p.IsServiceAccount() {
		return nil
	}
	for _, r := range roles {
		if r == domain.RoleAdmin {
			return errAdminRoleByPeople
		}
	}
	return nil
}

// keepAnAdmin refuses a change of userID's admin membership that would
// leave the organization without a person as admin; the count locks the
// admin rows, so two concurrent demotions cannot both pass. A service
// account's admin role is not counted (it never gives the role), so
// taking it away needs no other admin.
func (s *Orgs) keepAnAdmin(ctx context.Context, orgID, userID uuid.UUID) error {
	u, err := s.users.ByID(ctx, userID)
	if err != nil {
		return err
	}
	if u.IsServiceAccount() {
		return nil
	}
	n, err := s.members.LockAdmins(ctx, orgID)
	if err != nil {
		return err
	}
	return domain.KeepOrgAdmin(n)
}

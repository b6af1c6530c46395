package application

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// Directory is user administration for system admins, the audit listing,
// and each user's own export and erasure.
type Directory struct {
	policy       *Policy
	auth         *Auth
	registration *Registration
	dir          ports.UserDirectory
	members      ports.MembershipRepository
	orgs         ports.OrgRepository
	personal     ports.PersonalData
	auditQuery   ports.AuditQuery
}

// NewDirectory wires user administration.
func NewDirectory(policy *Policy, auth *Auth, registration *Registration, dir ports.UserDirectory,
	members ports.MembershipRepository, orgs ports.OrgRepository, personal ports.PersonalData, auditQuery ports.AuditQuery,
) *Directory {
	return &Directory{policy: policy, auth: auth, registration: registration, dir: dir, members: members, orgs: orgs,
		personal: personal, auditQuery: auditQuery}
}

// List pages through users (system admins only).
func (d *Directory) List(ctx context.Context, p domain.Principal, f ports.UserFilter, page ports.Page) ([]domain.User, string, error) {
	if _, err := d.policy.RequireSystemAdmin(ctx, p); err != nil {
		return nil, "", err
	}
	switch f.Sort {
	case "", ports.SortCreatedAsc, ports.SortCreatedDesc, ports.SortUsernameAsc, ports.SortUsernameDesc,
		ports.SortEmailAsc, ports.SortEmailDesc:
	default:
		return nil, "", domain.Invalid(domain.FieldError{Field: "sort", Code: "invalid_sort",
			Message: "must be created_at, username or email, optionally prefixed with -"})
	}
	return d.dir.List(ctx, f, page)
}

// CreateUserInput is an administrator's new user.
type CreateUserInput struct {
	RegisterInput
	IsSystemAdmin bool
}

// Create makes a user as an administrator: the address counts as
// verified (the administrator vouches for it) and no mail is sent.
func (d *Directory) Create(ctx context.Context, p domain.Principal, in CreateUserInput) (*domain.User, error) {
	c, err := d.policy.RequireSystemAdmin(ctx, p)
	if err != nil {
		return nil, err
	}
	return d.registration.createBy(ctx, in.RegisterInput, in.IsSystemAdmin, &c.User.ID)
}

// Get returns one user (system admins only).
func (d *Directory) Get(ctx context.Context, p domain.Principal, id uuid.UUID) (*domain.User, error) {
	if _, err := d.policy.RequireSystemAdmin(ctx, p); err != nil {
		return nil, err
	}
	return d.auth.Users.ByID(ctx, id)
}

// UserPatch holds what an administrator may change; nil leaves a field.
type UserPatch struct {
	FirstName     *string
	LastName      *string
	IsActive      *bool
	IsSystemAdmin *bool
	EmailVerified *bool
}

// Update changes a user's profile and flags. The last active system admin
// is never deactivated or demoted; deactivation ends every session.
func (d *Directory) Update(ctx context.Context, p domain.Principal, id uuid.UUID, in UserPatch) (*domain.User, error) {
	c, err := d.policy.RequireSystemAdmin(ctx, p)
	if err != nil {
		return nil, err
	}
	var fields []domain.FieldError
	var first, last string
	if in.FirstName != nil {
		v, fe := domain.ParsePersonName("first_name", *in.FirstName)
		if fe != nil {
			fields = append(fields, *fe)
		}
		first = v
	}
	if in.LastName != nil {
		v, fe := domain.ParsePersonName("last_name", *in.LastName)
		if fe != nil {
			fields = append(fields, *fe)
		}
		last = v
	}
	if len(fields) > 0 {
		return nil, domain.Invalid(fields...)
	}
	a := d.auth
	now := a.Clock.Now()
	var (
		out     *domain.User
		revoked []uuid.UUID
	)
	err = a.Tx.WithinTx(ctx, func(ctx context.Context) error {
		u, err := a.Users.ByID(ctx, id)
		if err != nil {
			return err
		}
		var changed []string
		if in.FirstName != nil {
			u.FirstName, changed = first, append(changed, "first_name")
		}
		if in.LastName != nil {
			u.LastName, changed = last, append(changed, "last_name")
		}
		losesAdmin := u.IsSystemAdmin && u.IsActive &&
			((in.IsActive != nil && !*in.IsActive) || (in.IsSystemAdmin != nil && !*in.IsSystemAdmin))
		if losesAdmin {
			if err := d.keepASystemAdmin(ctx); err != nil {
				return err
			}
		}
		if in.IsActive != nil && *in.IsActive != u.IsActive {
			u.IsActive, changed = *in.IsActive, append(changed, "is_active")
		}
		if in.IsSystemAdmin != nil && *in.IsSystemAdmin != u.IsSystemAdmin {
			u.IsSystemAdmin, changed = *in.IsSystemAdmin, append(changed, "is_system_admin")
		}
		if in.EmailVerified != nil && *in.EmailVerified != u.EmailVerified {
			u.EmailVerified, changed = *in.EmailVerified, append(changed, "email_verified")
		}
		u.UpdatedAt = now
		if err := a.Users.Update(ctx, u); err != nil {
			return err
		}
		if !u.IsActive {
			if revoked, err = a.revokeUserSessions(ctx, u.ID, uuid.Nil, domain.RevokeByAdmin, now); err != nil {
				return err
			}
		}
		out = u
		return recordAudit(ctx, a.Audit, a.IDs, a.Clock, c, domain.ActionUserUpdated, "user", u.ID.String(), nil,
			map[string]any{"fields": changed})
	})
	if err != nil {
		return nil, err
	}
	return out, a.announce(ctx, revoked, now)
}

func (d *Directory) keepASystemAdmin(ctx context.Context) error {
	n, err := d.dir.CountActiveAdmins(ctx)
	if err != nil {
		return err
	}
	if n <= 1 {
		return domain.ErrLastSystemAdmin
	}
	return nil
}

// keepOrgAdmins refuses to erase the last admin of any organization: the
// organization would be left with nobody to manage it.
func (d *Directory) keepOrgAdmins(ctx context.Context, userID uuid.UUID) error {
	ms, err := d.members.ByUser(ctx, userID)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if m.Role != domain.RoleAdmin {
			continue
		}
		n, err := d.members.LockAdmins(ctx, m.OrgID)
		if err != nil {
			return err
		}
		if n <= 1 {
			return domain.ErrLastOrgAdmin
		}
	}
	return nil
}

// Unlock lifts a login lock on the user.
func (d *Directory) Unlock(ctx context.Context, p domain.Principal, id uuid.UUID) error {
	c, err := d.policy.RequireSystemAdmin(ctx, p)
	if err != nil {
		return err
	}
	a := d.auth
	if err := a.Throttle.Reset(ctx, "user:"+id.String()); err != nil {
		return err
	}
	return a.Tx.WithinTx(ctx, func(ctx context.Context) error {
		u, err := a.Users.ByID(ctx, id)
		if err != nil {
			return err
		}
		if u.LockedUntil != nil || u.FailedLoginCount != 0 {
			u.LockedUntil, u.FailedLoginCount, u.UpdatedAt = nil, 0, a.Clock.Now()
			if err := a.Users.Update(ctx, u); err != nil {
				return err
			}
		}
		return recordAudit(ctx, a.Audit, a.IDs, a.Clock, c, domain.ActionUserUnlocked, "user", id.String(), nil, nil)
	})
}

// RevokeSessions ends every session of the user.
func (d *Directory) RevokeSessions(ctx context.Context, p domain.Principal, id uuid.UUID) error {
	c, err := d.policy.RequireSystemAdmin(ctx, p)
	if err != nil {
		return err
	}
	a := d.auth
	now := a.Clock.Now()
	var revoked []uuid.UUID
	err = a.Tx.WithinTx(ctx, func(ctx context.Context) error {
		if _, err := a.Users.ByID(ctx, id); err != nil {
			return err
		}
		var err error
		if revoked, err = a.revokeUserSessions(ctx, id, uuid.Nil, domain.RevokeByAdmin, now); err != nil {
			return err
		}
		return recordAudit(ctx, a.Audit, a.IDs, a.Clock, c, domain.ActionUserSessionsRevoked, "user", id.String(), nil,
			map[string]any{"sessions_revoked": len(revoked)})
	})
	if err != nil {
		return err
	}
	return a.announce(ctx, revoked, now)
}

// UserOrg is one organization of a user with the user's role there.
type UserOrg struct {
	Org  domain.Organization
	Role domain.Role
}

// Organizations lists the organizations a user belongs to.
func (d *Directory) Organizations(ctx context.Context, p domain.Principal, id uuid.UUID) ([]UserOrg, error) {
	if _, err := d.policy.RequireSystemAdmin(ctx, p); err != nil {
		return nil, err
	}
	if _, err := d.auth.Users.ByID(ctx, id); err != nil {
		return nil, err
	}
	ms, err := d.members.ByUser(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]UserOrg, 0, len(ms))
	for _, m := range ms {
		o, err := d.orgs.ByID(ctx, m.OrgID)
		if err != nil {
			return nil, err
		}
		out = append(out, UserOrg{Org: o, Role: m.Role})
	}
	return out, nil
}

// Erase deletes a user for an administrator (GDPR art. 17).
func (d *Directory) Erase(ctx context.Context, p domain.Principal, id uuid.UUID) error {
	c, err := d.policy.RequireSystemAdmin(ctx, p)
	if err != nil {
		return err
	}
	return d.erase(ctx, c, id)
}

// EraseMe deletes the caller's own account after checking the password.
func (d *Directory) EraseMe(ctx context.Context, p domain.Principal, password string) error {
	c, err := d.policy.Caller(ctx, p)
	if err != nil {
		return err
	}
	if err := d.auth.confirmPassword(ctx, c.User, password, "password"); err != nil {
		return err
	}
	return d.erase(ctx, c, c.User.ID)
}

// erase revokes the user's sessions (announced, so tokens die on every
// instance), deletes every row about them and pseudonymizes their audit
// trail, keeping the record that an erasure happened.
func (d *Directory) erase(ctx context.Context, c Caller, id uuid.UUID) error {
	a := d.auth
	now := a.Clock.Now()
	var revoked []uuid.UUID
	err := a.Tx.WithinTx(ctx, func(ctx context.Context) error {
		u, err := a.Users.ByID(ctx, id)
		if err != nil {
			return err
		}
		if u.IsSystemAdmin && u.IsActive {
			if err := d.keepASystemAdmin(ctx); err != nil {
				return err
			}
		}
		if err := d.keepOrgAdmins(ctx, id); err != nil {
			return err
		}
		if revoked, err = a.revokeUserSessions(ctx, id, uuid.Nil, domain.RevokeByAdmin, now); err != nil {
			return err
		}
		pseudonym := a.IDs.NewID()
		if err := d.personal.Erase(ctx, id, pseudonym); err != nil {
			return err
		}
		actor := c
		if c.User.ID == id {
			// The actor is gone too: the event names the pseudonym.
			actor = Caller{User: &domain.User{ID: pseudonym}}
		}
		return recordAudit(ctx, a.Audit, a.IDs, a.Clock, actor, domain.ActionUserErased, "user", pseudonym.String(), nil, nil)
	})
	if err != nil {
		return err
	}
	return a.announce(ctx, revoked, now)
}

// Export returns every row held about the caller (GDPR art. 15 and 20).
func (d *Directory) Export(ctx context.Context, p domain.Principal) (ports.UserExport, error) {
	c, err := d.policy.Caller(ctx, p)
	if err != nil {
		return ports.UserExport{}, err
	}
	ex, err := d.personal.Export(ctx, c.User.ID)
	if err != nil {
		return ports.UserExport{}, err
	}
	a := d.auth
	if err := recordAudit(ctx, a.Audit, a.IDs, a.Clock, c, domain.ActionUserExported, "user", c.User.ID.String(), nil, nil); err != nil {
		return ports.UserExport{}, err
	}
	return ex, nil
}

// AuditEvents lists the audit trail: everything for system admins, and
// their organization's events for org admins (who must filter by it).
func (d *Directory) AuditEvents(ctx context.Context, p domain.Principal, f ports.AuditFilter, page ports.Page) ([]domain.AuditEvent, string, error) {
	c, err := d.policy.Caller(ctx, p)
	if err != nil {
		return nil, "", err
	}
	if !c.SystemAdmin {
		if f.OrgID == nil {
			return nil, "", ErrAdminRequired
		}
		if _, _, _, err := d.policy.Org(ctx, p, *f.OrgID, OrgAuditRead); err != nil {
			return nil, "", err
		}
	}
	if f.Since != nil && f.Until != nil && !f.Since.Before(*f.Until) {
		return nil, "", domain.Invalid(domain.FieldError{Field: "until", Code: "before_since", Message: "must be after since"})
	}
	return d.auditQuery.List(ctx, f, page)
}

// AuditRetention drops audit events older than keep; it is the only
// deletion of audit rows.
func (d *Directory) AuditRetention(ctx context.Context, keep time.Duration) (int64, error) {
	if keep <= 0 {
		return 0, errors.New("audit retention must be positive")
	}
	return d.auditQuery.DeleteBefore(ctx, d.auth.Clock.Now().Add(-keep))
}

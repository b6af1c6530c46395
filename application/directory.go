package application

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// DirectoryDeps are the ports of user administration.
type DirectoryDeps struct {
	Policy       *Policy
	Registration *Registration
	Users        ports.UserRepository
	Dir          ports.UserDirectory
	Members      ports.MembershipRepository
	Orgs         ports.OrgRepository
	Personal     ports.PersonalData
	AuditQuery   ports.AuditQuery
	Tx           ports.TxManager
	Audit        ports.AuditLog
	Clock        ports.Clock
	IDs          ports.IDGenerator
	Credentials  *Credentials
	Revoker      *Revoker
	// Passkeys, when set, puts the user's passkeys in their export.
	Passkeys ports.PasskeyRepository
}

// Directory is user administration for system admins, the audit listing,
// and each user's own export and erasure.
type Directory struct {
	policy       *Policy
	registration *Registration
	users        ports.UserRepository
	dir          ports.UserDirectory
	members      ports.MembershipRepository
	orgs         ports.OrgRepository
	personal     ports.PersonalData
	auditQuery   ports.AuditQuery
	tx           ports.TxManager
	audit        ports.AuditLog
	clock        ports.Clock
	ids          ports.IDGenerator
	creds        *Credentials
	revoker      *Revoker
	passkeys     ports.PasskeyRepository
}

// NewDirectory wires user administration.
func NewDirectory(d DirectoryDeps) *Directory {
	return &Directory{policy: d.Policy, registration: d.Registration, users: d.Users, dir: d.Dir, members: d.Members,
		orgs: d.Orgs, personal: d.Personal, auditQuery: d.AuditQuery, tx: d.Tx, audit: d.Audit, clock: d.Clock,
		ids: d.IDs, creds: d.Credentials, revoker: d.Revoker, passkeys: d.Passkeys}
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

// maxNumberedPage bounds a numbered page; the old service had no bound.
const maxNumberedPage = 1000

// Numbered returns page (from 1) of perPage users in creation order and
// the total (system admins only), as the old service's clients page.
func (d *Directory) Numbered(ctx context.Context, p domain.Principal, page, perPage int) ([]domain.User, int, error) {
	if _, err := d.policy.RequireSystemAdmin(ctx, p); err != nil {
		return nil, 0, err
	}
	page, perPage = max(page, 1), min(max(perPage, 1), maxNumberedPage)
	if page > (1<<31)/perPage {
		return nil, 0, domain.Invalid(domain.FieldError{Field: "page", Code: "too_large", Message: "is past any page"})
	}
	return d.dir.Numbered(ctx, (page-1)*perPage, perPage)
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
	return d.registration.createBy(ctx, in.RegisterInput, in.IsSystemAdmin, ptr(c.ID()))
}

// Get returns one user (system admins only).
func (d *Directory) Get(ctx context.Context, p domain.Principal, id uuid.UUID) (*domain.User, error) {
	if _, err := d.policy.RequireSystemAdmin(ctx, p); err != nil {
		return nil, err
	}
	return d.users.ByID(ctx, id)
}

// UserPatch holds what an administrator may change; nil leaves a field.
type UserPatch struct {
	FirstName     *string
	LastName      *string
	IsActive      *bool
	IsSystemAdmin *bool
	EmailVerified *bool
}

// Update changes a user's profile and flags, writing only what changed.
// The last active system admin is never deactivated or demoted;
// deactivation ends every session.
func (d *Directory) Update(ctx context.Context, p domain.Principal, id uuid.UUID, in UserPatch) (*domain.User, error) {
	c, err := d.policy.RequireSystemAdmin(ctx, p)
	if err != nil {
		return nil, err
	}
	now := d.clock.Now()
	var (
		out     *domain.User
		revoked []uuid.UUID
	)
	err = d.tx.WithinTx(ctx, func(ctx context.Context) error {
		u, err := d.users.ByID(ctx, id)
		if err != nil {
			return err
		}
		if u.IsServiceAccount() && in.IsSystemAdmin != nil && *in.IsSystemAdmin {
			// A service account acts within its organization only.
			return domain.Invalid(domain.FieldError{Field: "is_system_admin", Code: "service_account",
				Message: "a service account cannot be a system administrator"})
		}
		profile, err := u.ChangeProfile(in.FirstName, in.LastName, now)
		if err != nil {
			return err
		}
		access := u.ChangeAccess(in.IsActive, in.IsSystemAdmin, in.EmailVerified, now)
		if access.LosesSystemAdmin {
			n, err := d.dir.CountActiveAdmins(ctx)
			if err != nil {
				return err
			}
			if err := domain.KeepSystemAdmin(n); err != nil {
				return err
			}
		}
		if err := d.users.SetProfile(ctx, id, profile); err != nil {
			return err
		}
		if err := d.users.SetAccess(ctx, id, access); err != nil {
			return err
		}
		if access.Deactivated() {
			if revoked, err = d.revoker.EndUserSessions(ctx, id, uuid.Nil, domain.RevokeByAdmin, now); err != nil {
				return err
			}
		}
		// Read back: the answer shows the account as stored, with
		// whatever else committed meanwhile.
		if out, err = d.users.ByID(ctx, id); err != nil {
			return err
		}
		details := map[string]any{"fields": append(profile.Fields, access.Fields...)}
		if access.Active != nil {
			// Tells a deactivation from a reactivation (webhooks).
			details["is_active"] = *access.Active
		}
		return recordAudit(ctx, d.audit, d.ids, d.clock, c.ID(), domain.ActionUserUpdated, "user", id.String(), nil, details)
	})
	if err != nil {
		return nil, err
	}
	return out, d.revoker.Announce(ctx, revoked, now)
}

// UserOrg is one organization of a user with the user's role there.
type UserOrg struct {
	Org  domain.Organization
	Role domain.Role
	// Since is when the user joined it.
	Since time.Time
}

// Organizations lists the organizations a user belongs to (system admins
// only).
func (d *Directory) Organizations(ctx context.Context, p domain.Principal, id uuid.UUID) ([]UserOrg, error) {
	if _, err := d.policy.RequireSystemAdmin(ctx, p); err != nil {
		return nil, err
	}
	return d.memberships(ctx, id)
}

// Memberships lists the organizations of a user to that user or a system
// admin.
func (d *Directory) Memberships(ctx context.Context, p domain.Principal, id uuid.UUID) ([]UserOrg, error) {
	if id == p.UserID {
		if _, err := d.policy.Caller(ctx, p); err != nil {
			return nil, err
		}
	} else if _, err := d.policy.RequireSystemAdmin(ctx, p); err != nil {
		return nil, err
	}
	return d.memberships(ctx, id)
}

func (d *Directory) memberships(ctx context.Context, id uuid.UUID) ([]UserOrg, error) {
	if _, err := d.users.ByID(ctx, id); err != nil {
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
		out = append(out, UserOrg{Org: o, Role: m.Role, Since: m.CreatedAt})
	}
	return out, nil
}

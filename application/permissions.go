package application

import (
	"context"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// Permissions manages the catalog and the global role defaults, and
// answers authorization questions.
type Permissions struct {
	policy *Policy
	perms  ports.PermissionRepository
	access ports.AccessQuery
	tx     ports.TxManager
	audit  ports.AuditLog
	clock  ports.Clock
	ids    ports.IDGenerator
}

// NewPermissions wires the catalog and the authorize API.
func NewPermissions(policy *Policy, perms ports.PermissionRepository, access ports.AccessQuery, tx ports.TxManager,
	audit ports.AuditLog, clock ports.Clock, ids ports.IDGenerator,
) *Permissions {
	return &Permissions{policy: policy, perms: perms, access: access, tx: tx, audit: audit, clock: clock, ids: ids}
}

// Catalog lists permissions; inactive ones only for system admins who ask.
func (s *Permissions) Catalog(ctx context.Context, p domain.Principal, includeInactive bool) ([]domain.Permission, error) {
	c, err := s.policy.Caller(ctx, p)
	if err != nil {
		return nil, err
	}
	return s.perms.List(ctx, includeInactive && c.SystemAdmin)
}

// PermissionInput is a catalog entry to create.
type PermissionInput struct {
	Name        string
	Description string
	Category    string
}

// Create adds a catalog entry (system admins only); creating a name that
// exists but was deactivated reactivates it.
func (s *Permissions) Create(ctx context.Context, p domain.Principal, in PermissionInput) (domain.Permission, error) {
	c, err := s.policy.RequireSystemAdmin(ctx, p)
	if err != nil {
		return domain.Permission{}, err
	}
	var fields []domain.FieldError
	name, fe := domain.ParsePermissionName("name", in.Name)
	if fe != nil {
		fields = append(fields, *fe)
	}
	desc, fe := domain.ParseDescription("description", in.Description)
	if fe != nil {
		fields = append(fields, *fe)
	}
	cat, fe := domain.ParseDescription("category", in.Category)
	if fe != nil || len(cat) > 100 {
		fields = append(fields, domain.FieldError{Field: "category", Code: "too_long", Message: "must be at most 100 characters"})
	}
	if len(fields) > 0 {
		return domain.Permission{}, domain.Invalid(fields...)
	}
	now := s.clock.Now()
	perm := domain.Permission{ID: s.ids.NewID(), Name: name, Description: desc, Category: cat, IsActive: true, CreatedAt: now, UpdatedAt: now}
	err = s.tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := s.perms.Create(ctx, perm); err != nil {
			return err
		}
		return recordAudit(ctx, s.audit, s.ids, s.clock, c.ID(), domain.ActionPermissionCreated, "permission", name, nil, nil)
	})
	return perm, err
}

// Deactivate is DELETE on a permission: it stops counting everywhere at
// once, and its role assignments and grants stay for the record.
func (s *Permissions) Deactivate(ctx context.Context, p domain.Principal, name string) error {
	c, err := s.policy.RequireSystemAdmin(ctx, p)
	if err != nil {
		return err
	}
	return s.tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := s.perms.SetActive(ctx, name, false, s.clock.Now()); err != nil {
			return err
		}
		return recordAudit(ctx, s.audit, s.ids, s.clock, c.ID(), domain.ActionPermissionDisabled, "permission", name, nil, nil)
	})
}

// GlobalRolePermissions returns a role's default permissions, which hold
// in every organization.
func (s *Permissions) GlobalRolePermissions(ctx context.Context, p domain.Principal, roleName string) ([]string, error) {
	if _, err := s.policy.Caller(ctx, p); err != nil {
		return nil, err
	}
	role, fe := domain.ParseRole("role", roleName)
	if fe != nil {
		return nil, domain.Invalid(*fe)
	}
	return s.perms.RolePermissions(ctx, nil, role)
}

// SetGlobalRolePermissions replaces a role's defaults (system admins only).
func (s *Permissions) SetGlobalRolePermissions(ctx context.Context, p domain.Principal, roleName string, names []string) ([]string, error) {
	c, err := s.policy.RequireSystemAdmin(ctx, p)
	if err != nil {
		return nil, err
	}
	return setRolePermissions(ctx, s.tx, s.perms, s.ids, s.clock, nil, roleName, names, func(ctx context.Context, role domain.Role, set []string) error {
		return recordAudit(ctx, s.audit, s.ids, s.clock, c.ID(), domain.ActionRolePermissionsSet, "role", string(role), nil,
			map[string]any{"permissions": set, "scope": "global"})
	})
}

// Check is one authorization question.
type Check struct {
	OrgID       uuid.UUID
	Permissions []string
}

// Answer is the decision for one Check.
type Answer struct {
	UserID uuid.UUID
	OrgID  uuid.UUID
	// UserActive and OrgExists tell an unknown or inactive subject and an
	// unknown organization from a plain "no"; OrgName and OrgSlug name it.
	UserActive bool
	OrgExists  bool
	OrgName    string
	OrgSlug    string
	domain.Decision
}

// Authorization limits.
const (
	maxChecks        = 100
	maxAskedPerCheck = 100
)

// Authorize answers checks for the caller, or for userID when the caller
// is a system admin, with one load of the facts for all of them.
func (s *Permissions) Authorize(ctx context.Context, p domain.Principal, userID *uuid.UUID, checks []Check) ([]Answer, error) {
	subject := p.UserID
	if userID != nil && *userID != p.UserID {
		if p.Scope != nil {
			// A token speaks for its owner only, however much the owner
			// may ask about others.
			return nil, errScopedTokenAsksForOthers
		}
		if _, err := s.policy.RequireSystemAdmin(ctx, p); err != nil {
			return nil, err
		}
		subject = *userID
	}
	if len(checks) == 0 || len(checks) > maxChecks {
		return nil, domain.Invalid(domain.FieldError{Field: "checks", Code: "invalid_count", Message: "between 1 and 100 checks"})
	}
	var fields []domain.FieldError
	orgIDs := make([]uuid.UUID, 0, len(checks))
	for _, c := range checks {
		if len(c.Permissions) > maxAskedPerCheck {
			fields = append(fields, domain.FieldError{Field: "permissions", Code: "too_many", Message: "at most 100 permissions per check"})
		}
		for _, name := range c.Permissions {
			if _, fe := domain.ParsePermissionName("permissions", name); fe != nil {
				fields = append(fields, *fe)
				break
			}
		}
		orgIDs = append(orgIDs, c.OrgID)
	}
	if len(fields) > 0 {
		return nil, domain.Invalid(fields...)
	}
	facts, err := s.access.Facts(ctx, subject, orgIDs)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	out := make([]Answer, len(checks))
	for i, c := range checks {
		f := facts[c.OrgID]
		out[i] = Answer{UserID: subject, OrgID: c.OrgID, UserActive: f.UserActive, OrgExists: f.OrgExists,
			OrgName: f.OrgName, OrgSlug: f.OrgSlug, Decision: domain.DecideScoped(f, c.Permissions, now, p.Scope, c.OrgID)}
	}
	return out, nil
}

// errScopedTokenAsksForOthers refuses a personal access token's question
// about another user.
var errScopedTokenAsksForOthers = &domain.Error{Kind: domain.KindForbidden, Code: "personal_token_not_allowed",
	Message: "a personal access token answers for its owner only"}

// MyPermissions lists the caller's effective permissions in an
// organization; one they do not belong to is 404.
func (s *Permissions) MyPermissions(ctx context.Context, p domain.Principal, orgID uuid.UUID) (Answer, error) {
	facts, err := s.access.Facts(ctx, p.UserID, []uuid.UUID{orgID})
	if err != nil {
		return Answer{}, err
	}
	f := facts[orgID]
	if !f.UserActive {
		return Answer{}, domain.ErrInvalidToken
	}
	d := domain.DecideScoped(f, nil, s.clock.Now(), p.Scope, orgID)
	if !d.Allowed && len(d.Permissions) == 0 {
		// Neither a member nor holding a grant there: not theirs to see.
		return Answer{}, domain.ErrOrgNotFound
	}
	return Answer{UserID: p.UserID, OrgID: orgID, Decision: d}, nil
}

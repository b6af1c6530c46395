package application

import (
	"context"

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

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

package application

import (
	"context"
	"errors"
	"time"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// AuditEvents lists the audit trail: everything for system admins, and
// their organization's events for org admins (who must filter by it). Only
// system admins see where other actors' requests came from (IP and user
// agent): an org admin sees them for their own acts only.
func (d *Directory) AuditEvents(ctx context.Context, p domain.Principal, f ports.AuditFilter, page ports.Page) ([]domain.AuditEvent, string, error) {
	c, err := d.policy.Caller(ctx, p)
	if err != nil {
		return nil, "", err
	}
	if !c.SystemAdmin {
		if f.OrgID == nil {
			return nil, "", domain.ErrAdminRequired
		}
		if _, _, _, err := d.policy.Org(ctx, p, *f.OrgID, OrgAuditRead); err != nil {
			return nil, "", err
		}
	}
	if f.Since != nil && f.Until != nil && !f.Since.Before(*f.Until) {
		return nil, "", domain.Invalid(domain.FieldError{Field: "until", Code: "before_since", Message: "must be after since"})
	}
	events, next, err := d.auditQuery.List(ctx, f, page)
	if err != nil || c.SystemAdmin {
		return events, next, err
	}
	for i := range events {
		hideOtherActor(&events[i], c.ID())
	}
	return events, next, nil
}

// AuditRetention drops audit events older than keep; it is the only
// deletion of audit rows.
func (d *Directory) AuditRetention(ctx context.Context, keep time.Duration) (int64, error) {
	if keep <= 0 {
		return 0, errors.New("audit retention must be positive")
	}
	return d.auditQuery.DeleteBefore(ctx, d.clock.Now().Add(-keep))
}

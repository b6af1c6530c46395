package application

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

func (r *flaskRun) memberships(ctx context.Context, snap ports.FlaskSnapshot) error {
	known, err := r.known(ctx, ports.LegacyMembership)
	if err != nil {
		return err
	}
	for _, m := range snap.Memberships {
		if _, ok := known[m.ID]; ok {
			r.rep.Existing[ImportMemberships]++
			continue
		}
		userID, orgID, reason := r.userAndLab(m.UserID, m.LabID)
		role, fe := domain.ParseRole("role", strings.ToLower(strings.TrimSpace(m.Role)))
		switch {
		case reason != "":
		case !m.IsActive:
			// UMS has no inactive memberships; an inactive one conferred
			// nothing in the old service, and neither do its grants.
			reason = "inactive membership: it conferred nothing in the old service"
		case fe != nil:
			reason = fmt.Sprintf("invalid role %q", m.Role)
		default:
			if _, err := r.d.Members.Get(ctx, orgID, userID); err == nil {
				reason = "duplicate membership"
			} else if !errors.Is(err, domain.ErrMembershipNotFound) {
				return err
			}
		}
		if reason != "" {
			r.rep.skip(ImportMemberships, m.ID, "%s", reason)
			continue
		}
		joined := timeOr(m.JoinedAt, r.d.Clock.Now())
		if err := r.d.Members.Add(ctx, domain.Membership{OrgID: orgID, UserID: userID, Role: role, CreatedAt: joined, UpdatedAt: joined}); err != nil {
			return fmt.Errorf("lab membership %d: %w", m.ID, err)
		}
		if err := r.remember(ctx, ports.LegacyMembership, m.ID, uuid.Nil); err != nil {
			return err
		}
		r.rep.Imported[ImportMemberships]++
	}
	return nil
}

// userAndLab translates old user and lab ids, or says which is missing.
func (r *flaskRun) userAndLab(oldUser, oldLab int64) (uuid.UUID, uuid.UUID, string) {
	u, ok := r.ids[ports.LegacyUser][oldUser]
	if !ok {
		return uuid.Nil, uuid.Nil, fmt.Sprintf("user %d was not imported", oldUser)
	}
	l, ok := r.ids[ports.LegacyLab][oldLab]
	if !ok {
		return uuid.Nil, uuid.Nil, fmt.Sprintf("lab %d was not imported", oldLab)
	}
	return u, l, ""
}

func (r *flaskRun) roleAttributes(ctx context.Context, snap ports.FlaskSnapshot) error {
	known, err := r.known(ctx, ports.LegacyRoleAttribute)
	if err != nil {
		return err
	}
	for _, ra := range snap.RoleAttributes {
		if _, ok := known[ra.ID]; ok {
			r.rep.Existing[ImportRolePerms]++
			continue
		}
		role, fe := domain.ParseRole("role", strings.ToLower(strings.TrimSpace(ra.Role)))
		name, ok := r.perms[ra.AttributeID]
		var orgID *uuid.UUID
		reason := ""
		switch {
		case fe != nil:
			reason = fmt.Sprintf("invalid role %q", ra.Role)
		case !ok:
			reason = fmt.Sprintf("attribute %d was not imported", ra.AttributeID)
		case ra.LabID != nil:
			id, ok := r.ids[ports.LegacyLab][*ra.LabID]
			if !ok {
				reason = fmt.Sprintf("lab %d was not imported", *ra.LabID)
			}
			orgID = &id
		}
		if reason != "" {
			r.rep.skip(ImportRolePerms, ra.ID, "%s", reason)
			continue
		}
		id := r.d.IDs.NewID()
		added, err := r.d.Ledger.AddRolePermission(ctx, id, orgID, role, name, timeOr(ra.GrantedAt, r.d.Clock.Now()))
		if err != nil {
			return fmt.Errorf("role attribute %d: %w", ra.ID, err)
		}
		if !added {
			r.rep.skip(ImportRolePerms, ra.ID, "duplicate role attribute")
			continue
		}
		if err := r.remember(ctx, ports.LegacyRoleAttribute, ra.ID, id); err != nil {
			return err
		}
		r.rep.Imported[ImportRolePerms]++
	}
	return nil
}

func (r *flaskRun) userAttributes(ctx context.Context, snap ports.FlaskSnapshot) error {
	known, err := r.known(ctx, ports.LegacyUserAttribute)
	if err != nil {
		return err
	}
	for _, ua := range snap.UserAttributes {
		if _, ok := known[ua.ID]; ok {
			r.rep.Existing[ImportGrants]++
			continue
		}
		userID, orgID, reason := r.userAndLab(ua.UserID, ua.LabID)
		name, ok := r.perms[ua.AttributeID]
		if reason == "" && !ok {
			reason = fmt.Sprintf("attribute %d was not imported", ua.AttributeID)
		}
		if reason == "" {
			// UMS gives direct grants to members only; the old service
			// did not check.
			switch _, err := r.d.Members.Get(ctx, orgID, userID); {
			case errors.Is(err, domain.ErrMembershipNotFound):
				reason = fmt.Sprintf("user %d is not a member of lab %d: direct grants go to members only", ua.UserID, ua.LabID)
			case err != nil:
				return err
			}
		}
		if reason != "" {
			r.rep.skip(ImportGrants, ua.ID, "%s", reason)
			continue
		}
		var grantedBy *uuid.UUID
		if ua.GrantedBy != nil {
			if id, ok := r.ids[ports.LegacyUser][*ua.GrantedBy]; ok {
				grantedBy = &id
			}
		}
		g := domain.Grant{ID: r.d.IDs.NewID(), OrgID: orgID, UserID: userID, Permission: name, IsActive: ua.IsActive,
			ExpiresAt: utc(ua.ExpiresAt), GrantedBy: grantedBy, CreatedAt: timeOr(ua.GrantedAt, r.d.Clock.Now())}
		if err := r.d.Perms.AddGrant(ctx, g); err != nil {
			return fmt.Errorf("user attribute %d: %w", ua.ID, err)
		}
		if err := r.remember(ctx, ports.LegacyUserAttribute, ua.ID, g.ID); err != nil {
			return err
		}
		r.rep.Imported[ImportGrants]++
	}
	return nil
}

func (r *flaskRun) auditLogs(ctx context.Context, snap ports.FlaskSnapshot) error {
	known, err := r.known(ctx, ports.LegacyAuditLog)
	if err != nil {
		return err
	}
	for _, a := range snap.AuditLogs {
		if _, ok := known[a.ID]; ok {
			r.rep.Existing[ImportAuditEvents]++
			continue
		}
		outcome := domain.OutcomeSuccess
		if !a.Success {
			outcome = domain.OutcomeFailure
		}
		ev := domain.AuditEvent{ID: r.d.IDs.NewID(), OccurredAt: timeOr(a.CreatedAt, r.d.Clock.Now()),
			Action: legacyAction(a.Action), Outcome: outcome, TargetType: "legacy",
			IP: truncateRunes(a.IP, 64), UserAgent: truncateRunes(a.UserAgent, 512)}
		details := map[string]any{"legacy_id": a.ID, "legacy_action": a.Action}
		if a.UserID != nil {
			details["legacy_user_id"] = *a.UserID
			if id, ok := r.ids[ports.LegacyUser][*a.UserID]; ok {
				ev.ActorID = &id
			}
		}
		r.auditTarget(&ev, a, details)
		if d := strings.TrimSpace(a.Details); d != "" {
			var v any
			if json.Unmarshal([]byte(d), &v) == nil {
				details["details"] = v
			} else {
				details["details"] = truncateRunes(d, 4000)
			}
		}
		ev.Details = details
		if err := r.d.Audit.Record(ctx, ev); err != nil {
			return fmt.Errorf("audit log %d: %w", a.ID, err)
		}
		if err := r.remember(ctx, ports.LegacyAuditLog, a.ID, ev.ID); err != nil {
			return err
		}
		r.rep.Imported[ImportAuditEvents]++
	}
	return nil
}

// auditTarget names an old audit row's resource the UMS way: a user or a
// lab the import carried over by its new id (and a lab as the event's
// organization), anything else by its old type and id.
func (r *flaskRun) auditTarget(ev *domain.AuditEvent, a ports.FlaskAuditLog, details map[string]any) {
	kind := strings.ToLower(strings.TrimSpace(a.ResourceType))
	if kind != "" {
		ev.TargetType = truncateRunes(kind, 50)
		details["legacy_resource_type"] = a.ResourceType
	}
	if a.ResourceID == nil {
		return
	}
	details["legacy_resource_id"] = *a.ResourceID
	ev.TargetID = fmt.Sprint(*a.ResourceID)
	switch kind {
	case "user":
		if id, ok := r.ids[ports.LegacyUser][*a.ResourceID]; ok {
			ev.TargetID = id.String()
		}
	case "lab":
		if id, ok := r.ids[ports.LegacyLab][*a.ResourceID]; ok {
			ev.TargetType, ev.TargetID, ev.OrgID = "organization", id.String(), &id
		}
	}
}

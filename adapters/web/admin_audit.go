package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// auditRow is one audit event as the table shows it.
type auditRow struct {
	At         time.Time
	Action     string
	Outcome    string
	ActorID    string
	Actor      string
	TargetType string
	TargetID   string
	Target     string
	OrgID      string
	Org        string
	IP         string
	UserAgent  string
	Details    string
}

// auditData is the audit page: the filters as typed, one page of events.
type auditData struct {
	Action string
	Actor  string
	Target string
	OrgID  string
	From   string
	To     string
	// Orgs are the organizations a caller who is not a system admin may
	// choose from (the application lists their events only by
	// organization).
	Orgs  []domain.Organization
	Rows  []auditRow
	Next  string
	First string
	// Links to user pages are for system admins.
	UserLinks bool
}

// adminAudit reads the audit trail through Directory.AuditEvents: system
// admins see everything; others must choose an organization they
// administer (the policy answers 403 without one, 404 for one they are not
// in), and see where requests came from for their own acts only.
func (p *Pages) adminAudit(c echo.Context) error {
	ctx, pr := c.Request().Context(), principal(c)
	sys := isSystemAdmin(c)
	d := auditData{Action: strings.TrimSpace(c.QueryParam("action")), Actor: strings.TrimSpace(c.QueryParam("actor")),
		Target: strings.TrimSpace(c.QueryParam("target")), OrgID: strings.TrimSpace(c.QueryParam("org_id")),
		From: c.QueryParam("from"), To: c.QueryParam("to"), UserLinks: sys}
	cursor := c.QueryParam("cursor")
	fields := map[string]string{}
	f := ports.AuditFilter{Action: d.Action, TargetID: d.Target}
	if d.Actor != "" {
		id, msg, err := p.findUser(c, d.Actor)
		if err != nil {
			return err
		}
		if msg != "" {
			fields["actor"] = msg
		} else {
			f.ActorID = &id
		}
	}
	if d.OrgID != "" {
		id, err := uuid.Parse(d.OrgID)
		if err != nil {
			fields["org_id"] = "Must be an organization id."
		} else {
			f.OrgID = &id
		}
	}
	var ok bool
	if f.Since, ok = parseLocalTime(d.From); !ok {
		fields["from"] = "Must be a date and time such as 2030-01-31T17:00."
	}
	if f.Until, ok = parseLocalTime(d.To); !ok {
		fields["to"] = "Must be a date and time such as 2030-01-31T17:00."
	}
	if len(cursor) > 512 {
		cursor = ""
	}
	v := view{Title: "Audit log", Fields: fields}
	status := http.StatusOK
	if !sys {
		// The organizations to choose from; the policy decides the rest.
		orgs, _, err := p.d.Orgs.List(ctx, pr, "", ports.Page{Limit: 200})
		if err != nil {
			return err
		}
		d.Orgs = orgs
	}
	if len(fields) > 0 {
		status, v.Error = http.StatusUnprocessableEntity, "Check the filters marked below."
		v.Data = d
		return p.render(c, status, "admin_audit", v)
	}
	events, next, err := p.d.Directory.AuditEvents(ctx, pr, f, ports.Page{Cursor: cursor})
	if err != nil {
		var de *domain.Error
		if domain.KindOf(err) != domain.KindInvalid || !errors.As(err, &de) {
			return err
		}
		v.Error = "Check the filters marked below."
		for _, fe := range de.Fields {
			switch fe.Field {
			case "since":
				fields["from"] = sentence(fe.Message)
			case "until":
				fields["to"] = sentence(fe.Message)
			default:
				v.Error = "This page link is no longer valid: start again from the first page."
			}
		}
		v.Data = d
		return p.render(c, http.StatusUnprocessableEntity, "admin_audit", v)
	}
	names := p.actorNames(c, events, f.OrgID, sys)
	orgNames := map[uuid.UUID]string{}
	for _, e := range events {
		r := auditRow{At: e.OccurredAt, Action: e.Action, Outcome: string(e.Outcome), TargetType: e.TargetType,
			TargetID: e.TargetID, IP: e.IP, UserAgent: e.UserAgent}
		if e.ActorID != nil {
			r.ActorID, r.Actor = e.ActorID.String(), names[*e.ActorID]
		}
		if e.TargetType == "user" {
			if id, err := uuid.Parse(e.TargetID); err == nil {
				r.Target = names[id]
			}
		}
		if e.OrgID != nil {
			r.OrgID, r.Org = e.OrgID.String(), p.orgName(c, orgNames, *e.OrgID)
		}
		if len(e.Details) > 0 {
			if b, err := json.Marshal(e.Details); err == nil {
				r.Details = string(b)
			}
		}
		d.Rows = append(d.Rows, r)
	}
	query := url.Values{"action": {d.Action}, "actor": {d.Actor}, "target": {d.Target}, "org_id": {d.OrgID},
		"from": {d.From}, "to": {d.To}}
	if next != "" {
		d.Next = pageLink("/ui/admin/audit", query, next)
	}
	if cursor != "" {
		d.First = pageLink("/ui/admin/audit", query, "")
	}
	v.Data = d
	return p.render(c, status, "admin_audit", v)
}

// actorNames labels the users the events name with their email addresses,
// through what the caller may read: the directory for a system admin, the
// organization's members for an org admin. A user it cannot name keeps
// its id.
func (p *Pages) actorNames(c echo.Context, events []domain.AuditEvent, org *uuid.UUID, sys bool) map[uuid.UUID]string {
	ctx, pr := c.Request().Context(), principal(c)
	names := map[uuid.UUID]string{}
	if !sys {
		if org == nil {
			return names
		}
		members, _, err := p.d.Orgs.Members(ctx, pr, *org, ports.Page{Limit: 200})
		if err != nil {
			return names
		}
		for _, m := range members {
			names[m.UserID] = m.Email
		}
		return names
	}
	tried := map[uuid.UUID]bool{}
	look := func(id uuid.UUID) {
		if tried[id] || len(tried) >= 100 {
			return
		}
		tried[id] = true
		if u, err := p.d.Directory.Get(ctx, pr, id); err == nil {
			names[id] = u.Email().String()
		}
	}
	for _, e := range events {
		if e.ActorID != nil {
			look(*e.ActorID)
		}
		if e.TargetType == "user" {
			if id, err := uuid.Parse(e.TargetID); err == nil {
				look(id)
			}
		}
	}
	return names
}

// orgName names an organization an event happened in, read through
// Orgs.Get (so only one the caller may see); "" when it cannot.
func (p *Pages) orgName(c echo.Context, names map[uuid.UUID]string, id uuid.UUID) string {
	if name, ok := names[id]; ok {
		return name
	}
	names[id] = ""
	if len(names) <= 50 {
		if o, err := p.d.Orgs.Get(c.Request().Context(), principal(c), id); err == nil {
			names[id] = o.Name
		}
	}
	return names[id]
}

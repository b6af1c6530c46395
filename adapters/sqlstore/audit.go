package sqlstore

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

type auditRow struct {
	bun.BaseModel `bun:"table:audit_events"`

	ID         uuid.UUID      `bun:"id,pk,type:uuid"`
	OccurredAt time.Time      `bun:"occurred_at"`
	ActorID    *uuid.UUID     `bun:"actor_id,type:uuid"`
	Action     string         `bun:"action"`
	TargetType string         `bun:"target_type"`
	TargetID   string         `bun:"target_id"`
	OrgID      *uuid.UUID     `bun:"org_id,type:uuid"`
	Outcome    string         `bun:"outcome"`
	IP         string         `bun:"ip"`
	UserAgent  string         `bun:"user_agent"`
	RequestID  string         `bun:"request_id"`
	Details    map[string]any `bun:"details,type:jsonb,nullzero"`
}

// AuditLog appends audit events to the audit_events table.
type AuditLog struct{ db *DB }

var _ ports.AuditLog = (*AuditLog)(nil)

// NewAuditLog returns an AuditLog on db.
func NewAuditLog(db *DB) *AuditLog { return &AuditLog{db: db} }

// Record implements ports.AuditLog.
func (a *AuditLog) Record(ctx context.Context, e domain.AuditEvent) error {
	details := make(map[string]any, len(e.Details)+1)
	for k, v := range e.Details {
		details[k] = v
	}
	if e.Via != "" {
		details["via"] = e.Via
	}
	row := &auditRow{
		ID: e.ID, OccurredAt: e.OccurredAt.UTC(), ActorID: e.ActorID, Action: e.Action,
		TargetType: e.TargetType, TargetID: e.TargetID, OrgID: e.OrgID, Outcome: string(e.Outcome),
		IP: e.IP, UserAgent: e.UserAgent, RequestID: e.RequestID, Details: details,
	}
	if _, err := conn(ctx, a.db).NewInsert().Model(row).Exec(ctx); err != nil {
		return dbError("record audit event", err)
	}
	return nil
}

// Recent returns the latest n events, newest first. It serves tests and the
// audit API of a later issue.
func (a *AuditLog) Recent(ctx context.Context, n int) ([]domain.AuditEvent, error) {
	var rows []auditRow
	if err := conn(ctx, a.db).NewSelect().Model(&rows).OrderExpr("occurred_at DESC, id DESC").Limit(int64(n)).Scan(ctx); err != nil {
		return nil, dbError("list audit events", err)
	}
	out := make([]domain.AuditEvent, len(rows))
	for i, r := range rows {
		out[i] = domain.AuditEvent{
			ID: r.ID, OccurredAt: r.OccurredAt.UTC(), ActorID: r.ActorID, Action: r.Action,
			TargetType: r.TargetType, TargetID: r.TargetID, OrgID: r.OrgID, Outcome: domain.Outcome(r.Outcome),
			IP: r.IP, UserAgent: r.UserAgent, RequestID: r.RequestID, Details: r.Details,
		}
	}
	return out, nil
}

package sqlstore

import (
	"context"
	"time"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// auditCursorList names audit cursors, so no other list accepts them.
const auditCursorList = "audit"

// AuditQuery reads the audit_events table, newest first.
type AuditQuery struct{ db *DB }

var _ ports.AuditQuery = (*AuditQuery)(nil)

// NewAuditQuery returns an AuditQuery on db.
func NewAuditQuery(db *DB) *AuditQuery { return &AuditQuery{db: db} }

// List implements ports.AuditQuery: Since is inclusive, Until exclusive.
func (a *AuditQuery) List(ctx context.Context, f ports.AuditFilter, p ports.Page) ([]domain.AuditEvent, string, error) {
	limit := dirPageLimit(p.Limit)
	var rows []auditRow
	q := conn(ctx, a.db).NewSelect().Model(&rows)
	if p.Cursor != "" {
		c, err := decodeDirCursor(p.Cursor, auditCursorList)
		if err != nil {
			return nil, "", err
		}
		at, err := parseDirTimeKey(c.Key)
		if err != nil {
			return nil, "", err
		}
		q = q.Where("(occurred_at, id) < (?, ?)", at, c.ID)
	}
	if f.ActorID != nil {
		q = q.Where("actor_id = ?", *f.ActorID)
	}
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if f.OrgID != nil {
		q = q.Where("org_id = ?", *f.OrgID)
	}
	if f.TargetID != "" {
		q = q.Where("target_id = ?", f.TargetID)
	}
	if f.Since != nil {
		q = q.Where("occurred_at >= ?", f.Since.UTC())
	}
	if f.Until != nil {
		q = q.Where("occurred_at < ?", f.Until.UTC())
	}
	if err := q.OrderExpr("occurred_at DESC, id DESC").Limit(int64(limit + 1)).Scan(ctx); err != nil {
		return nil, "", dbError("list audit events", err)
	}

	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		next = encodeDirCursor(dirCursor{List: auditCursorList, Key: dirTimeKey(last.OccurredAt), ID: last.ID})
	}
	return auditEvents(rows), next, nil
}

// DeleteBefore implements ports.AuditQuery.
func (a *AuditQuery) DeleteBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := conn(ctx, a.db).NewDelete().Model((*auditRow)(nil)).Where("occurred_at < ?", cutoff.UTC()).Exec(ctx)
	if err != nil {
		return 0, dbError("delete audit events", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, dbError("delete audit events", err)
	}
	return n, nil
}

// auditEvents maps stored rows as AuditLog.Recent does.
func auditEvents(rows []auditRow) []domain.AuditEvent {
	out := make([]domain.AuditEvent, len(rows))
	for i, r := range rows {
		out[i] = domain.AuditEvent{
			ID: r.ID, OccurredAt: r.OccurredAt.UTC(), ActorID: r.ActorID, Action: r.Action,
			TargetType: r.TargetType, TargetID: r.TargetID, OrgID: r.OrgID, Outcome: domain.Outcome(r.Outcome),
			IP: r.IP, UserAgent: r.UserAgent, RequestID: r.RequestID, Details: r.Details,
		}
	}
	return out
}

package domain

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Outcome says whether an audited action succeeded.
type Outcome string

// Audit outcomes.
const (
	OutcomeSuccess Outcome = "success"
	OutcomeFailure Outcome = "failure"
)

// Audit actions recorded so far. Names are stable: they are queried by
// operators and other services.
const (
	ActionUserRegistered = "user.registered"
	ActionAdminCreated   = "user.admin_created"
)

// AuditEvent is one append-only record of a security-relevant action.
type AuditEvent struct {
	ID         uuid.UUID
	OccurredAt time.Time
	ActorID    *uuid.UUID
	Action     string
	TargetType string
	TargetID   string
	OrgID      *uuid.UUID
	Outcome    Outcome
	IP         string
	UserAgent  string
	RequestID  string
	// Via names the API the request came through when it was not the
	// main one ("legacy_api"); stores keep it with the details.
	Via string
	// Details carries action-specific facts. It must never hold a secret.
	Details map[string]any
	// Subject is the user an event is about when the stored record must
	// not name them: an erasure's record names a pseudonym. Stores never
	// keep it; webhooks tell client services whose copy to erase.
	Subject *uuid.UUID
}

// RequestInfo describes where a request came from, for audit and sessions.
type RequestInfo struct {
	IP        string
	UserAgent string
	RequestID string
	// Via names a driving adapter other than the main API.
	Via string
}

type requestInfoKey struct{}

// WithRequestInfo attaches request facts to ctx; the driving adapter does
// this once per request.
func WithRequestInfo(ctx context.Context, ri RequestInfo) context.Context {
	return context.WithValue(ctx, requestInfoKey{}, ri)
}

// RequestInfoFrom returns the request facts in ctx, or the zero value for
// calls that did not come over the network (CLI).
func RequestInfoFrom(ctx context.Context) RequestInfo {
	ri, _ := ctx.Value(requestInfoKey{}).(RequestInfo)
	return ri
}

// NewAuditEvent fills an event's request facts from ctx.
func NewAuditEvent(ctx context.Context, id uuid.UUID, now time.Time, action string, outcome Outcome) AuditEvent {
	ri := RequestInfoFrom(ctx)
	return AuditEvent{
		ID: id, OccurredAt: now, Action: action, Outcome: outcome,
		IP: ri.IP, UserAgent: ri.UserAgent, RequestID: ri.RequestID, Via: ri.Via,
	}
}

package application

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// WebhookInterest knows, in memory, what the enabled endpoints ask for,
// so recording an event nobody could want costs no query: the sign-in path
// records an event per attempt. The picture is reloaded from the store
// when older than its TTL and at once after this instance changes an
// endpoint (Invalidate). An endpoint made or enabled on another instance
// is seen here within the TTL: events recorded here meanwhile are not
// sent to it, the one window in which an event is not queued.
type WebhookInterest struct {
	subs  ports.WebhookEndpointRepository
	clock ports.Clock
	ttl   time.Duration

	snap       atomic.Pointer[interestSnapshot]
	refreshing atomic.Bool
	// generation counts Invalidate calls, so a read that began before one
	// is not kept after it.
	generation atomic.Uint64
}

type interestSnapshot struct {
	loaded time.Time
	subs   []ports.WebhookSubscription
}

// NewWebhookInterest reads subscriptions from subs, keeping them for ttl.
func NewWebhookInterest(subs ports.WebhookEndpointRepository, clock ports.Clock, ttl time.Duration) *WebhookInterest {
	return &WebhookInterest{subs: subs, clock: clock, ttl: ttl}
}

// Invalidate makes the next question reload the subscriptions.
func (i *WebhookInterest) Invalidate() {
	i.generation.Add(1)
	i.snap.Store(nil)
}

// Wants reports whether an enabled endpoint could want an event of
// eventType in orgID (nil: no organization).
func (i *WebhookInterest) Wants(ctx context.Context, eventType string, orgID *uuid.UUID) (bool, error) {
	s, err := i.current(ctx)
	if err != nil {
		return false, err
	}
	for _, sub := range s.subs {
		if domain.WebhookSubscribed(sub.OrgID, sub.Events, eventType, orgID) {
			return true, nil
		}
	}
	return false, nil
}

// current returns the picture, reading it when missing or stale. Nobody
// waits on anybody: a reader that holds a pooled connection or a
// transaction never blocks on another that needs one. While one caller
// refreshes a stale picture, the others use it as it is.
func (i *WebhookInterest) current(ctx context.Context) (*interestSnapshot, error) {
	s := i.snap.Load()
	if s != nil && i.fresh(s) {
		return s, nil
	}
	if s != nil {
		if !i.refreshing.CompareAndSwap(false, true) {
			return s, nil
		}
		defer i.refreshing.Store(false)
	}
	gen := i.generation.Load()
	subs, err := i.subs.Subscriptions(ctx)
	if err != nil {
		return nil, fmt.Errorf("load webhook subscriptions: %w", err)
	}
	next := &interestSnapshot{loaded: i.clock.Now(), subs: subs}
	// An Invalidate that came meanwhile wins: this read may predate the
	// change behind it.
	if i.generation.Load() == gen {
		i.snap.CompareAndSwap(s, next)
	}
	return next, nil
}

func (i *WebhookInterest) fresh(s *interestSnapshot) bool {
	age := i.clock.Now().Sub(s.loaded)
	return age >= 0 && age < i.ttl
}

// WebhookAudit is the audit log that also queues webhook events: an
// audited action that makes a webhook event (domain.WebhookEventOf) and
// that an endpoint could want is written to the outbox in the same
// transaction as its audit record, so the event goes out if and only if
// the action committed.
type WebhookAudit struct {
	inner    ports.AuditLog
	outbox   ports.WebhookOutbox
	tx       ports.TxManager
	interest *WebhookInterest
}

var _ ports.AuditLog = (*WebhookAudit)(nil)

// NewWebhookAudit decorates inner.
func NewWebhookAudit(inner ports.AuditLog, outbox ports.WebhookOutbox, tx ports.TxManager, interest *WebhookInterest) *WebhookAudit {
	return &WebhookAudit{inner: inner, outbox: outbox, tx: tx, interest: interest}
}

// Record implements ports.AuditLog.
func (w *WebhookAudit) Record(ctx context.Context, e domain.AuditEvent) error {
	ev, ok := domain.WebhookEventOf(e)
	if !ok {
		return w.inner.Record(ctx, e)
	}
	want, err := w.interest.Wants(ctx, ev.Type, ev.OrgID)
	if err != nil {
		return err
	}
	if !want {
		return w.inner.Record(ctx, e)
	}
	payload, err := webhookPayload(e, ev)
	if err != nil {
		return err
	}
	// Joins the action's transaction; an event recorded outside one
	// (a failed sign-in) gets its own, audit record and message together.
	return w.tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := w.inner.Record(ctx, e); err != nil {
			return err
		}
		return w.outbox.Enqueue(ctx, ports.WebhookMessage{ID: e.ID, EventType: ev.Type, OrgID: ev.OrgID,
			Payload: payload, CreatedAt: e.OccurredAt})
	})
}

// webhookPayload is the body every endpoint gets for the event, in the
// Standard Webhooks shape: type, timestamp, data. Data holds ids and the
// event's enumerated facts, never personal data or secrets.
func webhookPayload(e domain.AuditEvent, ev domain.WebhookEvent) ([]byte, error) {
	data := map[string]any{
		"audit_event_id": e.ID.String(),
		"actor_id":       idOrNil(ev.ActorID),
		"user_id":        idOrNil(ev.UserID),
		"org_id":         idOrNil(ev.OrgID),
		"target_type":    ev.TargetType,
		"target_id":      ev.TargetID,
	}
	for k, v := range ev.Facts {
		data[k] = v
	}
	b, err := json.Marshal(map[string]any{
		"type": ev.Type, "timestamp": e.OccurredAt.UTC().Format(time.RFC3339Nano), "data": data,
	})
	if err != nil {
		return nil, fmt.Errorf("webhook payload: %w", err)
	}
	return b, nil
}

func idOrNil(id *uuid.UUID) any {
	if id == nil {
		return nil
	}
	return id.String()
}

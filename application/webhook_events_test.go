package application_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// fakeSubscriptions answers Subscriptions and counts the reads; the rest
// of the port is not used by the decorator.
type fakeSubscriptions struct {
	ports.WebhookEndpointRepository
	mu    sync.Mutex
	subs  []ports.WebhookSubscription
	reads int
}

func (f *fakeSubscriptions) Subscriptions(context.Context) ([]ports.WebhookSubscription, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	return append([]ports.WebhookSubscription(nil), f.subs...), nil
}

func (f *fakeSubscriptions) set(subs ...ports.WebhookSubscription) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subs = subs
}

func (f *fakeSubscriptions) readCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.reads
}

// fakeOutbox records enqueued messages and whether each saw a
// transaction.
type fakeOutbox struct {
	ports.WebhookOutbox
	mu   sync.Mutex
	msgs []ports.WebhookMessage
	inTx []bool
	fail error
}

func (f *fakeOutbox) Enqueue(ctx context.Context, m ports.WebhookMessage) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return f.fail
	}
	f.msgs = append(f.msgs, m)
	f.inTx = append(f.inTx, inTx(ctx))
	return nil
}

type webhookAuditWorld struct {
	db       *memDB
	subs     *fakeSubscriptions
	outbox   *fakeOutbox
	clock    *movingClock
	interest *application.WebhookInterest
	audit    *application.WebhookAudit
}

func newWebhookAuditWorld() *webhookAuditWorld {
	w := &webhookAuditWorld{db: newMemDB(), subs: &fakeSubscriptions{}, outbox: &fakeOutbox{},
		clock: &movingClock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}}
	w.interest = application.NewWebhookInterest(w.subs, w.clock, 5*time.Second)
	w.audit = application.NewWebhookAudit(fakeAudit{db: w.db}, w.outbox, fakeTx{db: w.db}, w.interest)
	return w
}

func loginEvent(user uuid.UUID) domain.AuditEvent {
	e := domain.NewAuditEvent(context.Background(), uuid.New(), time.Now(), domain.ActionLoginSucceeded, domain.OutcomeSuccess)
	e.ActorID, e.TargetType, e.TargetID = &user, "session", uuid.NewString()
	return e
}

func TestWebhookAuditSkipsTheOutboxWhenNobodyListens(t *testing.T) {
	w := newWebhookAuditWorld()
	for range 100 {
		require.NoError(t, w.audit.Record(context.Background(), loginEvent(uuid.New())))
	}
	assert.Len(t, w.db.events, 100, "every event is audited")
	assert.Empty(t, w.outbox.msgs)
	assert.Equal(t, 1, w.subs.readCount(), "one read for the lot: the hot path asks memory")
	for _, tx := range w.db.recordInTx {
		assert.False(t, tx, "no transaction opened for nothing")
	}
}

func TestWebhookAuditQueuesInTheActionsTransaction(t *testing.T) {
	w := newWebhookAuditWorld()
	w.subs.set(ports.WebhookSubscription{Events: []string{}})
	user := uuid.New()
	e := domain.NewAuditEvent(context.Background(), uuid.New(), time.Date(2030, 1, 1, 0, 0, 0, 5, time.UTC),
		domain.ActionUserRegistered, domain.OutcomeSuccess)
	e.ActorID, e.TargetType, e.TargetID = &user, "user", user.String()
	e.Details = map[string]any{"email": "ada@example.com"}
	require.NoError(t, w.audit.Record(context.Background(), e))

	require.Len(t, w.outbox.msgs, 1)
	m := w.outbox.msgs[0]
	assert.Equal(t, e.ID, m.ID, "the message is the audit event's")
	assert.Equal(t, domain.WebhookUserCreated, m.EventType)
	assert.True(t, w.outbox.inTx[0], "queued in a transaction")
	assert.True(t, w.db.recordInTx[0], "with the audit record")
	var payload map[string]any
	require.NoError(t, json.Unmarshal(m.Payload, &payload))
	assert.Equal(t, "user.created", payload["type"])
	assert.Equal(t, "2030-01-01T00:00:00.000000005Z", payload["timestamp"])
	assert.Equal(t, map[string]any{"audit_event_id": e.ID.String(), "actor_id": user.String(), "user_id": user.String(),
		"org_id": nil, "target_type": "user", "target_id": user.String()}, payload["data"], "ids only: no email")

	// A failing queue fails the action: its audit record goes too.
	w.outbox.fail = errors.New("disk full")
	before := len(w.db.events)
	require.Error(t, w.audit.Record(context.Background(), loginEvent(user)))
	assert.Len(t, w.db.events, before, "rolled back together")
}

func TestWebhookAuditAsksWhetherAnEndpointWantsTheEvent(t *testing.T) {
	w := newWebhookAuditWorld()
	orgA, orgB := uuid.New(), uuid.New()
	w.subs.set(ports.WebhookSubscription{OrgID: &orgA, Events: []string{domain.WebhookMembershipCreated}})
	member := func(org uuid.UUID) domain.AuditEvent {
		e := domain.NewAuditEvent(context.Background(), uuid.New(), time.Now(), domain.ActionMemberAdded, domain.OutcomeSuccess)
		u := uuid.New()
		e.ActorID, e.TargetType, e.TargetID, e.OrgID, e.Details = &u, "user", u.String(), &org, map[string]any{"role": "member"}
		return e
	}
	require.NoError(t, w.audit.Record(context.Background(), member(orgB)))
	require.NoError(t, w.audit.Record(context.Background(), loginEvent(uuid.New())))
	assert.Empty(t, w.outbox.msgs, "another organization's event, and one of no organization")
	require.NoError(t, w.audit.Record(context.Background(), member(orgA)))
	require.Len(t, w.outbox.msgs, 1)
	assert.Equal(t, &orgA, w.outbox.msgs[0].OrgID)
}

func TestWebhookInterestRefreshesAfterItsTTLOrAtOnceWhenInvalidated(t *testing.T) {
	w := newWebhookAuditWorld()
	require.NoError(t, w.audit.Record(context.Background(), loginEvent(uuid.New())))
	w.subs.set(ports.WebhookSubscription{Events: []string{}})
	require.NoError(t, w.audit.Record(context.Background(), loginEvent(uuid.New())))
	assert.Empty(t, w.outbox.msgs, "an endpoint made on another instance is seen within the TTL, not at once")
	w.clock.Advance(5 * time.Second)
	require.NoError(t, w.audit.Record(context.Background(), loginEvent(uuid.New())))
	assert.Len(t, w.outbox.msgs, 1, "seen once the TTL passed")

	w.subs.set()
	w.interest.Invalidate()
	require.NoError(t, w.audit.Record(context.Background(), loginEvent(uuid.New())))
	assert.Len(t, w.outbox.msgs, 1, "this instance's own change is seen at once")
	assert.Equal(t, 3, w.subs.readCount())
}

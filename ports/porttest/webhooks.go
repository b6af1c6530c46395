package porttest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// WebhookStore is what the webhook contract suite needs from an adapter:
// the endpoint repository, the outbox, organizations to own endpoints and
// transactions.
type WebhookStore struct {
	Endpoints ports.WebhookEndpointRepository
	Outbox    ports.WebhookOutbox
	Orgs      ports.OrgRepository
	Tx        ports.TxManager
}

// whBase is a fixed instant in whole microseconds.
var whBase = time.Date(2030, 10, 11, 12, 13, 14, 123456000, time.UTC)

const whLease = time.Minute

// RunWebhooks runs the contracts of ports.WebhookEndpointRepository and
// ports.WebhookOutbox against the store newStore returns; every subtest
// gets a fresh, empty store.
func RunWebhooks(t *testing.T, newStore func(t *testing.T) WebhookStore) {
	t.Run("endpoints", func(t *testing.T) { runWebhookEndpoints(t, newStore) })
	t.Run("outbox", func(t *testing.T) { runWebhookOutbox(t, newStore) })
	t.Run("claims", func(t *testing.T) { runWebhookClaims(t, newStore) })
}

// NewTestEndpoint stores an enabled endpoint of org (nil: a system one)
// signing with secret, created at, and returns it.
func NewTestEndpoint(t *testing.T, s WebhookStore, org *uuid.UUID, secret string, at time.Time, events ...string) domain.WebhookEndpoint {
	t.Helper()
	if events == nil {
		events = []string{}
	}
	e := domain.WebhookEndpoint{ID: uuid.Must(uuid.NewV7()), OrgID: org, URL: "https://hooks.example.com/" + uuid.NewString(),
		Description: "receiver", Events: events, Enabled: true, CreatedAt: at, UpdatedAt: at}
	require.NoError(t, s.Endpoints.Create(context.Background(), e, secret, testEndpointLimit))
	return e
}

// testEndpointLimit is the endpoint limit of tests not about the limit.
const testEndpointLimit = 1000

// enqueueMessage queues a message of type and org made at, returning it.
func enqueueMessage(t *testing.T, s WebhookStore, eventType string, org *uuid.UUID, at time.Time) ports.WebhookMessage {
	t.Helper()
	m := ports.WebhookMessage{ID: uuid.Must(uuid.NewV7()), EventType: eventType, OrgID: org,
		Payload: []byte(`{"type":"` + eventType + `","data":{"n": 1}}`), CreatedAt: at}
	require.NoError(t, s.Outbox.Enqueue(context.Background(), m))
	return m
}

// pendingDelivery is a new delivery of m to endpoint e, due at.
func pendingDelivery(e domain.WebhookEndpoint, m ports.WebhookMessage, at time.Time) domain.WebhookDelivery {
	return domain.WebhookDelivery{ID: uuid.Must(uuid.NewV7()), EndpointID: e.ID, MessageID: m.ID, EventType: m.EventType,
		Status: domain.DeliveryPending, NextAttemptAt: &at, CreatedAt: at}
}

func whOrg(t *testing.T, s WebhookStore) domain.Organization {
	t.Helper()
	org := NewOrg("wh-"+uuid.NewString()[:8], whBase)
	require.NoError(t, s.Orgs.Create(context.Background(), org))
	return org
}

func runWebhookEndpoints(t *testing.T, newStore func(t *testing.T) WebhookStore) {
	ctx := context.Background()

	t.Run("round_trip_without_secrets", func(t *testing.T) {
		s := newStore(t)
		org := whOrg(t, s)
		e := NewTestEndpoint(t, s, &org.ID, "whsec_c2VjcmV0", whBase, domain.WebhookUserCreated, domain.WebhookLoginFailed)
		got, err := s.Endpoints.ByID(ctx, e.ID)
		require.NoError(t, err)
		assert.Equal(t, e, got)
		sys := NewTestEndpoint(t, s, nil, "whsec_b3RoZXI=", whBase)
		got, err = s.Endpoints.ByID(ctx, sys.ID)
		require.NoError(t, err)
		assert.Nil(t, got.OrgID)
		assert.Equal(t, []string{}, got.Events, "no filter comes back as an empty list")

		_, err = s.Endpoints.ByID(ctx, uuid.New())
		assert.ErrorIs(t, err, domain.ErrWebhookNotFound)
		assert.ErrorIs(t, s.Endpoints.Create(ctx, domain.WebhookEndpoint{ID: uuid.New(), OrgID: ptrTo(uuid.New()),
			URL: "https://x.example", Events: []string{}, Enabled: true, CreatedAt: whBase, UpdatedAt: whBase}, "s", testEndpointLimit),
			domain.ErrOrgNotFound, "an unknown organization")
	})

	t.Run("list_filters_and_pages", func(t *testing.T) {
		s := newStore(t)
		a, b := whOrg(t, s), whOrg(t, s)
		var all []uuid.UUID
		for i := range 5 {
			org := &a.ID
			switch i % 3 {
			case 1:
				org = &b.ID
			case 2:
				org = nil
			}
			all = append(all, NewTestEndpoint(t, s, org, "s", whBase.Add(time.Duration(i)*time.Second)).ID)
		}
		var got []uuid.UUID
		cursor := ""
		for {
			page, next, err := s.Endpoints.List(ctx, ports.WebhookEndpointFilter{}, ports.Page{Limit: 2, Cursor: cursor})
			require.NoError(t, err)
			for _, e := range page {
				got = append(got, e.ID)
			}
			if next == "" {
				break
			}
			cursor = next
		}
		assert.Equal(t, all, got, "oldest first, every page")

		onlyA, _, err := s.Endpoints.List(ctx, ports.WebhookEndpointFilter{OrgID: &a.ID}, ports.Page{})
		require.NoError(t, err)
		assert.Equal(t, []uuid.UUID{all[0], all[3]}, webhookIDs(onlyA))
		ab, _, err := s.Endpoints.List(ctx, ports.WebhookEndpointFilter{OrgIDs: []uuid.UUID{a.ID, b.ID}}, ports.Page{})
		require.NoError(t, err)
		assert.Equal(t, []uuid.UUID{all[0], all[1], all[3], all[4]}, webhookIDs(ab), "system endpoints are no organization's")
		none, next, err := s.Endpoints.List(ctx, ports.WebhookEndpointFilter{OrgIDs: []uuid.UUID{}}, ports.Page{})
		require.NoError(t, err)
		assert.Empty(t, none)
		assert.Empty(t, next)

		_, _, err = s.Endpoints.List(ctx, ports.WebhookEndpointFilter{}, ports.Page{Cursor: "bm9wZQ"})
		requireInvalidCursor(t, err)
	})

	t.Run("update_writes_only_what_it_names", func(t *testing.T) {
		s := newStore(t)
		e := NewTestEndpoint(t, s, nil, "s", whBase, domain.WebhookUserCreated)
		later := whBase.Add(time.Hour)
		desc := "new words"
		require.NoError(t, s.Endpoints.Update(ctx, e.ID, domain.WebhookEndpointChange{Description: &desc, At: later}))
		got, err := s.Endpoints.ByID(ctx, e.ID)
		require.NoError(t, err)
		want := e
		want.Description, want.UpdatedAt = desc, later
		assert.Equal(t, want, got)

		events := []string{domain.WebhookUserErased}
		u := "https://other.example.com/hook"
		require.NoError(t, s.Endpoints.Update(ctx, e.ID, domain.WebhookEndpointChange{URL: &u, Events: &events, At: later}))
		got, err = s.Endpoints.ByID(ctx, e.ID)
		require.NoError(t, err)
		assert.Equal(t, u, got.URL)
		assert.Equal(t, events, got.Events)
		assert.Equal(t, desc, got.Description)

		assert.ErrorIs(t, s.Endpoints.Update(ctx, uuid.New(), domain.WebhookEndpointChange{Description: &desc, At: later}),
			domain.ErrWebhookNotFound)
	})

	t.Run("concurrent_updates_of_different_fields_all_stay", func(t *testing.T) {
		s := newStore(t)
		e := NewTestEndpoint(t, s, nil, "s", whBase)
		for round := range 15 {
			u := fmt.Sprintf("https://hooks.example.com/%d", round)
			desc := fmt.Sprintf("round %d", round)
			events := []string{domain.WebhookEventTypes[round%len(domain.WebhookEventTypes)]}
			enabled := round%2 == 0
			at := whBase.Add(time.Duration(round) * time.Second)
			errs := oauthRace(4, func(i int) error {
				return s.Tx.WithinTx(ctx, func(ctx context.Context) error {
					var ch domain.WebhookEndpointChange
					switch i {
					case 0:
						ch.URL = &u
					case 1:
						ch.Description = &desc
					case 2:
						ch.Events = &events
					default:
						ch.Enabled = &enabled
					}
					ch.At = at
					return s.Endpoints.Update(ctx, e.ID, ch)
				})
			})
			for _, err := range errs {
				require.NoError(t, err)
			}
			got, err := s.Endpoints.ByID(ctx, e.ID)
			require.NoError(t, err)
			assert.Equal(t, u, got.URL, "round %d", round)
			assert.Equal(t, desc, got.Description, "round %d", round)
			assert.Equal(t, events, got.Events, "round %d", round)
			assert.Equal(t, enabled, got.Enabled, "round %d", round)
		}
	})

	t.Run("enable_disable_and_the_failure_record", func(t *testing.T) {
		s := newStore(t)
		e := NewTestEndpoint(t, s, nil, "s", whBase)
		t0 := whBase.Add(time.Minute)
		require.NoError(t, s.Endpoints.RecordFailure(ctx, e.ID, t0))
		require.NoError(t, s.Endpoints.RecordFailure(ctx, e.ID, t0.Add(time.Minute)), "a running record keeps its start")
		got, err := s.Endpoints.ByID(ctx, e.ID)
		require.NoError(t, err)
		require.NotNil(t, got.FailingSince)
		assert.Equal(t, t0, *got.FailingSince)

		ok, err := s.Endpoints.DisableFailing(ctx, e.ID, t0.Add(-time.Second), t0.Add(time.Hour))
		require.NoError(t, err)
		assert.False(t, ok, "not failing long enough")
		require.NoError(t, s.Endpoints.RecordSuccess(ctx, e.ID))
		ok, err = s.Endpoints.DisableFailing(ctx, e.ID, t0.Add(time.Hour), t0.Add(time.Hour))
		require.NoError(t, err)
		assert.False(t, ok, "a success ended the record")

		require.NoError(t, s.Endpoints.RecordFailure(ctx, e.ID, t0))
		ok, err = s.Endpoints.DisableFailing(ctx, e.ID, t0, t0.Add(time.Hour))
		require.NoError(t, err)
		assert.True(t, ok)
		got, err = s.Endpoints.ByID(ctx, e.ID)
		require.NoError(t, err)
		assert.False(t, got.Enabled)
		assert.Equal(t, domain.WebhookDisabledFailing, got.DisabledReason)
		ok, err = s.Endpoints.DisableFailing(ctx, e.ID, t0, t0.Add(time.Hour))
		require.NoError(t, err)
		assert.False(t, ok, "disabled once")

		off := false
		require.NoError(t, s.Endpoints.Update(ctx, e.ID, domain.WebhookEndpointChange{Enabled: &off, At: t0}))
		got, _ = s.Endpoints.ByID(ctx, e.ID)
		assert.Equal(t, domain.WebhookDisabledFailing, got.DisabledReason, "disabling again keeps the first reason")
		on := true
		require.NoError(t, s.Endpoints.Update(ctx, e.ID, domain.WebhookEndpointChange{Enabled: &on, At: t0}))
		got, _ = s.Endpoints.ByID(ctx, e.ID)
		assert.True(t, got.Enabled)
		assert.Empty(t, got.DisabledReason)
		assert.Nil(t, got.FailingSince, "enabling starts afresh")
		require.NoError(t, s.Endpoints.Update(ctx, e.ID, domain.WebhookEndpointChange{Enabled: &off, At: t0}))
		got, _ = s.Endpoints.ByID(ctx, e.ID)
		assert.Equal(t, domain.WebhookDisabledManually, got.DisabledReason)
	})

	t.Run("concurrent_disables_have_one_winner", func(t *testing.T) {
		s := newStore(t)
		for round := range 10 {
			e := NewTestEndpoint(t, s, nil, "s", whBase)
			require.NoError(t, s.Endpoints.RecordFailure(ctx, e.ID, whBase))
			var mu sync.Mutex
			wins := 0
			errs := oauthRace(4, func(int) error {
				ok, err := s.Endpoints.DisableFailing(ctx, e.ID, whBase.Add(time.Hour), whBase.Add(time.Hour))
				if ok {
					mu.Lock()
					wins++
					mu.Unlock()
				}
				return err
			})
			for _, err := range errs {
				require.NoError(t, err)
			}
			assert.Equal(t, 1, wins, "round %d", round)
		}
	})

	t.Run("concurrent_creations_never_pass_the_limit_of_their_scope", func(t *testing.T) {
		s := newStore(t)
		const limit, racers = 3, 8
		create := func(org *uuid.UUID) error {
			return s.Endpoints.Create(ctx, domain.WebhookEndpoint{ID: uuid.Must(uuid.NewV7()), OrgID: org,
				URL: "https://hooks.example.com/" + uuid.NewString(), Events: []string{}, Enabled: true,
				CreatedAt: whBase, UpdatedAt: whBase}, "s", limit)
		}
		count := func(org *uuid.UUID) int {
			page, _, err := s.Endpoints.List(ctx, ports.WebhookEndpointFilter{OrgID: org}, ports.Page{Limit: 100})
			require.NoError(t, err)
			n := 0
			for _, e := range page {
				if (e.OrgID == nil) == (org == nil) {
					n++
				}
			}
			return n
		}
		for round := range 5 {
			a, b := whOrg(t, s), whOrg(t, s)
			scopes := []*uuid.UUID{&a.ID, &b.ID}
			if round == 0 {
				scopes = append(scopes, nil)
			}
			errs := oauthRace(racers*len(scopes), func(i int) error { return create(scopes[i%len(scopes)]) })
			made := 0
			for _, err := range errs {
				if err == nil {
					made++
					continue
				}
				require.ErrorIs(t, err, domain.ErrTooManyWebhookEndpoints)
			}
			assert.Equal(t, limit*len(scopes), made, "round %d: each scope fills to its limit, no further", round)
			for _, org := range scopes {
				assert.Equal(t, limit, count(org), "round %d", round)
			}
		}
	})

	t.Run("subscriptions_are_the_enabled_endpoints", func(t *testing.T) {
		s := newStore(t)
		org := whOrg(t, s)
		NewTestEndpoint(t, s, &org.ID, "s", whBase, domain.WebhookOrgUpdated)
		off := NewTestEndpoint(t, s, nil, "s", whBase)
		f := false
		require.NoError(t, s.Endpoints.Update(ctx, off.ID, domain.WebhookEndpointChange{Enabled: &f, At: whBase}))
		subs, err := s.Endpoints.Subscriptions(ctx)
		require.NoError(t, err)
		assert.Equal(t, []ports.WebhookSubscription{{OrgID: &org.ID, Events: []string{domain.WebhookOrgUpdated}}}, subs)
		enabled, err := s.Endpoints.Enabled(ctx)
		require.NoError(t, err)
		require.Len(t, enabled, 1)
		assert.Equal(t, &org.ID, enabled[0].OrgID)
	})

	t.Run("delete_takes_the_deliveries", func(t *testing.T) {
		s := newStore(t)
		e := NewTestEndpoint(t, s, nil, "s", whBase)
		m := enqueueMessage(t, s, domain.WebhookUserCreated, nil, whBase)
		d := pendingDelivery(e, m, whBase)
		require.NoError(t, s.Outbox.AddDeliveries(ctx, []domain.WebhookDelivery{d}))
		require.NoError(t, s.Endpoints.Delete(ctx, e.ID))
		assert.ErrorIs(t, s.Endpoints.Delete(ctx, e.ID), domain.ErrWebhookNotFound)
		_, err := s.Outbox.Delivery(ctx, e.ID, d.ID)
		assert.ErrorIs(t, err, domain.ErrDeliveryNotFound)
		assert.ErrorIs(t, s.Outbox.AddDeliveries(ctx, []domain.WebhookDelivery{pendingDelivery(e, m, whBase)}),
			domain.ErrWebhookNotFound)
	})
}

func webhookIDs(es []domain.WebhookEndpoint) []uuid.UUID {
	out := make([]uuid.UUID, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}

func ptrTo[T any](v T) *T { return &v }

func runWebhookOutbox(t *testing.T, newStore func(t *testing.T) WebhookStore) {
	ctx := context.Background()

	t.Run("messages_are_taken_once_oldest_first", func(t *testing.T) {
		s := newStore(t)
		org := whOrg(t, s)
		older := enqueueMessage(t, s, domain.WebhookOrgUpdated, &org.ID, whBase)
		newer := enqueueMessage(t, s, domain.WebhookUserCreated, nil, whBase.Add(time.Second))
		assert.ErrorIs(t, s.Outbox.Enqueue(ctx, older), domain.ErrConflict)

		var got []ports.WebhookMessage
		require.NoError(t, s.Tx.WithinTx(ctx, func(ctx context.Context) error {
			var err error
			got, err = s.Outbox.TakeMessages(ctx, whBase.Add(time.Minute), 10)
			return err
		}))
		require.Len(t, got, 2)
		assert.Equal(t, ports.WebhookMessage{ID: older.ID, EventType: older.EventType, OrgID: &org.ID, CreatedAt: whBase}, got[0])
		assert.Equal(t, newer.ID, got[1].ID)
		assert.Nil(t, got[1].OrgID)
		again, err := s.Outbox.TakeMessages(ctx, whBase.Add(time.Minute), 10)
		require.NoError(t, err)
		assert.Empty(t, again)
	})

	t.Run("a_rolled_back_take_returns_the_messages", func(t *testing.T) {
		s := newStore(t)
		m := enqueueMessage(t, s, domain.WebhookUserCreated, nil, whBase)
		boom := errors.New("boom")
		err := s.Tx.WithinTx(ctx, func(ctx context.Context) error {
			got, err := s.Outbox.TakeMessages(ctx, whBase, 10)
			require.NoError(t, err)
			require.Len(t, got, 1)
			return boom
		})
		require.ErrorIs(t, err, boom)
		got, err := s.Outbox.TakeMessages(ctx, whBase, 10)
		require.NoError(t, err)
		require.Len(t, got, 1)
		assert.Equal(t, m.ID, got[0].ID)
	})

	t.Run("concurrent_takes_never_share_a_message", func(t *testing.T) {
		s := newStore(t)
		for range 30 {
			enqueueMessage(t, s, domain.WebhookUserCreated, nil, whBase)
		}
		var mu sync.Mutex
		seen := map[uuid.UUID]int{}
		errs := oauthRace(6, func(int) error {
			for {
				var got []ports.WebhookMessage
				err := s.Tx.WithinTx(ctx, func(ctx context.Context) error {
					var err error
					got, err = s.Outbox.TakeMessages(ctx, whBase, 3)
					return err
				})
				if err != nil || len(got) == 0 {
					return err
				}
				mu.Lock()
				for _, m := range got {
					seen[m.ID]++
				}
				mu.Unlock()
			}
		})
		for _, err := range errs {
			require.NoError(t, err)
		}
		assert.Len(t, seen, 30)
		for id, n := range seen {
			assert.Equal(t, 1, n, "message %s taken %d times", id, n)
		}
	})

	t.Run("deliveries_list_newest_first_by_status", func(t *testing.T) {
		s := newStore(t)
		e := NewTestEndpoint(t, s, nil, "s", whBase)
		other := NewTestEndpoint(t, s, nil, "s", whBase)
		var ids []uuid.UUID
		for i := range 5 {
			m := enqueueMessage(t, s, domain.WebhookUserCreated, nil, whBase)
			d := pendingDelivery(e, m, whBase.Add(time.Duration(i)*time.Second))
			require.NoError(t, s.Outbox.AddDeliveries(ctx, []domain.WebhookDelivery{d, pendingDelivery(other, m, whBase)}))
			ids = append([]uuid.UUID{d.ID}, ids...)
		}
		var got []uuid.UUID
		cursor := ""
		for {
			page, next, err := s.Outbox.Deliveries(ctx, e.ID, "", ports.Page{Limit: 2, Cursor: cursor})
			require.NoError(t, err)
			for _, d := range page {
				got = append(got, d.ID)
			}
			if next == "" {
				break
			}
			cursor = next
		}
		assert.Equal(t, ids, got)

		require.NoError(t, s.Outbox.Finish(ctx, ids[0], ports.DeliveryOutcome{Status: 204, At: whBase.Add(time.Minute)}))
		done, _, err := s.Outbox.Deliveries(ctx, e.ID, domain.DeliverySucceeded, ports.Page{})
		require.NoError(t, err)
		require.Len(t, done, 1)
		assert.Equal(t, ids[0], done[0].ID)
		assert.Equal(t, 204, *done[0].LastStatus)
		assert.Nil(t, done[0].NextAttemptAt, "finished")
		_, err = s.Outbox.Delivery(ctx, other.ID, ids[0])
		assert.ErrorIs(t, err, domain.ErrDeliveryNotFound, "another endpoint's")
		_, _, err = s.Outbox.Deliveries(ctx, e.ID, "", ports.Page{Cursor: "bm9wZQ"})
		requireInvalidCursor(t, err)
	})

	t.Run("prune_keeps_what_is_pending_or_recent", func(t *testing.T) {
		s := newStore(t)
		e := NewTestEndpoint(t, s, nil, "s", whBase)
		old := enqueueMessage(t, s, domain.WebhookUserCreated, nil, whBase)
		oldPending := enqueueMessage(t, s, domain.WebhookUserCreated, nil, whBase)
		recent := enqueueMessage(t, s, domain.WebhookUserCreated, nil, whBase.Add(48*time.Hour))
		_, err := s.Outbox.TakeMessages(ctx, whBase, 10)
		require.NoError(t, err)
		done, pending := pendingDelivery(e, old, whBase), pendingDelivery(e, oldPending, whBase)
		require.NoError(t, s.Outbox.AddDeliveries(ctx, []domain.WebhookDelivery{done, pending}))
		require.NoError(t, s.Outbox.Finish(ctx, done.ID, ports.DeliveryOutcome{Status: 200, At: whBase}))

		n, err := s.Outbox.Prune(ctx, whBase.Add(24*time.Hour), 100)
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		_, err = s.Outbox.Delivery(ctx, e.ID, done.ID)
		assert.ErrorIs(t, err, domain.ErrDeliveryNotFound, "gone with its message")
		_, err = s.Outbox.Delivery(ctx, e.ID, pending.ID)
		assert.NoError(t, err)
		assert.ErrorIs(t, s.Outbox.Enqueue(ctx, recent), domain.ErrConflict, "the recent message stays")
	})
}

func runWebhookClaims(t *testing.T, newStore func(t *testing.T) WebhookStore) {
	ctx := context.Background()
	claim := func(t *testing.T, s WebhookStore, now time.Time) []ports.DueDelivery {
		t.Helper()
		got, err := s.Outbox.ClaimDeliveries(ctx, now, whLease, 10)
		require.NoError(t, err)
		return got
	}

	t.Run("claim_carries_what_sending_needs_and_hides_until_the_lease_ends", func(t *testing.T) {
		s := newStore(t)
		e := NewTestEndpoint(t, s, nil, "whsec_Y3VycmVudA==", whBase)
		m := enqueueMessage(t, s, domain.WebhookUserCreated, nil, whBase)
		d := pendingDelivery(e, m, whBase.Add(time.Second))
		require.NoError(t, s.Outbox.AddDeliveries(ctx, []domain.WebhookDelivery{d}))

		assert.Empty(t, claim(t, s, whBase), "not due yet")
		got := claim(t, s, whBase.Add(time.Second))
		require.Len(t, got, 1)
		assert.Equal(t, d.ID, got[0].ID)
		assert.Equal(t, e.URL, got[0].URL)
		assert.Equal(t, []string{"whsec_Y3VycmVudA=="}, got[0].Secrets)
		assert.Equal(t, m.Payload, got[0].Payload, "the exact bytes")
		assert.Equal(t, m.ID, got[0].MessageID)
		assert.Equal(t, 1, got[0].Attempts)

		assert.Empty(t, claim(t, s, whBase.Add(time.Second)), "claimed")
		assert.Empty(t, claim(t, s, whBase.Add(time.Second+whLease-time.Microsecond)), "lease not over")
		got = claim(t, s, whBase.Add(time.Second+whLease))
		require.Len(t, got, 1, "due again once the lease ends: its sender died")
		assert.Equal(t, 2, got[0].Attempts)
	})

	t.Run("finish_records_the_outcome", func(t *testing.T) {
		s := newStore(t)
		e := NewTestEndpoint(t, s, nil, "s", whBase)
		m := enqueueMessage(t, s, domain.WebhookUserCreated, nil, whBase)
		d := pendingDelivery(e, m, whBase)
		require.NoError(t, s.Outbox.AddDeliveries(ctx, []domain.WebhookDelivery{d}))
		require.Len(t, claim(t, s, whBase), 1)
		next := whBase.Add(10 * time.Second)
		long := strings.Repeat("é", 2000) + "\x00\n"
		require.NoError(t, s.Outbox.Finish(ctx, d.ID, ports.DeliveryOutcome{Status: 500, Error: "HTTP 500 " + long, At: whBase, Next: &next}))
		got, err := s.Outbox.Delivery(ctx, e.ID, d.ID)
		require.NoError(t, err)
		assert.Equal(t, domain.DeliveryPending, got.Status)
		assert.Equal(t, 500, *got.LastStatus)
		assert.LessOrEqual(t, utf8.RuneCountInString(got.LastError), 500, "cut short")
		assert.True(t, strings.HasPrefix(got.LastError, "HTTP 500 éé"), got.LastError)
		assert.Equal(t, next, *got.NextAttemptAt)
		assert.Empty(t, claim(t, s, next.Add(-time.Microsecond)))
		require.Len(t, claim(t, s, next), 1)

		require.NoError(t, s.Outbox.Finish(ctx, d.ID, ports.DeliveryOutcome{Error: "timeout", At: next}))
		got, err = s.Outbox.Delivery(ctx, e.ID, d.ID)
		require.NoError(t, err)
		assert.Equal(t, domain.DeliveryFailed, got.Status, "given up")
		assert.Nil(t, got.LastStatus, "no answer")
		assert.Equal(t, "timeout", got.LastError)
		assert.Equal(t, 2, got.Attempts)
		assert.Equal(t, next, *got.FinishedAt)
		assert.Empty(t, claim(t, s, next.Add(365*24*time.Hour)), "never claimed again")
		require.NoError(t, s.Outbox.Finish(ctx, d.ID, ports.DeliveryOutcome{Status: 200, At: next}))
		got, _ = s.Outbox.Delivery(ctx, e.ID, d.ID)
		assert.Equal(t, domain.DeliveryFailed, got.Status, "a finished delivery stays as it is")
	})

	t.Run("release_makes_due_without_counting", func(t *testing.T) {
		s := newStore(t)
		e := NewTestEndpoint(t, s, nil, "s", whBase)
		d := pendingDelivery(e, enqueueMessage(t, s, domain.WebhookUserCreated, nil, whBase), whBase)
		require.NoError(t, s.Outbox.AddDeliveries(ctx, []domain.WebhookDelivery{d}))
		require.Len(t, claim(t, s, whBase), 1)
		require.NoError(t, s.Outbox.Release(ctx, d.ID, whBase))
		got := claim(t, s, whBase)
		require.Len(t, got, 1)
		assert.Equal(t, 1, got[0].Attempts)
	})

	t.Run("disabled_endpoints_are_not_claimed", func(t *testing.T) {
		s := newStore(t)
		e := NewTestEndpoint(t, s, nil, "s", whBase)
		d := pendingDelivery(e, enqueueMessage(t, s, domain.WebhookUserCreated, nil, whBase), whBase)
		require.NoError(t, s.Outbox.AddDeliveries(ctx, []domain.WebhookDelivery{d}))
		off, on := false, true
		require.NoError(t, s.Endpoints.Update(ctx, e.ID, domain.WebhookEndpointChange{Enabled: &off, At: whBase}))
		assert.Empty(t, claim(t, s, whBase))
		require.NoError(t, s.Endpoints.Update(ctx, e.ID, domain.WebhookEndpointChange{Enabled: &on, At: whBase}))
		assert.Len(t, claim(t, s, whBase), 1, "sent once enabled again")
	})

	t.Run("rotation_signs_with_both_secrets_during_the_overlap", func(t *testing.T) {
		s := newStore(t)
		e := NewTestEndpoint(t, s, nil, "whsec_b2xk", whBase)
		until := whBase.Add(time.Hour)
		require.NoError(t, s.Endpoints.RotateSecret(ctx, e.ID, "whsec_bmV3", until, whBase))
		m := enqueueMessage(t, s, domain.WebhookUserCreated, nil, whBase)
		m2 := enqueueMessage(t, s, domain.WebhookUserCreated, nil, whBase)
		d1, d2 := pendingDelivery(e, m, whBase), pendingDelivery(e, m2, until)
		require.NoError(t, s.Outbox.AddDeliveries(ctx, []domain.WebhookDelivery{d1, d2}))
		got := claim(t, s, whBase)
		require.Len(t, got, 1)
		assert.Equal(t, []string{"whsec_bmV3", "whsec_b2xk"}, got[0].Secrets, "the new one first")
		require.NoError(t, s.Outbox.Finish(ctx, d1.ID, ports.DeliveryOutcome{Status: 200, At: whBase}))
		got = claim(t, s, until)
		require.Len(t, got, 1)
		assert.Equal(t, []string{"whsec_bmV3"}, got[0].Secrets, "the overlap is over")

		require.NoError(t, s.Endpoints.RotateSecret(ctx, e.ID, "whsec_bmV3ZXI=", until, until))
		d3 := pendingDelivery(e, m, until.Add(whLease))
		require.NoError(t, s.Outbox.AddDeliveries(ctx, []domain.WebhookDelivery{d3}))
		require.NoError(t, s.Outbox.Finish(ctx, d2.ID, ports.DeliveryOutcome{Status: 200, At: until}))
		got = claim(t, s, until.Add(whLease))
		require.Len(t, got, 1)
		assert.Equal(t, []string{"whsec_bmV3ZXI="}, got[0].Secrets, "no overlap: the old one stops at once")
		assert.ErrorIs(t, s.Endpoints.RotateSecret(ctx, uuid.New(), "x", until, whBase), domain.ErrWebhookNotFound)
	})

	t.Run("rotation_is_refused_while_the_previous_secret_signs", func(t *testing.T) {
		s := newStore(t)
		e := NewTestEndpoint(t, s, nil, "whsec_b3JpZ2luYWw=", whBase)
		until := whBase.Add(time.Hour)
		require.NoError(t, s.Endpoints.RotateSecret(ctx, e.ID, "whsec_Zmlyc3Q=", until, whBase))
		err := s.Endpoints.RotateSecret(ctx, e.ID, "whsec_c2Vjb25k", until.Add(time.Hour), until.Add(-time.Microsecond))
		require.ErrorIs(t, err, domain.ErrRotationInProgress, "the original secret still signs")
		assert.Contains(t, err.Error(), until.Truncate(time.Second).Add(time.Second).Format(time.RFC3339),
			"says when the overlap ends, rounded up to the second")
		m := enqueueMessage(t, s, domain.WebhookUserCreated, nil, whBase)
		d := pendingDelivery(e, m, whBase)
		require.NoError(t, s.Outbox.AddDeliveries(ctx, []domain.WebhookDelivery{d}))
		got := claim(t, s, whBase)
		require.Len(t, got, 1)
		assert.Equal(t, []string{"whsec_Zmlyc3Q=", "whsec_b3JpZ2luYWw="}, got[0].Secrets, "the refused rotation changed nothing")
		ep, err := s.Endpoints.ByID(ctx, e.ID)
		require.NoError(t, err)
		assert.Equal(t, until, *ep.PreviousSecretExpiresAt)

		require.NoError(t, s.Endpoints.RotateSecret(ctx, e.ID, "whsec_c2Vjb25k", until.Add(time.Hour), until),
			"the overlap is over")
		require.NoError(t, s.Outbox.Finish(ctx, d.ID, ports.DeliveryOutcome{Status: 200, At: until}))
		d2 := pendingDelivery(e, m, until)
		require.NoError(t, s.Outbox.AddDeliveries(ctx, []domain.WebhookDelivery{d2}))
		got = claim(t, s, until)
		require.Len(t, got, 1)
		assert.Equal(t, []string{"whsec_c2Vjb25k", "whsec_Zmlyc3Q="}, got[0].Secrets)

		// Without an overlap nothing keeps signing, so nothing blocks.
		other := NewTestEndpoint(t, s, nil, "s", whBase)
		require.NoError(t, s.Endpoints.RotateSecret(ctx, other.ID, "a", whBase, whBase))
		require.NoError(t, s.Endpoints.RotateSecret(ctx, other.ID, "b", whBase, whBase))
	})

	t.Run("concurrent_rotations_have_one_winner", func(t *testing.T) {
		s := newStore(t)
		for round := range 5 {
			e := NewTestEndpoint(t, s, nil, "whsec_b3JpZ2luYWw=", whBase)
			secrets := []string{"whsec_YQ==", "whsec_Yg==", "whsec_Yw==", "whsec_ZA=="}
			errs := oauthRace(len(secrets), func(i int) error {
				return s.Tx.WithinTx(ctx, func(ctx context.Context) error {
					return s.Endpoints.RotateSecret(ctx, e.ID, secrets[i], whBase.Add(time.Hour), whBase)
				})
			})
			winner := -1
			for i, err := range errs {
				if err == nil {
					assert.Equal(t, -1, winner, "round %d: a second rotation won", round)
					winner = i
					continue
				}
				require.ErrorIs(t, err, domain.ErrRotationInProgress, "round %d", round)
			}
			require.NotEqual(t, -1, winner, "round %d: one rotation wins", round)
			d := pendingDelivery(e, enqueueMessage(t, s, domain.WebhookUserCreated, nil, whBase), whBase)
			require.NoError(t, s.Outbox.AddDeliveries(ctx, []domain.WebhookDelivery{d}))
			got := claim(t, s, whBase)
			require.Len(t, got, 1)
			assert.Equal(t, []string{secrets[winner], "whsec_b3JpZ2luYWw="}, got[0].Secrets,
				"round %d: the original secret still signs", round)
			require.NoError(t, s.Outbox.Finish(ctx, d.ID, ports.DeliveryOutcome{Status: 200, At: whBase}))
		}
	})

	t.Run("one_pending_delivery_per_endpoint_and_message", func(t *testing.T) {
		s := newStore(t)
		e := NewTestEndpoint(t, s, nil, "s", whBase)
		other := NewTestEndpoint(t, s, nil, "s", whBase)
		m := enqueueMessage(t, s, domain.WebhookUserCreated, nil, whBase)
		d := pendingDelivery(e, m, whBase)
		require.NoError(t, s.Outbox.AddDeliveries(ctx, []domain.WebhookDelivery{d, pendingDelivery(other, m, whBase)}),
			"fan-out: one per endpoint")
		replay := func(of domain.WebhookDelivery) domain.WebhookDelivery {
			r := pendingDelivery(e, m, whBase)
			r.ReplayOf = &of.ID
			return r
		}
		early := replay(d)
		assert.ErrorIs(t, s.Outbox.AddDeliveries(ctx, []domain.WebhookDelivery{early}), domain.ErrReplayPending,
			"the original is still pending")
		_, err := s.Outbox.Delivery(ctx, e.ID, early.ID)
		assert.ErrorIs(t, err, domain.ErrDeliveryNotFound, "nothing stored")
		require.NoError(t, s.Outbox.AddDeliveries(ctx,
			[]domain.WebhookDelivery{pendingDelivery(e, enqueueMessage(t, s, domain.WebhookUserCreated, nil, whBase), whBase)}),
			"another message")

		require.NoError(t, s.Outbox.Finish(ctx, d.ID, ports.DeliveryOutcome{Status: 200, At: whBase}))
		r1 := replay(d)
		require.NoError(t, s.Outbox.AddDeliveries(ctx, []domain.WebhookDelivery{r1}))
		assert.ErrorIs(t, s.Outbox.AddDeliveries(ctx, []domain.WebhookDelivery{replay(d)}), domain.ErrReplayPending,
			"the first replay is pending")
		require.NoError(t, s.Outbox.Finish(ctx, r1.ID, ports.DeliveryOutcome{Error: "HTTP 500", At: whBase}))
		require.NoError(t, s.Outbox.AddDeliveries(ctx, []domain.WebhookDelivery{replay(r1)}), "the replay failed: again")
	})

	t.Run("concurrent_replays_leave_one_pending", func(t *testing.T) {
		s := newStore(t)
		e := NewTestEndpoint(t, s, nil, "s", whBase)
		for round := range 5 {
			m := enqueueMessage(t, s, domain.WebhookUserCreated, nil, whBase)
			d := pendingDelivery(e, m, whBase)
			require.NoError(t, s.Outbox.AddDeliveries(ctx, []domain.WebhookDelivery{d}))
			require.NoError(t, s.Outbox.Finish(ctx, d.ID, ports.DeliveryOutcome{Status: 200, At: whBase}))
			const racers = 6
			errs := oauthRace(racers, func(int) error {
				r := pendingDelivery(e, m, whBase)
				r.ReplayOf = &d.ID
				return s.Tx.WithinTx(ctx, func(ctx context.Context) error {
					return s.Outbox.AddDeliveries(ctx, []domain.WebhookDelivery{r})
				})
			})
			made := 0
			for _, err := range errs {
				if err == nil {
					made++
					continue
				}
				require.ErrorIs(t, err, domain.ErrReplayPending, "round %d", round)
			}
			assert.Equal(t, 1, made, "round %d", round)
			pending, _, err := s.Outbox.Deliveries(ctx, e.ID, domain.DeliveryPending, ports.Page{Limit: 100})
			require.NoError(t, err)
			require.Len(t, pending, 1, "round %d: one pending replay", round)
			assert.Equal(t, &d.ID, pending[0].ReplayOf)
			require.NoError(t, s.Outbox.Finish(ctx, pending[0].ID, ports.DeliveryOutcome{Status: 200, At: whBase}))
		}
	})

	t.Run("concurrent_claims_never_share_a_delivery", func(t *testing.T) {
		s := newStore(t)
		e := NewTestEndpoint(t, s, nil, "s", whBase)
		for round := range 5 {
			var ds []domain.WebhookDelivery
			for range 12 {
				ds = append(ds, pendingDelivery(e, enqueueMessage(t, s, domain.WebhookUserCreated, nil, whBase), whBase))
			}
			require.NoError(t, s.Outbox.AddDeliveries(ctx, ds))
			var mu sync.Mutex
			seen := map[uuid.UUID]int{}
			errs := oauthRace(4, func(int) error {
				for {
					got, err := s.Outbox.ClaimDeliveries(ctx, whBase, whLease, 2)
					if err != nil || len(got) == 0 {
						return err
					}
					mu.Lock()
					for _, d := range got {
						seen[d.ID]++
					}
					mu.Unlock()
				}
			})
			for _, err := range errs {
				require.NoError(t, err)
			}
			assert.Len(t, seen, len(ds), "round %d", round)
			for id, n := range seen {
				assert.Equal(t, 1, n, "round %d: delivery %s claimed %d times", round, id, n)
			}
			for _, d := range ds {
				require.NoError(t, s.Outbox.Finish(ctx, d.ID, ports.DeliveryOutcome{Status: 200, At: whBase}))
			}
		}
	})
}

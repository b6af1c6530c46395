package application

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// WebhookDeliveryConfig is the delivery policy.
type WebhookDeliveryConfig struct {
	// Timeout bounds one request.
	Timeout time.Duration
	// RetryBase is the wait after the first failure; each further one
	// doubles it (with jitter), up to a day.
	RetryBase time.Duration
	// MaxAttempts gives a delivery up after so many tries.
	MaxAttempts int
	// DisableAfter disables an endpoint whose deliveries kept failing,
	// without a success, for this long; 0 never does.
	DisableAfter time.Duration
	// Retention is how long delivered messages and their log are kept;
	// 0 keeps them.
	Retention time.Duration
}

// Bounds of the worker.
const (
	webhookConcurrency = 4
	webhookBatch       = 4 * webhookConcurrency
	webhookBackoffMax  = 24 * time.Hour
	webhookPruneEvery  = time.Hour
	webhookPruneBatch  = 500
	// webhookFinishTimeout bounds recording an outcome after a shutdown
	// cancelled the worker's context.
	webhookFinishTimeout = 5 * time.Second
)

// WebhookWorker fans queued events out to the endpoints that want them and
// delivers them, signed, with retries and exponential backoff; it
// disables endpoints that keep failing. Several instances may run it on
// one database: claims never hand one delivery to two of them.
type WebhookWorker struct {
	outbox    ports.WebhookOutbox
	endpoints ports.WebhookEndpointRepository
	sender    ports.WebhookSender
	tx        ports.TxManager
	audit     ports.AuditLog
	clock     ports.Clock
	ids       ports.IDGenerator
	interest  *WebhookInterest
	cfg       WebhookDeliveryConfig
	lease     time.Duration
	lastPrune time.Time
	// Jitter returns a number in [0, 1) that spreads retries.
	Jitter func() float64
	// OnError hears failed deliveries and the worker's own failures
	// (delivery uuid.Nil), for the log.
	OnError func(delivery uuid.UUID, attempt int, err error)
}

// NewWebhookWorker wires the delivery worker.
func NewWebhookWorker(outbox ports.WebhookOutbox, endpoints ports.WebhookEndpointRepository, sender ports.WebhookSender,
	tx ports.TxManager, audit ports.AuditLog, clock ports.Clock, ids ports.IDGenerator, interest *WebhookInterest,
	cfg WebhookDeliveryConfig,
) *WebhookWorker {
	// A claim outlives the slowest batch: each of the concurrent senders
	// sends its share one after another.
	lease := time.Duration(webhookBatch/webhookConcurrency+1)*cfg.Timeout + 30*time.Second
	return &WebhookWorker{outbox: outbox, endpoints: endpoints, sender: sender, tx: tx, audit: audit, clock: clock,
		ids: ids, interest: interest, cfg: cfg, lease: lease, Jitter: rand.Float64,
		OnError: func(uuid.UUID, int, error) {}}
}

// Run works the outbox every interval until ctx ends.
func (w *WebhookWorker) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := w.RunOnce(ctx); err != nil && ctx.Err() == nil {
			w.OnError(uuid.Nil, 0, err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunOnce fans out every waiting event, sends every due delivery and,
// now and then, prunes what the retention lets go.
func (w *WebhookWorker) RunOnce(ctx context.Context) error {
	for {
		n, err := w.FanOut(ctx)
		if err != nil {
			return err
		}
		if n < webhookBatch {
			break
		}
	}
	for ctx.Err() == nil {
		n, err := w.DeliverDue(ctx)
		if err != nil {
			return err
		}
		if n < webhookBatch {
			break
		}
	}
	return w.prune(ctx)
}

// FanOut turns up to a batch of queued events into deliveries, one per
// enabled endpoint that wants the event, in one transaction; it returns
// how many events it took.
func (w *WebhookWorker) FanOut(ctx context.Context) (int, error) {
	n := 0
	err := w.tx.WithinTx(ctx, func(ctx context.Context) error {
		now := w.clock.Now()
		msgs, err := w.outbox.TakeMessages(ctx, now, webhookBatch)
		if err != nil || len(msgs) == 0 {
			return err
		}
		n = len(msgs)
		eps, err := w.endpoints.Enabled(ctx)
		if err != nil {
			return err
		}
		var ds []domain.WebhookDelivery
		for _, m := range msgs {
			for _, e := range eps {
				if e.Wants(m.EventType, m.OrgID) {
					ds = append(ds, domain.WebhookDelivery{ID: w.ids.NewID(), EndpointID: e.ID, MessageID: m.ID,
						EventType: m.EventType, Status: domain.DeliveryPending, NextAttemptAt: &now, CreatedAt: now})
				}
			}
		}
		return w.outbox.AddDeliveries(ctx, ds)
	})
	if err != nil {
		return 0, fmt.Errorf("fan out webhook events: %w", err)
	}
	return n, nil
}

// DeliverDue claims a batch of due deliveries and sends them, a few at a
// time; it returns how many it claimed.
func (w *WebhookWorker) DeliverDue(ctx context.Context) (int, error) {
	batch, err := w.outbox.ClaimDeliveries(ctx, w.clock.Now(), w.lease, webhookBatch)
	if err != nil {
		return 0, fmt.Errorf("claim webhook deliveries: %w", err)
	}
	claimed := time.Now()
	sem := make(chan struct{}, webhookConcurrency)
	var wg sync.WaitGroup
	for _, d := range batch {
		sem <- struct{}{}
		if ctx.Err() != nil || time.Since(claimed) > w.lease/2 {
			// Shutting down, or the lease runs short: the rest go back,
			// rather than risk another instance sending them too.
			<-sem
			w.release(ctx, d)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			w.deliver(ctx, d)
		}()
	}
	wg.Wait()
	return len(batch), nil
}

func (w *WebhookWorker) release(ctx context.Context, d ports.DueDelivery) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), webhookFinishTimeout)
	defer cancel()
	if err := w.outbox.Release(ctx, d.ID, w.clock.Now()); err != nil {
		w.OnError(d.ID, d.Attempts, fmt.Errorf("release: %w", err))
	}
}

// deliver sends one delivery and records the outcome.
func (w *WebhookWorker) deliver(ctx context.Context, d ports.DueDelivery) {
	sendCtx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	status, err := w.sender.Send(sendCtx, ports.WebhookRequest{URL: d.URL, MessageID: domain.WebhookMessageID(d.MessageID),
		Timestamp: w.clock.Now(), Body: d.Payload, Secrets: d.Secrets})
	cancel()
	if ctx.Err() != nil {
		// Interrupted by shutdown, not the receiver's fault.
		w.release(ctx, d)
		return
	}
	ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), webhookFinishTimeout)
	defer cancel()
	now := w.clock.Now()
	if err == nil && status >= 200 && status < 300 {
		err := w.tx.WithinTx(ctx, func(ctx context.Context) error {
			if err := w.outbox.Finish(ctx, d.ID, ports.DeliveryOutcome{Status: status, At: now}); err != nil {
				return err
			}
			return w.endpoints.RecordSuccess(ctx, d.EndpointID)
		})
		if err != nil {
			w.OnError(d.ID, d.Attempts, fmt.Errorf("record success: %w", err))
		}
		return
	}
	reason := "HTTP " + strconv.Itoa(status)
	if err != nil {
		reason = err.Error()
	}
	w.OnError(d.ID, d.Attempts, fmt.Errorf("webhook delivery to endpoint %s failed: %s", d.EndpointID, reason))
	if err := w.failed(ctx, d, status, reason, now); err != nil {
		w.OnError(d.ID, d.Attempts, fmt.Errorf("record failure: %w", err))
	}
}

// failed records a failed attempt, schedules the next one and disables
// the endpoint when it has failed for too long.
func (w *WebhookWorker) failed(ctx context.Context, d ports.DueDelivery, status int, reason string, now time.Time) error {
	o := ports.DeliveryOutcome{Status: status, Error: reason, At: now}
	if d.Attempts < w.cfg.MaxAttempts {
		next := now.Add(w.backoff(d.Attempts))
		o.Next = &next
	}
	disabled := false
	err := w.tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := w.outbox.Finish(ctx, d.ID, o); err != nil {
			return err
		}
		if err := w.endpoints.RecordFailure(ctx, d.EndpointID, now); err != nil {
			return err
		}
		if w.cfg.DisableAfter <= 0 {
			return nil
		}
		var err error
		if disabled, err = w.endpoints.DisableFailing(ctx, d.EndpointID, now.Add(-w.cfg.DisableAfter), now); err != nil || !disabled {
			return err
		}
		return w.recordDisabled(ctx, d.EndpointID, now)
	})
	if disabled && err == nil {
		w.interest.Invalidate()
	}
	return err
}

func (w *WebhookWorker) recordDisabled(ctx context.Context, id uuid.UUID, now time.Time) error {
	e, err := w.endpoints.ByID(ctx, id)
	if err != nil {
		return err
	}
	ev := domain.NewAuditEvent(ctx, w.ids.NewID(), now, domain.ActionWebhookDisabled, domain.OutcomeSuccess)
	ev.TargetType, ev.TargetID, ev.OrgID = "webhook_endpoint", id.String(), e.OrgID
	details := map[string]any{"reason": domain.WebhookDisabledFailing, "disable_after": w.cfg.DisableAfter.String()}
	if e.FailingSince != nil {
		details["failing_since"] = e.FailingSince.UTC().Format(time.RFC3339)
	}
	ev.Details = details
	return w.audit.Record(ctx, ev)
}

// backoff is the wait after the attempt-th failure: RetryBase doubled
// each time, capped, and spread by ±20% so endpoints that failed
// together are not retried together.
func (w *WebhookWorker) backoff(attempt int) time.Duration {
	d := w.cfg.RetryBase << max(0, attempt-1)
	if d <= 0 || d > webhookBackoffMax {
		d = webhookBackoffMax
	}
	return time.Duration(float64(d) * (0.8 + 0.4*w.Jitter()))
}

func (w *WebhookWorker) prune(ctx context.Context) error {
	if w.cfg.Retention <= 0 || time.Since(w.lastPrune) < webhookPruneEvery {
		return nil
	}
	w.lastPrune = time.Now()
	before := w.clock.Now().Add(-w.cfg.Retention)
	for ctx.Err() == nil {
		n, err := w.outbox.Prune(ctx, before, webhookPruneBatch)
		if err != nil {
			return fmt.Errorf("prune webhook messages: %w", err)
		}
		if n < webhookPruneBatch {
			break
		}
	}
	return nil
}

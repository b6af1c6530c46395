package application

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// RotateSecret gives an endpoint a new secret, shown once; the previous
// one keeps signing beside it for the configured overlap. While the secret
// an earlier rotation replaced still signs, rotating again is refused
// (domain.ErrRotationInProgress): it would drop a secret receivers may
// still verify with.
func (w *Webhooks) RotateSecret(ctx context.Context, p domain.Principal, id uuid.UUID) (WebhookWithSecret, error) {
	c, e, err := w.access(ctx, p, id)
	if err != nil {
		return WebhookWithSecret{}, err
	}
	secret, err := w.newSecret()
	if err != nil {
		return WebhookWithSecret{}, err
	}
	now := w.d.Clock.Now()
	until := now.Add(w.cfg.SecretOverlap)
	err = w.d.Tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := w.d.Endpoints.RotateSecret(ctx, id, secret, until, now); err != nil {
			return err
		}
		return w.record(ctx, c.ID(), domain.ActionWebhookSecretRotated, e,
			map[string]any{"previous_secret_expires_at": until.UTC().Format(time.RFC3339)})
	})
	if err != nil {
		return WebhookWithSecret{}, err
	}
	got, err := w.d.Endpoints.ByID(ctx, id)
	return WebhookWithSecret{Endpoint: got, Secret: secret}, err
}

// Deliveries pages through an endpoint's deliveries, newest first.
func (w *Webhooks) Deliveries(ctx context.Context, p domain.Principal, id uuid.UUID, status string, page ports.Page) ([]domain.WebhookDelivery, string, error) {
	if _, _, err := w.access(ctx, p, id); err != nil {
		return nil, "", err
	}
	switch status {
	case "", domain.DeliveryPending, domain.DeliverySucceeded, domain.DeliveryFailed:
	default:
		return nil, "", domain.Invalid(domain.FieldError{Field: "status", Code: "invalid_status",
			Message: "must be pending, succeeded or failed"})
	}
	return w.d.Outbox.Deliveries(ctx, id, status, page)
}

// Replay sends a delivered (or given up) message to its endpoint again,
// as a new delivery of the same message: the same webhook-id, so a
// receiver that already has it can tell. A pending delivery is not
// replayed, and at most one delivery of a message waits per endpoint (the
// store enforces it, racing replays included): the worker queue is
// shared, so replays must not pile up in it.
func (w *Webhooks) Replay(ctx context.Context, p domain.Principal, id, deliveryID uuid.UUID) (domain.WebhookDelivery, error) {
	c, e, err := w.access(ctx, p, id)
	if err != nil {
		return domain.WebhookDelivery{}, err
	}
	orig, err := w.d.Outbox.Delivery(ctx, id, deliveryID)
	if err != nil {
		return domain.WebhookDelivery{}, err
	}
	if !e.Enabled {
		return domain.WebhookDelivery{}, domain.ErrWebhookDisabled
	}
	if orig.Status == domain.DeliveryPending {
		return domain.WebhookDelivery{}, domain.ErrDeliveryPending
	}
	now := w.d.Clock.Now()
	d := domain.WebhookDelivery{ID: w.d.IDs.NewID(), EndpointID: id, MessageID: orig.MessageID, EventType: orig.EventType,
		Status: domain.DeliveryPending, NextAttemptAt: &now, CreatedAt: now, ReplayOf: &orig.ID}
	err = w.d.Tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := w.d.Outbox.AddDeliveries(ctx, []domain.WebhookDelivery{d}); err != nil {
			return err
		}
		return w.record(ctx, c.ID(), domain.ActionWebhookReplayed, e, map[string]any{
			"delivery_id": orig.ID.String(), "replay_id": d.ID.String(), "message_id": domain.WebhookMessageID(orig.MessageID)})
	})
	if err != nil {
		return domain.WebhookDelivery{}, err
	}
	return w.d.Outbox.Delivery(ctx, id, d.ID)
}

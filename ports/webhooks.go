package ports

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
)

// WebhookEndpointFilter narrows a list of endpoints.
type WebhookEndpointFilter struct {
	// OrgID, when set, keeps that organization's endpoints.
	OrgID *uuid.UUID
	// OrgIDs, when not nil, keeps the endpoints of these organizations
	// only (none when empty): what an organization admin may see.
	OrgIDs []uuid.UUID
}

// WebhookSubscription is what an enabled endpoint asks for: enough to
// tell, without a query, whether an event could interest anyone.
type WebhookSubscription struct {
	OrgID  *uuid.UUID
	Events []string
}

// WebhookEndpointRepository stores webhook endpoints with their signing
// secrets, which it keeps sealed (ports.SecretBox) and never returns but to
// sign (WebhookOutbox.ClaimDeliveries). Every method joins a transaction
// in ctx.
type WebhookEndpointRepository interface {
	// Create stores a new endpoint signing with secret;
	// domain.ErrOrgNotFound when its organization does not exist,
	// domain.ErrTooManyWebhookEndpoints when its organization (or the
	// system, for an endpoint of none) already has limit endpoints.
	// Concurrent creations never pass the limit.
	Create(ctx context.Context, e domain.WebhookEndpoint, secret string, limit int) error
	// ByID returns the endpoint or domain.ErrWebhookNotFound.
	ByID(ctx context.Context, id uuid.UUID) (domain.WebhookEndpoint, error)
	// List returns one page of endpoints, oldest first, and the next
	// cursor ("" at the end); a cursor of another list is a KindInvalid
	// error on field "cursor".
	List(ctx context.Context, f WebhookEndpointFilter, p Page) ([]domain.WebhookEndpoint, string, error)
	// Update writes the fields ch names, and updated_at, nothing else.
	// Enabling also clears the disabled reason and the failure record;
	// disabling records domain.WebhookDisabledManually.
	// domain.ErrWebhookNotFound when absent.
	Update(ctx context.Context, id uuid.UUID, ch domain.WebhookEndpointChange) error
	// RotateSecret makes secret the signing secret and keeps the one it
	// replaces signing beside it until previousUntil (not at all when
	// previousUntil is not after at); domain.ErrWebhookNotFound. While
	// the secret a previous rotation replaced still signs at `at`, it
	// changes nothing and returns domain.WebhookRotationInProgress
	// (errors.Is domain.ErrRotationInProgress): of concurrent rotations
	// one wins.
	RotateSecret(ctx context.Context, id uuid.UUID, secret string, previousUntil, at time.Time) error
	// Delete removes the endpoint with its deliveries;
	// domain.ErrWebhookNotFound.
	Delete(ctx context.Context, id uuid.UUID) error
	// Enabled lists every enabled endpoint, for fanning events out.
	Enabled(ctx context.Context) ([]domain.WebhookEndpoint, error)
	// Subscriptions lists what the enabled endpoints ask for.
	Subscriptions(ctx context.Context) ([]WebhookSubscription, error)
	// RecordSuccess clears the failure record after a delivery got
	// through.
	RecordSuccess(ctx context.Context, id uuid.UUID) error
	// RecordFailure starts the failure record at `at` unless one is
	// running.
	RecordFailure(ctx context.Context, id uuid.UUID, at time.Time) error
	// DisableFailing disables the endpoint, with reason
	// domain.WebhookDisabledFailing, if it is enabled and its failure
	// record began at or before since; it reports whether it did, so of
	// instances racing one does.
	DisableFailing(ctx context.Context, id uuid.UUID, since, at time.Time) (bool, error)
}

// WebhookMessage is one event waiting in the outbox to be fanned out to
// the endpoints that want it. Payload is the exact JSON body every
// endpoint gets (and its signature covers).
type WebhookMessage struct {
	ID        uuid.UUID
	EventType string
	OrgID     *uuid.UUID
	Payload   []byte
	CreatedAt time.Time
}

// DueDelivery is a claimed delivery with what sending it needs: the
// endpoint's URL, its signing secrets (the current one first; the
// previous one while its overlap runs) and the message.
type DueDelivery struct {
	domain.WebhookDelivery
	URL     string
	Secrets []string
	Payload []byte
}

// DeliveryOutcome is the result of one attempt.
type DeliveryOutcome struct {
	// Status is the HTTP status received; 0 when there was no answer.
	Status int
	// Error says what went wrong; "" on success. Stores cut it short.
	Error string
	At    time.Time
	// Next is when to try again after a failure; nil gives up.
	Next *time.Time
}

// WebhookOutbox is the durable queue of webhook messages and their
// deliveries. Messages are written in the transaction of the change they
// report, so an event is sent only if that change committed and is not
// lost when an instance stops. Every method joins a transaction in ctx.
type WebhookOutbox interface {
	// Enqueue stores a message; a duplicate id is domain.ErrConflict.
	Enqueue(ctx context.Context, m WebhookMessage) error
	// TakeMessages marks up to limit messages not yet fanned out as
	// fanned out at `at` and returns them, oldest first; run it in the
	// transaction that adds their deliveries, so a rollback returns them.
	// Instances taking at once never get the same message.
	TakeMessages(ctx context.Context, at time.Time, limit int) ([]WebhookMessage, error)
	// AddDeliveries stores pending deliveries, due at their
	// NextAttemptAt; domain.ErrWebhookNotFound when an endpoint is gone,
	// domain.ErrReplayPending (nothing stored) when an endpoint already
	// has a pending delivery of the message: concurrent additions never
	// leave two.
	AddDeliveries(ctx context.Context, ds []domain.WebhookDelivery) error
	// ClaimDeliveries takes up to limit pending deliveries due at now to
	// enabled endpoints, counts an attempt for each and hides them from
	// other claimers until now+lease, so instances never send one twice
	// at once and one whose sender died is due again after the lease.
	ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]DueDelivery, error)
	// Finish records an attempt's outcome: success when o.Error is "",
	// otherwise a failure due again at o.Next (given up when nil). A
	// delivery no longer pending is left as it is.
	Finish(ctx context.Context, id uuid.UUID, o DeliveryOutcome) error
	// Release makes a claimed delivery due at `at` again without
	// counting the attempt: its sender stopped before it finished.
	Release(ctx context.Context, id uuid.UUID, at time.Time) error
	// Deliveries lists an endpoint's deliveries, newest first, one page
	// and the next cursor; status, when set, keeps those of that status.
	Deliveries(ctx context.Context, endpointID uuid.UUID, status string, p Page) ([]domain.WebhookDelivery, string, error)
	// Delivery returns one of an endpoint's deliveries or
	// domain.ErrDeliveryNotFound.
	Delivery(ctx context.Context, endpointID, id uuid.UUID) (domain.WebhookDelivery, error)
	// Prune deletes up to limit messages made before `before` whose
	// deliveries are all finished, with those deliveries; it says how
	// many messages went.
	Prune(ctx context.Context, before time.Time, limit int) (int, error)
}

// WebhookRequest is one signed POST to an endpoint.
type WebhookRequest struct {
	URL string
	// MessageID is the webhook-id header ("msg_…"), the same on every
	// attempt and replay of a message.
	MessageID string
	// Timestamp is the webhook-timestamp header: the attempt's time.
	Timestamp time.Time
	Body      []byte
	// Secrets sign the request ("whsec_…"); each adds a signature.
	Secrets []string
}

// WebhookSender signs and sends a webhook request. It answers the HTTP
// status it got (any status: the caller judges it) or an error when it got
// none: a refused target, a timeout, a connection failure. Errors never
// carry the body or a secret.
type WebhookSender interface {
	Send(ctx context.Context, r WebhookRequest) (int, error)
}

// WebhookTargetPolicy tells whether an endpoint URL may be registered in
// this deployment (production refuses plain http and private, loopback,
// link-local and similar addresses). The sender applies the same rule to
// the address it connects to.
type WebhookTargetPolicy interface {
	// CheckURL returns a *domain.FieldError on field when the URL may not
	// be used, with a message that may be shown to the admin.
	CheckURL(ctx context.Context, field, rawURL string) *domain.FieldError
}

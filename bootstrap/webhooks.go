package bootstrap

import (
	"context"
	"crypto/rand"
	"errors"
	"time"

	"github.com/google/uuid"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/ums-project/ums/adapters/sqlstore"
	"github.com/ums-project/ums/adapters/webhook"
	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/ports"
)

// webhookInterestTTL is how long an instance trusts its picture of the
// enabled endpoints before reading it again: an endpoint made or enabled
// on another instance gets this one's events after at most this long.
const webhookInterestTTL = 5 * time.Second

// WebhooksModule provides webhooks: the endpoint store and the outbox, the
// target guard, the management use cases, and the audit log decorated to
// queue webhook events in the transaction of the change they report. The
// decoration is at the root, so every use case's audit log queues them.
var WebhooksModule = fx.Options(
	fx.Module("webhooks",
		fx.Provide(
			fx.Annotate(sqlstore.NewWebhookEndpointRepository, fx.As(new(ports.WebhookEndpointRepository))),
			fx.Annotate(sqlstore.NewWebhookOutbox, fx.As(new(ports.WebhookOutbox))),
			newWebhookGuard,
			fx.Annotate(func(g *webhook.Guard) *webhook.Guard { return g }, fx.As(new(ports.WebhookTargetPolicy))),
			func(endpoints ports.WebhookEndpointRepository, clock ports.Clock) *application.WebhookInterest {
				return application.NewWebhookInterest(endpoints, clock, webhookInterestTTL)
			},
			newWebhooks,
		),
	),
	fx.Decorate(func(inner ports.AuditLog, outbox ports.WebhookOutbox, tx ports.TxManager,
		interest *application.WebhookInterest) ports.AuditLog {
		return application.NewWebhookAudit(inner, outbox, tx, interest)
	}),
)

// newWebhookGuard applies the production rules (https, public addresses
// unless WEBHOOK_ALLOW_PRIVATE) in production only: elsewhere receivers on
// loopback over http are the normal case (tests, development).
func newWebhookGuard(c Config) *webhook.Guard {
	return webhook.NewGuard(webhook.GuardConfig{RequireHTTPS: c.IsProduction(),
		AllowPrivate: !c.IsProduction() || c.WebhookAllowPrivate})
}

type webhooksParams struct {
	fx.In
	Config    Config
	Endpoints ports.WebhookEndpointRepository
	Outbox    ports.WebhookOutbox
	Targets   ports.WebhookTargetPolicy
	Members   ports.MembershipRepository
	Policy    *application.Policy
	Interest  *application.WebhookInterest
	Tx        ports.TxManager
	Audit     ports.AuditLog
	Clock     ports.Clock
	IDs       ports.IDGenerator
}

func newWebhooks(p webhooksParams) *application.Webhooks {
	return application.NewWebhooks(application.WebhooksDeps{Endpoints: p.Endpoints, Outbox: p.Outbox, Targets: p.Targets,
		Members: p.Members, Policy: p.Policy, Interest: p.Interest, Tx: p.Tx, Audit: p.Audit, Clock: p.Clock,
		IDs: p.IDs, Random: rand.Reader}, application.WebhooksConfig{SecretOverlap: p.Config.WebhookSecretOverlap})
}

// WebhookWorkerModule delivers webhooks while the server runs; it stops
// before the database closes. Its HTTP transport goes through
// Tracing.WebhookTransport, so with tracing on each delivery is a client
// span, naming the endpoint's scheme and host only, that carries the
// trace context to the receiver.
var WebhookWorkerModule = fx.Module("webhookworker",
	fx.Invoke(runWebhookWorker),
)

type webhookWorkerParams struct {
	fx.In
	Lifecycle fx.Lifecycle
	Config    Config
	Log       *zap.Logger
	Tracing   Tracing
	Guard     *webhook.Guard
	Outbox    ports.WebhookOutbox
	Endpoints ports.WebhookEndpointRepository
	Tx        ports.TxManager
	Audit     ports.AuditLog
	Clock     ports.Clock
	IDs       ports.IDGenerator
	Interest  *application.WebhookInterest
}

func runWebhookWorker(p webhookWorkerParams) {
	c := p.Config
	sender := webhook.NewSender(webhook.SenderConfig{Timeout: c.WebhookTimeout, UserAgent: c.AppName + "-Webhooks/1",
		WrapTransport: p.Tracing.WebhookTransport}, p.Guard)
	w := application.NewWebhookWorker(p.Outbox, p.Endpoints, sender, p.Tx, p.Audit, p.Clock, p.IDs, p.Interest,
		application.WebhookDeliveryConfig{Timeout: c.WebhookTimeout, RetryBase: c.WebhookRetryBase,
			MaxAttempts: c.WebhookMaxAttempts, DisableAfter: c.WebhookDisableAfter, Retention: c.WebhookRetention})
	log := p.Log.Named("webhooks")
	// Errors are the sender's (no URL, no body, no secret) or the store's.
	w.OnError = func(id uuid.UUID, attempt int, err error) {
		if id == uuid.Nil {
			log.Warn("webhook worker failed", zap.Error(err))
			return
		}
		log.Info("webhook delivery failed", zap.Stringer("delivery_id", id), zap.Int("attempt", attempt), zap.Error(err))
	}
	inBackground(p.Lifecycle, func(ctx context.Context) { w.Run(ctx, c.WebhookPollInterval) })
}

// webhookErrors are the rules of the WEBHOOK_* variables.
func (c Config) webhookErrors() []error {
	var errs []error
	bad := func(msg string) { errs = append(errs, errors.New(msg)) }
	if c.WebhookTimeout < 100*time.Millisecond || c.WebhookTimeout > 5*time.Minute {
		bad("WEBHOOK_TIMEOUT: must be between 100ms and 5m")
	}
	if c.WebhookRetryBase < 10*time.Millisecond {
		bad("WEBHOOK_RETRY_BASE: must be at least 10ms")
	}
	if c.WebhookMaxAttempts < 1 || c.WebhookMaxAttempts > 50 {
		bad("WEBHOOK_MAX_ATTEMPTS: must be between 1 and 50")
	}
	if c.WebhookDisableAfter < 0 {
		bad("WEBHOOK_DISABLE_AFTER: must be 0 (never) or a positive duration such as 120h")
	}
	if c.WebhookSecretOverlap < 0 || c.WebhookSecretOverlap > 30*24*time.Hour {
		bad("WEBHOOK_SECRET_OVERLAP: must be between 0s (the old secret stops at once) and 720h")
	}
	if c.WebhookPollInterval < 10*time.Millisecond {
		bad("WEBHOOK_POLL_INTERVAL: must be at least 10ms")
	}
	if c.WebhookRetention != 0 && c.WebhookRetention < time.Hour {
		bad("WEBHOOK_RETENTION: must be 0 (keep forever) or at least 1h")
	}
	return errs
}

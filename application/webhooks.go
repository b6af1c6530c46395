package application

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// WebhooksDeps are what webhook endpoint management needs.
type WebhooksDeps struct {
	Endpoints ports.WebhookEndpointRepository
	Outbox    ports.WebhookOutbox
	Targets   ports.WebhookTargetPolicy
	Members   ports.MembershipRepository
	Policy    *Policy
	Interest  *WebhookInterest
	Tx        ports.TxManager
	Audit     ports.AuditLog
	Clock     ports.Clock
	IDs       ports.IDGenerator
	Random    io.Reader
}

// WebhooksConfig tunes endpoint management.
type WebhooksConfig struct {
	// SecretOverlap is how long a rotated-out secret keeps signing beside
	// the new one, so receivers can switch without losing a message.
	SecretOverlap time.Duration
}

// Webhooks manages the endpoints that receive signed events: system
// admins manage every endpoint (a system endpoint gets every event),
// organization admins their organization's (which get that
// organization's events only). A secret is shown once, when made.
type Webhooks struct {
	d   WebhooksDeps
	cfg WebhooksConfig
}

// NewWebhooks wires webhook endpoint management.
func NewWebhooks(d WebhooksDeps, cfg WebhooksConfig) *Webhooks {
	return &Webhooks{d: d, cfg: cfg}
}

// WebhookInput is a new endpoint; OrgID nil makes a system endpoint.
type WebhookInput struct {
	URL         string
	Events      []string
	OrgID       *uuid.UUID
	Description string
}

// WebhookPatch is a change of an endpoint; nil leaves a field.
type WebhookPatch struct {
	URL         *string
	Events      *[]string
	Enabled     *bool
	Description *string
}

// WebhookWithSecret is an endpoint with its signing secret, the one time
// it is shown.
type WebhookWithSecret struct {
	Endpoint domain.WebhookEndpoint
	Secret   string
}

// webhookSecretBytes is the randomness of a secret: 256 bits, above the
// 24 bytes the Standard Webhooks spec asks for.
const webhookSecretBytes = 32

// Create registers an endpoint and returns it with its secret.
func (w *Webhooks) Create(ctx context.Context, p domain.Principal, in WebhookInput) (WebhookWithSecret, error) {
	var (
		c   Caller
		err error
	)
	if in.OrgID == nil {
		c, err = w.d.Policy.RequireSystemAdmin(ctx, p)
	} else {
		c, _, _, err = w.d.Policy.Org(ctx, p, *in.OrgID, WebhooksManage)
	}
	if err != nil {
		return WebhookWithSecret{}, err
	}
	u, events, desc, err := w.validInput(ctx, in)
	if err != nil {
		return WebhookWithSecret{}, err
	}
	secret, err := w.newSecret()
	if err != nil {
		return WebhookWithSecret{}, err
	}
	now := w.d.Clock.Now()
	e := domain.WebhookEndpoint{ID: w.d.IDs.NewID(), OrgID: in.OrgID, URL: u, Description: desc, Events: events,
		Enabled: true, CreatedBy: ptr(c.ID()), CreatedAt: now, UpdatedAt: now}
	err = w.d.Tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := w.d.Endpoints.Create(ctx, e, secret, domain.MaxWebhookEndpoints); err != nil {
			return err
		}
		return w.record(ctx, c.ID(), domain.ActionWebhookCreated, e, map[string]any{"target": targetOf(u), "events": events})
	})
	if err != nil {
		return WebhookWithSecret{}, fmt.Errorf("create webhook endpoint: %w", err)
	}
	w.d.Interest.Invalidate()
	got, err := w.d.Endpoints.ByID(ctx, e.ID)
	return WebhookWithSecret{Endpoint: got, Secret: secret}, err
}

func (w *Webhooks) validInput(ctx context.Context, in WebhookInput) (string, []string, string, error) {
	var fields []domain.FieldError
	u, fe := w.validURL(ctx, in.URL)
	if fe != nil {
		fields = append(fields, *fe)
	}
	events, fe := domain.ParseWebhookEvents("events", in.Events)
	if fe != nil {
		fields = append(fields, *fe)
	}
	desc, fe := domain.ParseWebhookDescription("description", in.Description)
	if fe != nil {
		fields = append(fields, *fe)
	}
	if len(fields) > 0 {
		return "", nil, "", domain.Invalid(fields...)
	}
	return u, events, desc, nil
}

// validURL checks the URL's shape, then whether this deployment lets it
// be a target (production: https to a public address only).
func (w *Webhooks) validURL(ctx context.Context, raw string) (string, *domain.FieldError) {
	u, fe := domain.ParseWebhookURL("url", raw)
	if fe != nil {
		return "", fe
	}
	if fe := w.d.Targets.CheckURL(ctx, "url", u); fe != nil {
		return "", fe
	}
	return u, nil
}

// targetOf is the scheme and host of an endpoint URL: what the audit
// trail keeps, since paths and queries of webhook URLs often hold tokens.
func targetOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

func (w *Webhooks) newSecret() (string, error) {
	b := make([]byte, webhookSecretBytes)
	if _, err := io.ReadFull(w.d.Random, b); err != nil {
		return "", fmt.Errorf("webhook secret randomness: %w", err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(b), nil
}

// access lets the caller manage endpoint id: a system endpoint is a
// system admin's, an organization's endpoint its admins' (and system
// admins'). An endpoint the caller may not see is not found; one of an
// organization the caller sees but does not administer is forbidden.
func (w *Webhooks) access(ctx context.Context, p domain.Principal, id uuid.UUID) (Caller, domain.WebhookEndpoint, error) {
	c, err := w.d.Policy.Caller(ctx, p)
	if err != nil {
		return Caller{}, domain.WebhookEndpoint{}, err
	}
	e, err := w.d.Endpoints.ByID(ctx, id)
	if err != nil {
		return Caller{}, domain.WebhookEndpoint{}, err
	}
	if e.OrgID == nil {
		if !c.SystemAdmin {
			return Caller{}, domain.WebhookEndpoint{}, domain.ErrWebhookNotFound
		}
		return c, e, nil
	}
	if _, _, _, err := w.d.Policy.Org(ctx, p, *e.OrgID, WebhooksManage); err != nil {
		if errors.Is(err, domain.ErrOrgNotFound) {
			return Caller{}, domain.WebhookEndpoint{}, domain.ErrWebhookNotFound
		}
		return Caller{}, domain.WebhookEndpoint{}, err
	}
	return c, e, nil
}

// List pages through the endpoints the caller manages: a system admin's
// are all of them; an organization admin's, those of the organizations
// they administer. orgID keeps one organization's.
func (w *Webhooks) List(ctx context.Context, p domain.Principal, orgID *uuid.UUID, page ports.Page) ([]domain.WebhookEndpoint, string, error) {
	c, err := w.d.Policy.Caller(ctx, p)
	if err != nil {
		return nil, "", err
	}
	f := ports.WebhookEndpointFilter{OrgID: orgID}
	switch {
	case c.SystemAdmin:
	case orgID != nil:
		if _, _, _, err := w.d.Policy.Org(ctx, p, *orgID, WebhooksManage); err != nil {
			return nil, "", err
		}
	default:
		ms, err := w.d.Members.ByUser(ctx, c.ID())
		if err != nil {
			return nil, "", err
		}
		f.OrgIDs = []uuid.UUID{}
		for _, m := range ms {
			if m.Role != domain.RoleAdmin {
				continue
			}
			// The policy also hides deactivated organizations.
			if _, _, _, err := w.d.Policy.Org(ctx, p, m.OrgID, WebhooksManage); err == nil {
				f.OrgIDs = append(f.OrgIDs, m.OrgID)
			}
		}
	}
	return w.d.Endpoints.List(ctx, f, page)
}

// Get returns one endpoint, never its secret.
func (w *Webhooks) Get(ctx context.Context, p domain.Principal, id uuid.UUID) (domain.WebhookEndpoint, error) {
	_, e, err := w.access(ctx, p, id)
	return e, err
}

// Update changes the fields the patch names and only those.
func (w *Webhooks) Update(ctx context.Context, p domain.Principal, id uuid.UUID, in WebhookPatch) (domain.WebhookEndpoint, error) {
	c, e, err := w.access(ctx, p, id)
	if err != nil {
		return domain.WebhookEndpoint{}, err
	}
	ch, err := w.change(ctx, in)
	if err != nil {
		return domain.WebhookEndpoint{}, err
	}
	ch.At = w.d.Clock.Now()
	details := map[string]any{"fields": ch.Fields()}
	if ch.URL != nil {
		details["target"] = targetOf(*ch.URL)
	}
	if ch.Enabled != nil {
		details["enabled"] = *ch.Enabled
	}
	err = w.d.Tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := w.d.Endpoints.Update(ctx, id, ch); err != nil {
			return err
		}
		return w.record(ctx, c.ID(), domain.ActionWebhookUpdated, e, details)
	})
	if err != nil {
		return domain.WebhookEndpoint{}, err
	}
	w.d.Interest.Invalidate()
	return w.d.Endpoints.ByID(ctx, id)
}

func (w *Webhooks) change(ctx context.Context, in WebhookPatch) (domain.WebhookEndpointChange, error) {
	var (
		ch     domain.WebhookEndpointChange
		fields []domain.FieldError
	)
	if in.URL != nil {
		u, fe := w.validURL(ctx, *in.URL)
		if fe != nil {
			fields = append(fields, *fe)
		}
		ch.URL = &u
	}
	if in.Events != nil {
		events, fe := domain.ParseWebhookEvents("events", *in.Events)
		if fe != nil {
			fields = append(fields, *fe)
		}
		ch.Events = &events
	}
	if in.Description != nil {
		desc, fe := domain.ParseWebhookDescription("description", *in.Description)
		if fe != nil {
			fields = append(fields, *fe)
		}
		ch.Description = &desc
	}
	ch.Enabled = in.Enabled
	if len(fields) > 0 {
		return domain.WebhookEndpointChange{}, domain.Invalid(fields...)
	}
	return ch, nil
}

// Delete removes an endpoint with its delivery log.
func (w *Webhooks) Delete(ctx context.Context, p domain.Principal, id uuid.UUID) error {
	c, e, err := w.access(ctx, p, id)
	if err != nil {
		return err
	}
	err = w.d.Tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := w.d.Endpoints.Delete(ctx, id); err != nil {
			return err
		}
		return w.record(ctx, c.ID(), domain.ActionWebhookDeleted, e, map[string]any{"target": targetOf(e.URL)})
	})
	if err != nil {
		return err
	}
	w.d.Interest.Invalidate()
	return nil
}

// record audits an act of actor on endpoint e.
func (w *Webhooks) record(ctx context.Context, actor uuid.UUID, action string, e domain.WebhookEndpoint, details map[string]any) error {
	return recordAudit(ctx, w.d.Audit, w.d.IDs, w.d.Clock, actor, action, "webhook_endpoint", e.ID.String(), e.OrgID, details)
}

package domain

import (
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// The event types a webhook endpoint can receive. Names are stable: client
// services filter on them.
const (
	WebhookUserCreated       = "user.created"
	WebhookUserUpdated       = "user.updated"
	WebhookUserDeactivated   = "user.deactivated"
	WebhookUserReactivated   = "user.reactivated"
	WebhookUserErased        = "user.erased"
	WebhookLoginSucceeded    = "login.succeeded"
	WebhookLoginFailed       = "login.failed"
	WebhookPasswordChanged   = "password.changed"
	WebhookMFAChanged        = "mfa.changed"
	WebhookMembershipCreated = "membership.created"
	WebhookMembershipUpdated = "membership.updated"
	WebhookMembershipDeleted = "membership.deleted"
	WebhookGrantCreated      = "grant.created"
	WebhookGrantDeleted      = "grant.deleted"
	WebhookOrgCreated        = "org.created"
	WebhookOrgUpdated        = "org.updated"
	WebhookOrgDeleted        = "org.deleted"

	WebhookServiceAccountCreated     = "service_account.created"
	WebhookServiceAccountUpdated     = "service_account.updated"
	WebhookServiceAccountDeactivated = "service_account.deactivated"
	WebhookServiceAccountDeleted     = "service_account.deleted"
	// WebhookServiceAccountCredentials: a secret issued or rotated, a key
	// added or removed; the account's earlier tokens are dead.
	WebhookServiceAccountCredentials = "service_account.credentials_changed"
	WebhookInvitationCreated         = "invitation.created"
	WebhookInvitationAccepted        = "invitation.accepted"
	WebhookInvitationRevoked         = "invitation.revoked"
)

// WebhookEventTypes lists every event type, in the order the docs give.
var WebhookEventTypes = []string{
	WebhookUserCreated, WebhookUserUpdated, WebhookUserDeactivated, WebhookUserReactivated, WebhookUserErased,
	WebhookLoginSucceeded, WebhookLoginFailed, WebhookPasswordChanged, WebhookMFAChanged,
	WebhookMembershipCreated, WebhookMembershipUpdated, WebhookMembershipDeleted,
	WebhookGrantCreated, WebhookGrantDeleted, WebhookOrgCreated, WebhookOrgUpdated, WebhookOrgDeleted,
	WebhookServiceAccountCreated, WebhookServiceAccountUpdated, WebhookServiceAccountDeactivated,
	WebhookServiceAccountDeleted, WebhookServiceAccountCredentials,
	WebhookInvitationCreated, WebhookInvitationAccepted, WebhookInvitationRevoked,
}

// Why an endpoint is disabled.
const (
	WebhookDisabledManually = "manual"
	// WebhookDisabledFailing: its deliveries kept failing for longer than
	// the configured window, so UMS stopped sending to it.
	WebhookDisabledFailing = "failing"
)

// WebhookEndpoint is a URL that receives signed events: a system
// endpoint (no OrgID) gets every organization's events and those of no
// organization; an organization's endpoint gets that organization's only.
// Its signing secrets are never part of it: they leave the store only to
// sign a delivery.
type WebhookEndpoint struct {
	ID    uuid.UUID
	OrgID *uuid.UUID
	URL   string
	// Description is the admins' note on what the endpoint is for.
	Description string
	// Events filters the event types sent; empty means every type.
	Events  []string
	Enabled bool
	// DisabledReason says why Enabled is false: WebhookDisabledManually
	// or WebhookDisabledFailing ("" while enabled).
	DisabledReason string
	// FailingSince is the first failed delivery since the last success.
	FailingSince *time.Time
	// PreviousSecretExpiresAt, when in the future, is when the secret
	// replaced by the last rotation stops signing beside the new one.
	PreviousSecretExpiresAt *time.Time
	CreatedBy               *uuid.UUID
	CreatedAt               time.Time
	UpdatedAt               time.Time
}

// Wants reports whether the endpoint receives an event of eventType that
// happened in orgID (nil: in no organization).
func (e WebhookEndpoint) Wants(eventType string, orgID *uuid.UUID) bool {
	return WebhookSubscribed(e.OrgID, e.Events, eventType, orgID)
}

// WebhookSubscribed is the matching rule of Wants on an endpoint's
// organization and event filter.
func WebhookSubscribed(endpointOrg *uuid.UUID, events []string, eventType string, orgID *uuid.UUID) bool {
	if len(events) > 0 && !slices.Contains(events, eventType) {
		return false
	}
	if endpointOrg == nil {
		return true
	}
	return orgID != nil && *orgID == *endpointOrg
}

// WebhookEndpointChange is an admin's change of an endpoint; nil leaves a
// field as it is. Enabling clears the failure record; disabling records
// WebhookDisabledManually.
type WebhookEndpointChange struct {
	URL         *string
	Events      *[]string
	Enabled     *bool
	Description *string
	At          time.Time
}

// Fields names what the change writes, for the audit trail.
func (c WebhookEndpointChange) Fields() []string {
	var out []string
	if c.URL != nil {
		out = append(out, "url")
	}
	if c.Events != nil {
		out = append(out, "events")
	}
	if c.Enabled != nil {
		out = append(out, "enabled")
	}
	if c.Description != nil {
		out = append(out, "description")
	}
	return out
}

// Delivery statuses.
const (
	DeliveryPending   = "pending"
	DeliverySucceeded = "succeeded"
	DeliveryFailed    = "failed"
)

// WebhookDelivery is one message on its way to one endpoint, with the
// outcome of its last attempt. Response bodies are never kept: a
// receiver's error page may echo anything.
type WebhookDelivery struct {
	ID         uuid.UUID
	EndpointID uuid.UUID
	// MessageID is the event's message: its webhook-id is "msg_" and this.
	MessageID uuid.UUID
	EventType string
	Status    string
	Attempts  int
	// LastStatus is the HTTP status of the last answer; nil when the
	// last attempt got none (a timeout, a refused connection).
	LastStatus *int
	// LastError says what went wrong last, briefly; "" after a success.
	LastError     string
	NextAttemptAt *time.Time
	LastAttemptAt *time.Time
	CreatedAt     time.Time
	// FinishedAt is when it succeeded or was given up on.
	FinishedAt *time.Time
	// ReplayOf is the delivery an admin replayed to make this one.
	ReplayOf *uuid.UUID
}

// WebhookMessageID is the webhook-id header of a message.
func WebhookMessageID(id uuid.UUID) string { return "msg_" + id.String() }

// Limits of endpoints.
const (
	maxWebhookURL         = 2000
	maxWebhookDescription = 500
)

// ParseWebhookURL checks the shape of an endpoint URL: absolute http or
// https, with a host, without credentials (they would show in every
// listing) or a fragment. Whether the target may be reached is a
// deployment rule the caller checks next.
func ParseWebhookURL(field, raw string) (string, *FieldError) {
	raw = strings.TrimSpace(raw)
	bad := func(msg string) *FieldError { return &FieldError{Field: field, Code: "invalid_url", Message: msg} }
	if raw == "" || len(raw) > maxWebhookURL {
		return "", bad("must be an absolute http(s) URL of at most 2000 characters")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Hostname() == "" || u.Opaque != "" {
		return "", bad("must be an absolute http(s) URL with a host")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", bad("must use http or https")
	}
	if u.User != nil {
		return "", bad("must not carry credentials: receivers verify the signature instead")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return "", bad("must not have a fragment")
	}
	return raw, nil
}

// ParseWebhookEvents checks an event filter: known types, each once, in
// the documented order. Empty means every type.
func ParseWebhookEvents(field string, in []string) ([]string, *FieldError) {
	out := []string{}
	for _, t := range WebhookEventTypes {
		if slices.Contains(in, t) {
			out = append(out, t)
		}
	}
	for _, t := range in {
		if !slices.Contains(WebhookEventTypes, t) {
			return nil, &FieldError{Field: field, Code: "unknown_event_type",
				Message: "unknown event type " + quoteShort(t) + "; see the documented types"}
		}
	}
	return out, nil
}

// ParseWebhookDescription validates an optional description.
func ParseWebhookDescription(field, s string) (string, *FieldError) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxWebhookDescription {
		return "", &FieldError{Field: field, Code: "too_long", Message: "must be valid text of at most 500 characters"}
	}
	return s, nil
}

// quoteShort quotes s for a message, cut so an attacker's megabyte is
// not echoed back.
func quoteShort(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		s = string([]rune(s)[:40]) + "…"
	}
	return `"` + s + `"`
}

// Webhook errors.
var (
	ErrWebhookNotFound  = &Error{Kind: KindNotFound, Code: "webhook_not_found", Message: "webhook endpoint not found"}
	ErrDeliveryNotFound = &Error{Kind: KindNotFound, Code: "webhook_delivery_not_found",
		Message: "no delivery of this id for this endpoint"}
	ErrWebhookDisabled = &Error{Kind: KindConflict, Code: "webhook_disabled",
		Message: "the endpoint is disabled; enable it first"}
	ErrTooManyWebhookEndpoints = &Error{Kind: KindConflict, Code: "too_many_endpoints",
		Message: "at most 25 endpoints per organization, and 25 system endpoints; delete one first"}
	// ErrDeliveryPending refuses replaying a delivery still being tried:
	// its retries already send the message.
	ErrDeliveryPending = &Error{Kind: KindConflict, Code: "delivery_pending",
		Message: "the delivery is still pending; replay it once it has succeeded or failed"}
	// ErrReplayPending refuses a replay while the endpoint already has a
	// pending delivery of the message, so replays cannot pile up in the
	// queue every endpoint shares.
	ErrReplayPending = &Error{Kind: KindConflict, Code: "replay_pending",
		Message: "the endpoint already has a pending delivery of this message; wait until it has succeeded or failed"}
	// ErrRotationInProgress matches any WebhookRotationInProgress error.
	ErrRotationInProgress = &Error{Kind: KindConflict, Code: "rotation_in_progress",
		Message: "the secret replaced by the last rotation still signs; rotate again once its overlap has ended"}
)

// WebhookRotationInProgress refuses a rotation while the secret replaced
// by the last one still signs until `until`: rotating again would drop
// it, and receivers may not have switched yet.
func WebhookRotationInProgress(until time.Time) *Error {
	// Rounded up to the second, so rotating at the time named succeeds.
	end := until.UTC().Add(time.Second - time.Nanosecond).Truncate(time.Second)
	return &Error{Kind: KindConflict, Code: ErrRotationInProgress.Code,
		Message: "the secret replaced by the last rotation still signs until " + end.Format(time.RFC3339) +
			"; rotate again after that"}
}

// MaxWebhookEndpoints bounds the endpoints of one organization, and the
// system endpoints: every event is sent to each of them, so an unbounded
// list would let one admin multiply the delivery work of every change.
const MaxWebhookEndpoints = 25

// Audit actions of webhook endpoints.
const (
	ActionWebhookCreated       = "webhook.endpoint_created"
	ActionWebhookUpdated       = "webhook.endpoint_updated"
	ActionWebhookDeleted       = "webhook.endpoint_deleted"
	ActionWebhookSecretRotated = "webhook.secret_rotated"
	// ActionWebhookDisabled: UMS turned an endpoint off after its
	// deliveries kept failing; the event has no actor.
	ActionWebhookDisabled = "webhook.endpoint_disabled"
	ActionWebhookReplayed = "webhook.delivery_replayed"
)

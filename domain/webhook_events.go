package domain

import (
	"github.com/google/uuid"
)

// WebhookEvent is what a webhook tells of an audit event: its type, where
// it happened and whom it is about, by id. Facts are the few enumerated
// details a receiver needs (a role, the names of changed fields, a failure
// reason); never a name, an address, a password or a secret.
type WebhookEvent struct {
	Type   string
	OrgID  *uuid.UUID
	UserID *uuid.UUID
	// ActorID and TargetID are the audit event's, except for an erasure,
	// whose stored record names a pseudonym: there they name the user.
	ActorID    *uuid.UUID
	TargetType string
	TargetID   string
	Facts      map[string]any
}

// webhookActions maps the audited actions that make webhook events to
// their type; the facts each carries are picked in webhookFacts.
var webhookActions = map[string]string{
	ActionUserRegistered:     WebhookUserCreated,
	ActionAdminCreated:       WebhookUserCreated,
	ActionUserCreatedByAdmin: WebhookUserCreated,
	ActionUserUpdated:        WebhookUserUpdated,
	ActionProfileUpdated:     WebhookUserUpdated,
	ActionEmailChanged:       WebhookUserUpdated,
	ActionUserErased:         WebhookUserErased,
	ActionLoginSucceeded:     WebhookLoginSucceeded,
	ActionLoginFailed:        WebhookLoginFailed,
	ActionLoginLocked:        WebhookLoginFailed,
	ActionMFAFailed:          WebhookLoginFailed,
	ActionPasskeyFailed:      WebhookLoginFailed,
	ActionPasswordChanged:    WebhookPasswordChanged,
	ActionPasswordReset:      WebhookPasswordChanged,
	ActionMFAEnabled:         WebhookMFAChanged,
	ActionMFADisabled:        WebhookMFAChanged,
	ActionMFAReset:           WebhookMFAChanged,
	ActionPasskeyRegistered:  WebhookMFAChanged,
	ActionPasskeyDeleted:     WebhookMFAChanged,
	ActionMemberAdded:        WebhookMembershipCreated,
	ActionMemberRoleChanged:  WebhookMembershipUpdated,
	ActionMemberRemoved:      WebhookMembershipDeleted,
	ActionGrantAdded:         WebhookGrantCreated,
	ActionGrantRemoved:       WebhookGrantDeleted,
	ActionOrgCreated:         WebhookOrgCreated,
	ActionOrgUpdated:         WebhookOrgUpdated,
	ActionOrgDeactivated:     WebhookOrgDeleted,

	ActionServiceAccountCreated:       WebhookServiceAccountCreated,
	ActionServiceAccountUpdated:       WebhookServiceAccountUpdated,
	ActionServiceAccountDeactivated:   WebhookServiceAccountDeactivated,
	ActionServiceAccountDeleted:       WebhookServiceAccountDeleted,
	ActionServiceAccountSecretRotated: WebhookServiceAccountCredentials,
	ActionServiceAccountKeyAdded:      WebhookServiceAccountCredentials,
	ActionServiceAccountKeyRemoved:    WebhookServiceAccountCredentials,
	ActionInvitationCreated:           WebhookInvitationCreated,
	ActionInvitationResent:            WebhookInvitationCreated,
	ActionInvitationAccepted:          WebhookInvitationAccepted,
	ActionInvitationRevoked:           WebhookInvitationRevoked,
}

// mfaChanges and passwordMethods say which change an mfa.changed or
// password.changed event reports.
var (
	mfaChanges = map[string]string{
		ActionMFAEnabled: "totp_enabled", ActionMFADisabled: "totp_disabled", ActionMFAReset: "totp_reset",
		ActionPasskeyRegistered: "passkey_added", ActionPasskeyDeleted: "passkey_removed",
	}
	passwordMethods = map[string]string{ActionPasswordChanged: "change", ActionPasswordReset: "reset"}
)

// WebhookEventOf turns an audit event into the webhook event it makes:
// false for actions no webhook reports, failures other than failed
// sign-ins, and failed sign-ins of no known account (their login text is
// not an id, and may be a mistyped password).
func WebhookEventOf(e AuditEvent) (WebhookEvent, bool) {
	t, ok := webhookActions[e.Action]
	if !ok {
		return WebhookEvent{}, false
	}
	failure := t == WebhookLoginFailed
	if failure != (e.Outcome == OutcomeFailure) {
		return WebhookEvent{}, false
	}
	w := WebhookEvent{Type: t, OrgID: e.OrgID, ActorID: e.ActorID, TargetType: e.TargetType, TargetID: e.TargetID,
		Facts: map[string]any{}}
	switch {
	case e.TargetType == "user", e.TargetType == "service_account":
		// A service account is a user of the service kind.
		if id, err := uuid.Parse(e.TargetID); err == nil {
			w.UserID = &id
		}
	case t == WebhookLoginSucceeded, t == WebhookInvitationAccepted, failure:
		w.UserID = e.ActorID
	}
	if t == WebhookUserErased && e.Subject != nil {
		if w.ActorID != nil && w.ActorID.String() == e.TargetID {
			// Self-erasure: the stored actor is the pseudonym too.
			w.ActorID = e.Subject
		}
		w.UserID, w.TargetID = e.Subject, e.Subject.String()
	}
	if failure && w.UserID == nil {
		return WebhookEvent{}, false
	}
	webhookFacts(&w, e)
	return w, true
}

// webhookFacts copies the enumerated details an event type carries.
func webhookFacts(w *WebhookEvent, e AuditEvent) {
	str := func(key string) {
		if v, ok := e.Details[key].(string); ok && v != "" {
			w.Facts[key] = v
		}
	}
	switch w.Type {
	case WebhookUserUpdated:
		switch e.Action {
		case ActionEmailChanged:
			w.Facts["fields"] = []string{"email"}
		default:
			if f, ok := e.Details["fields"].([]string); ok {
				w.Facts["fields"] = f
			}
		}
		if active, ok := e.Details["is_active"].(bool); ok {
			w.Type = WebhookUserReactivated
			if !active {
				w.Type = WebhookUserDeactivated
			}
		}
	case WebhookLoginFailed:
		str("reason")
	case WebhookPasswordChanged:
		w.Facts["method"] = passwordMethods[e.Action]
	case WebhookMFAChanged:
		w.Facts["change"] = mfaChanges[e.Action]
		str("passkey_id")
	case WebhookMembershipCreated, WebhookMembershipUpdated:
		str("role")
	case WebhookGrantCreated:
		str("grant_id")
		str("permission")
	case WebhookOrgUpdated, WebhookServiceAccountUpdated:
		if f, ok := e.Details["fields"].([]string); ok {
			w.Facts["fields"] = f
		}
	case WebhookServiceAccountCreated, WebhookInvitationCreated, WebhookInvitationAccepted:
		// Never the invited address: a receiver looks the invitation up.
		str("role")
	}
}

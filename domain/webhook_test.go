package domain_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/domain"
)

func auditEvent(action string, outcome domain.Outcome, actor *uuid.UUID, targetType, targetID string, org *uuid.UUID, details map[string]any) domain.AuditEvent {
	e := domain.NewAuditEvent(context.Background(), uuid.New(), time.Now(), action, outcome)
	e.ActorID, e.TargetType, e.TargetID, e.OrgID, e.Details = actor, targetType, targetID, org, details
	return e
}

func TestWebhookEventOf(t *testing.T) {
	t.Parallel()
	user, admin, org, sess := uuid.New(), uuid.New(), uuid.New(), uuid.New()
	robot, invite := uuid.New(), uuid.New()
	ok := domain.OutcomeSuccess
	for _, c := range []struct {
		name  string
		in    domain.AuditEvent
		typ   string
		user  *uuid.UUID
		facts map[string]any
	}{
		{"registered", auditEvent(domain.ActionUserRegistered, ok, &user, "user", user.String(), nil, nil), domain.WebhookUserCreated, &user, map[string]any{}},
		{"created_by_admin", auditEvent(domain.ActionUserCreatedByAdmin, ok, &admin, "user", user.String(), nil, map[string]any{"email": "x@example.com"}),
			domain.WebhookUserCreated, &user, map[string]any{}},
		{"first_admin", auditEvent(domain.ActionAdminCreated, ok, nil, "user", user.String(), nil, nil), domain.WebhookUserCreated, &user, map[string]any{}},
		{"updated", auditEvent(domain.ActionUserUpdated, ok, &admin, "user", user.String(), nil, map[string]any{"fields": []string{"first_name"}}),
			domain.WebhookUserUpdated, &user, map[string]any{"fields": []string{"first_name"}}},
		{"deactivated", auditEvent(domain.ActionUserUpdated, ok, &admin, "user", user.String(), nil,
			map[string]any{"fields": []string{"is_active"}, "is_active": false}), domain.WebhookUserDeactivated, &user,
			map[string]any{"fields": []string{"is_active"}}},
		{"reactivated", auditEvent(domain.ActionUserUpdated, ok, &admin, "user", user.String(), nil,
			map[string]any{"fields": []string{"is_active"}, "is_active": true}), domain.WebhookUserReactivated, &user,
			map[string]any{"fields": []string{"is_active"}}},
		{"email_changed", auditEvent(domain.ActionEmailChanged, ok, &user, "user", user.String(), nil,
			map[string]any{"previous_email": "old@example.com"}), domain.WebhookUserUpdated, &user, map[string]any{"fields": []string{"email"}}},
		{"login", auditEvent(domain.ActionLoginSucceeded, ok, &user, "session", sess.String(), nil, nil), domain.WebhookLoginSucceeded, &user, map[string]any{}},
		{"login_failed", auditEvent(domain.ActionLoginFailed, domain.OutcomeFailure, &user, "user", user.String(), nil,
			map[string]any{"reason": "wrong_password"}), domain.WebhookLoginFailed, &user, map[string]any{"reason": "wrong_password"}},
		{"locked", auditEvent(domain.ActionLoginLocked, domain.OutcomeFailure, &user, "user", user.String(), nil,
			map[string]any{"reason": "threshold_reached"}), domain.WebhookLoginFailed, &user, map[string]any{"reason": "threshold_reached"}},
		{"password_reset", auditEvent(domain.ActionPasswordReset, ok, &user, "user", user.String(), nil, nil), domain.WebhookPasswordChanged, &user,
			map[string]any{"method": "reset"}},
		{"mfa_enabled", auditEvent(domain.ActionMFAEnabled, ok, &user, "user", user.String(), nil, nil), domain.WebhookMFAChanged, &user,
			map[string]any{"change": "totp_enabled"}},
		{"passkey_removed", auditEvent(domain.ActionPasskeyDeleted, ok, &user, "user", user.String(), nil, map[string]any{"passkey_id": "p1"}),
			domain.WebhookMFAChanged, &user, map[string]any{"change": "passkey_removed", "passkey_id": "p1"}},
		{"member_added", auditEvent(domain.ActionMemberAdded, ok, &admin, "user", user.String(), &org, map[string]any{"role": "viewer"}),
			domain.WebhookMembershipCreated, &user, map[string]any{"role": "viewer"}},
		{"member_removed", auditEvent(domain.ActionMemberRemoved, ok, &admin, "user", user.String(), &org, map[string]any{"grants_removed": 2}),
			domain.WebhookMembershipDeleted, &user, map[string]any{}},
		{"grant_added", auditEvent(domain.ActionGrantAdded, ok, &admin, "user", user.String(), &org,
			map[string]any{"grant_id": "g1", "permission": "lab.read"}), domain.WebhookGrantCreated, &user,
			map[string]any{"grant_id": "g1", "permission": "lab.read"}},
		{"grant_removed", auditEvent(domain.ActionGrantRemoved, ok, &admin, "grant", "g1", &org, nil), domain.WebhookGrantDeleted, nil, map[string]any{}},
		{"org_deactivated", auditEvent(domain.ActionOrgDeactivated, ok, &admin, "organization", org.String(), &org, nil), domain.WebhookOrgDeleted, nil, map[string]any{}},
		{"service_account_created", auditEvent(domain.ActionServiceAccountCreated, ok, &admin, "service_account", robot.String(), &org,
			map[string]any{"name": "Billing sync", "role": "viewer", "username": "sa-x"}), domain.WebhookServiceAccountCreated, &robot,
			map[string]any{"role": "viewer"}},
		{"service_account_deactivated", auditEvent(domain.ActionServiceAccountDeactivated, ok, &admin, "service_account", robot.String(), &org,
			map[string]any{"fields": []string{"is_active"}}), domain.WebhookServiceAccountDeactivated, &robot, map[string]any{}},
		{"service_account_key_added", auditEvent(domain.ActionServiceAccountKeyAdded, ok, &admin, "service_account", robot.String(), &org,
			map[string]any{"kid": "k1"}), domain.WebhookServiceAccountCredentials, &robot, map[string]any{}},
		{"invitation_created", auditEvent(domain.ActionInvitationCreated, ok, &admin, "invitation", invite.String(), &org,
			map[string]any{"email": "new@example.com", "role": "member"}), domain.WebhookInvitationCreated, nil, map[string]any{"role": "member"}},
		{"invitation_accepted", auditEvent(domain.ActionInvitationAccepted, ok, &user, "invitation", invite.String(), &org,
			map[string]any{"email": "new@example.com", "role": "member"}), domain.WebhookInvitationAccepted, &user, map[string]any{"role": "member"}},
		{"invitation_revoked", auditEvent(domain.ActionInvitationRevoked, ok, &admin, "invitation", invite.String(), &org,
			map[string]any{"email": "new@example.com"}), domain.WebhookInvitationRevoked, nil, map[string]any{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ok := domain.WebhookEventOf(c.in)
			require.True(t, ok)
			assert.Equal(t, c.typ, got.Type)
			assert.Equal(t, c.user, got.UserID)
			assert.Equal(t, c.facts, got.Facts)
			assert.Equal(t, c.in.OrgID, got.OrgID)
		})
	}

	for name, e := range map[string]domain.AuditEvent{
		"unmapped":              auditEvent(domain.ActionUserExported, ok, &user, "user", user.String(), nil, nil),
		"failed_success_action": auditEvent(domain.ActionUserRegistered, domain.OutcomeFailure, nil, "", "", nil, nil),
		"unknown_login":         auditEvent(domain.ActionLoginFailed, domain.OutcomeFailure, nil, "", "", nil, map[string]any{"reason": "unknown_user"}),
		"succeeded_failure":     auditEvent(domain.ActionLoginFailed, ok, &user, "user", user.String(), nil, nil),
	} {
		_, ok := domain.WebhookEventOf(e)
		assert.False(t, ok, name)
	}
}

func TestWebhookEventOfAnErasureNamesTheUser(t *testing.T) {
	t.Parallel()
	user, pseudonym, admin := uuid.New(), uuid.New(), uuid.New()
	e := auditEvent(domain.ActionUserErased, domain.OutcomeSuccess, &pseudonym, "user", pseudonym.String(), nil, nil)
	e.Subject = &user
	got, ok := domain.WebhookEventOf(e)
	require.True(t, ok)
	assert.Equal(t, domain.WebhookUserErased, got.Type)
	assert.Equal(t, &user, got.UserID)
	assert.Equal(t, user.String(), got.TargetID, "not the pseudonym")
	assert.Equal(t, &user, got.ActorID, "a self-erasure's actor is the user too")

	e = auditEvent(domain.ActionUserErased, domain.OutcomeSuccess, &admin, "user", pseudonym.String(), nil, nil)
	e.Subject = &user
	got, _ = domain.WebhookEventOf(e)
	assert.Equal(t, &admin, got.ActorID)
	assert.Equal(t, user.String(), got.TargetID)
}

func TestWebhookEndpointWants(t *testing.T) {
	t.Parallel()
	a, b := uuid.New(), uuid.New()
	sys := domain.WebhookEndpoint{}
	assert.True(t, sys.Wants(domain.WebhookUserCreated, nil), "a system endpoint gets events of no organization")
	assert.True(t, sys.Wants(domain.WebhookMembershipCreated, &a), "and every organization's")
	orgA := domain.WebhookEndpoint{OrgID: &a, Events: []string{domain.WebhookMembershipCreated}}
	assert.True(t, orgA.Wants(domain.WebhookMembershipCreated, &a))
	assert.False(t, orgA.Wants(domain.WebhookMembershipCreated, &b), "another organization's")
	assert.False(t, orgA.Wants(domain.WebhookMembershipCreated, nil), "no organization's")
	assert.False(t, orgA.Wants(domain.WebhookMembershipDeleted, &a), "filtered out")
}

func TestParseWebhookInputs(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"", "ftp://x.example/h", "/relative", "https://", "https://u:p@x.example/h",
		"https://x.example/h#frag", "mailto:a@example.com", "https://" + strings.Repeat("a", 2000) + ".example"} {
		_, fe := domain.ParseWebhookURL("url", bad)
		assert.NotNil(t, fe, bad)
	}
	u, fe := domain.ParseWebhookURL("url", " https://hooks.example.com/in?x=1 ")
	require.Nil(t, fe)
	assert.Equal(t, "https://hooks.example.com/in?x=1", u)

	events, fe := domain.ParseWebhookEvents("events", []string{domain.WebhookOrgDeleted, domain.WebhookUserCreated, domain.WebhookUserCreated})
	require.Nil(t, fe)
	assert.Equal(t, []string{domain.WebhookUserCreated, domain.WebhookOrgDeleted}, events, "each once, in the documented order")
	_, fe = domain.ParseWebhookEvents("events", []string{"user.exploded"})
	require.NotNil(t, fe)
	assert.Equal(t, "unknown_event_type", fe.Code)
	none, fe := domain.ParseWebhookEvents("events", nil)
	require.Nil(t, fe)
	assert.Equal(t, []string{}, none)

	_, fe = domain.ParseWebhookDescription("description", strings.Repeat("é", 501))
	assert.NotNil(t, fe)
}

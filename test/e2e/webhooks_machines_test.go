package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWebhooksTellOfServiceAccountsAndInvitations: an organization's
// endpoint receives its service accounts' lifecycle and its invitations,
// signed, with ids only (never the invited address).
func TestWebhooksTellOfServiceAccountsAndInvitations(t *testing.T) {
	forEachDialectWith(t, webhookEnv(nil), func(t *testing.T, s *server) {
		v := newVerifier(t)
		w := newWorld(t, s)
		rcv := newReceiver(t)
		admin := w.tokens[orgAdmin]
		_, secret := createWebhook(t, s, admin, map[string]any{"url": rcv.url("/a"), "org_id": w.orgA})

		robot := newServiceAccount(t, s, admin, w.orgA, "Report robot", "viewer")["id"].(string)
		h := rcv.waitFor(t, "service_account.created", 10*time.Second, event("/a", "service_account.created", robot))
		v.requireVerified(t, secret, h)
		assert.Equal(t, "viewer", h.data("role"))
		assert.Equal(t, w.orgA, h.data("org_id"))
		res := s.authed(t, http.MethodPost, saPath(w.orgA, robot, "secret"), admin, nil)
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		rcv.waitFor(t, "service_account.credentials_changed", 10*time.Second, event("/a", "service_account.credentials_changed", robot))
		res = s.authed(t, http.MethodPatch, saPath(w.orgA, robot), admin, map[string]any{"is_active": false})
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		rcv.waitFor(t, "service_account.deactivated", 10*time.Second, event("/a", "service_account.deactivated", robot))

		res = s.authed(t, http.MethodPost, "/api/v1/orgs/"+w.orgA+"/invitations", admin,
			map[string]any{"email": "colleague@example.com", "role": "member"})
		require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
		invitation := res.JSON(t)["id"].(string)
		h = rcv.waitFor(t, "invitation.created", 10*time.Second, func(h hook) bool {
			return h.Path == "/a" && h.Payload.Type == "invitation.created" && h.data("target_id") == invitation
		})
		v.requireVerified(t, secret, h)
		assert.Equal(t, "member", h.data("role"))
		require.Equal(t, http.StatusNoContent, s.authed(t, http.MethodDelete,
			"/api/v1/orgs/"+w.orgA+"/invitations/"+invitation, admin, nil).Status)
		rcv.waitFor(t, "invitation.revoked", 10*time.Second, func(h hook) bool {
			return h.Path == "/a" && h.Payload.Type == "invitation.revoked" && h.data("target_id") == invitation
		})
		for _, g := range rcv.all() {
			assert.NotContains(t, string(g.Body), "colleague@example.com", "payloads carry ids, never addresses")
			assert.NotContains(t, string(g.Body), "service-accounts.invalid")
		}
	})
}

package e2e

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/bootstrap"
	"github.com/ums-project/ums/test/dbtest"
)

// actor kinds of the policy table, in column order.
const (
	anonymous = iota
	plainUser
	orgViewer
	orgMember
	orgAdmin
	otherOrgAdmin
	systemAdmin
	actorKinds
)

var actorNames = [actorKinds]string{"anonymous", "plain_user", "org_viewer", "org_member", "org_admin", "other_org_admin", "system_admin"}

// world is the cast of the policy table: organization A with a viewer, a
// member and an admin, organization B with its admin, a user in neither,
// and a system admin.
type world struct {
	s       *server
	tokens  [actorKinds]string
	ids     [actorKinds]string
	orgA    string
	orgB    string
	counter atomic.Int64
	// sink is where the policy table's webhook endpoints point: a
	// receiver on loopback that takes every delivery.
	sink string
	// sharedSA and sharedHook are made once, for the rows that only read
	// or change them (an organization's endpoints are bounded).
	sharedSA, sharedHook, sharedClient string
}

func (w *world) sys(t *testing.T, method, path string, body any) response {
	t.Helper()
	return w.s.authed(t, method, path, w.tokens[systemAdmin], body)
}

func (w *world) unique(prefix string) string {
	return fmt.Sprintf("%s%d", prefix, w.counter.Add(1))
}

func newWorld(t *testing.T, s *server) *world {
	t.Helper()
	w := &world{s: s}
	admin, err := bootstrap.CreateAdmin(context.Background(), s.cfg, zap.NewNop(), application.RegisterInput{
		Email: "sys@example.com", Username: "sys", Password: testPass})
	require.NoError(t, err)
	w.ids[systemAdmin] = admin.ID().String()
	w.tokens[systemAdmin] = login(t, s, "sys", testPass).AccessToken
	for k := plainUser; k < systemAdmin; k++ {
		name := actorNames[k]
		w.ids[k] = registerUser(t, s, name)
		w.tokens[k] = login(t, s, name, testPass).AccessToken
	}
	mkOrg := func(slug string) string {
		res := w.sys(t, http.MethodPost, "/api/v1/orgs", map[string]any{"name": "Org " + slug, "slug": slug})
		require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
		return res.JSON(t)["id"].(string)
	}
	w.orgA, w.orgB = mkOrg("org-a"), mkOrg("org-b")
	for k, m := range map[int]struct{ org, role string }{
		orgViewer: {w.orgA, "viewer"}, orgMember: {w.orgA, "member"}, orgAdmin: {w.orgA, "admin"}, otherOrgAdmin: {w.orgB, "admin"},
	} {
		res := w.sys(t, http.MethodPost, "/api/v1/orgs/"+m.org+"/members", map[string]any{"user_id": w.ids[k], "role": m.role})
		require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	}
	res := w.sys(t, http.MethodPost, "/api/v1/permissions", map[string]any{"name": "lab.patient.read"})
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	return w
}

// route is one row of the policy table: prepare makes what the request
// needs and returns its path and body; want holds the status per actor.
type route struct {
	name    string
	method  string
	prepare func(t *testing.T, w *world) (string, any)
	want    [actorKinds]int
	// restore undoes a successful request so later rows see the same world.
	restore func(t *testing.T, w *world)
}

func fixed(path string, body any) func(*testing.T, *world) (string, any) {
	return func(*testing.T, *world) (string, any) { return path, body }
}

const (
	ok      = http.StatusOK
	created = http.StatusCreated
	noBody  = http.StatusNoContent
	unauth  = http.StatusUnauthorized
	forbid  = http.StatusForbidden
	hidden  = http.StatusNotFound
)

// sysOnly is the row of routes only system admins may use.
func sysOnly(success int) [actorKinds]int {
	return [actorKinds]int{unauth, forbid, forbid, forbid, forbid, forbid, success}
}

func everyone(success int) [actorKinds]int {
	return [actorKinds]int{unauth, success, success, success, success, success, success}
}

// inOrgA: strangers to A (plain user, B's admin) get 404, members below
// the needed level 403.
func inOrgA(viewer, member, admin, sys int) [actorKinds]int {
	return [actorKinds]int{unauth, hidden, viewer, member, admin, hidden, sys}
}

func policyRoutes() []route {
	orgA := func(suffix string, body any) func(*testing.T, *world) (string, any) {
		return func(_ *testing.T, w *world) (string, any) { return "/api/v1/orgs/" + w.orgA + suffix, body }
	}
	newUser := func(t *testing.T, w *world) string {
		name := w.unique("temp")
		return registerUser(t, w.s, name)
	}
	return []route{
		{name: "list_orgs", method: http.MethodGet, prepare: fixed("/api/v1/orgs", nil), want: everyone(ok)},
		{name: "create_org", method: http.MethodPost, prepare: func(_ *testing.T, w *world) (string, any) {
			return "/api/v1/orgs", map[string]any{"name": "New", "slug": w.unique("new-")}
		}, want: sysOnly(created)},
		{name: "get_org", method: http.MethodGet, prepare: orgA("", nil), want: inOrgA(ok, ok, ok, ok)},
		{name: "patch_org", method: http.MethodPatch, prepare: orgA("", map[string]any{}), want: inOrgA(forbid, forbid, forbid, ok)},
		{name: "delete_org", method: http.MethodDelete, prepare: orgA("", nil), want: inOrgA(forbid, forbid, forbid, noBody),
			restore: func(t *testing.T, w *world) {
				require.Equal(t, ok, w.sys(t, http.MethodPatch, "/api/v1/orgs/"+w.orgA, map[string]any{"is_active": true}).Status)
			}},
		{name: "list_members", method: http.MethodGet, prepare: orgA("/members", nil), want: inOrgA(ok, ok, ok, ok)},
		{name: "add_member", method: http.MethodPost, prepare: func(t *testing.T, w *world) (string, any) {
			return "/api/v1/orgs/" + w.orgA + "/members", map[string]any{"user_id": newUser(t, w), "role": "viewer"}
		}, want: inOrgA(forbid, forbid, created, created)},
		{name: "change_member_role", method: http.MethodPatch, prepare: func(_ *testing.T, w *world) (string, any) {
			return "/api/v1/orgs/" + w.orgA + "/members/" + w.ids[orgMember], map[string]any{"role": "member"}
		}, want: inOrgA(forbid, forbid, ok, ok)},
		{name: "remove_member", method: http.MethodDelete, prepare: func(t *testing.T, w *world) (string, any) {
			uid := newUser(t, w)
			require.Equal(t, created, w.sys(t, http.MethodPost, "/api/v1/orgs/"+w.orgA+"/members", map[string]any{"user_id": uid, "role": "viewer"}).Status)
			return "/api/v1/orgs/" + w.orgA + "/members/" + uid, nil
		}, want: inOrgA(forbid, forbid, noBody, noBody)},
		{name: "get_org_role_permissions", method: http.MethodGet, prepare: orgA("/role-permissions/member", nil), want: inOrgA(ok, ok, ok, ok)},
		{name: "set_org_role_permissions", method: http.MethodPut, prepare: orgA("/role-permissions/member", map[string]any{"permissions": []string{}}),
			want: inOrgA(forbid, forbid, ok, ok)},
		{name: "list_grants", method: http.MethodGet, prepare: orgA("/grants", nil), want: inOrgA(forbid, forbid, ok, ok)},
		{name: "add_grant", method: http.MethodPost, prepare: func(_ *testing.T, w *world) (string, any) {
			return "/api/v1/orgs/" + w.orgA + "/grants", map[string]any{"user_id": w.ids[orgViewer], "permission": "lab.patient.read"}
		}, want: inOrgA(forbid, forbid, created, created)},
		{name: "delete_grant", method: http.MethodDelete, prepare: func(t *testing.T, w *world) (string, any) {
			res := w.sys(t, http.MethodPost, "/api/v1/orgs/"+w.orgA+"/grants", map[string]any{"user_id": w.ids[orgViewer], "permission": "lab.patient.read"})
			require.Equal(t, created, res.Status, string(res.Body))
			return "/api/v1/orgs/" + w.orgA + "/grants/" + res.JSON(t)["id"].(string), nil
		}, want: inOrgA(forbid, forbid, noBody, noBody)},
		{name: "list_invitations", method: http.MethodGet, prepare: orgA("/invitations", nil), want: inOrgA(forbid, forbid, ok, ok)},
		{name: "create_invitation", method: http.MethodPost, prepare: func(_ *testing.T, w *world) (string, any) {
			return "/api/v1/orgs/" + w.orgA + "/invitations", map[string]any{"email": w.unique("invitee") + "@example.com", "role": "viewer"}
		}, want: inOrgA(forbid, forbid, created, created)},
		{name: "resend_invitation", method: http.MethodPost, prepare: func(t *testing.T, w *world) (string, any) {
			return "/api/v1/orgs/" + w.orgA + "/invitations/" + policyInvitation(t, w) + "/resend", nil
		}, want: inOrgA(forbid, forbid, ok, ok)},
		{name: "revoke_invitation", method: http.MethodDelete, prepare: func(t *testing.T, w *world) (string, any) {
			return "/api/v1/orgs/" + w.orgA + "/invitations/" + policyInvitation(t, w), nil
		}, want: inOrgA(forbid, forbid, noBody, noBody)},
		{name: "list_permissions", method: http.MethodGet, prepare: fixed("/api/v1/permissions", nil), want: everyone(ok)},
		{name: "create_permission", method: http.MethodPost, prepare: func(_ *testing.T, w *world) (string, any) {
			return "/api/v1/permissions", map[string]any{"name": "lab." + w.unique("p")}
		}, want: sysOnly(created)},
		{name: "deactivate_permission", method: http.MethodDelete, prepare: func(t *testing.T, w *world) (string, any) {
			name := "lab." + w.unique("gone")
			require.Equal(t, created, w.sys(t, http.MethodPost, "/api/v1/permissions", map[string]any{"name": name}).Status)
			return "/api/v1/permissions/" + name, nil
		}, want: sysOnly(noBody)},
		{name: "get_global_role_permissions", method: http.MethodGet, prepare: fixed("/api/v1/role-permissions/viewer", nil), want: everyone(ok)},
		{name: "set_global_role_permissions", method: http.MethodPut,
			prepare: fixed("/api/v1/role-permissions/viewer", map[string]any{"permissions": []string{}}), want: sysOnly(ok)},
		{name: "authorize_self", method: http.MethodPost, prepare: func(_ *testing.T, w *world) (string, any) {
			return "/api/v1/authorize", map[string]any{"org_id": w.orgA, "permissions": []string{"lab.patient.read"}}
		}, want: everyone(ok)},
		{name: "authorize_another_user", method: http.MethodPost, prepare: func(_ *testing.T, w *world) (string, any) {
			return "/api/v1/authorize", map[string]any{"org_id": w.orgA, "permissions": []string{}, "user_id": w.ids[orgMember]}
		}, want: [actorKinds]int{unauth, forbid, forbid, ok, forbid, forbid, ok}},
		{name: "authorize_batch", method: http.MethodPost, prepare: func(_ *testing.T, w *world) (string, any) {
			return "/api/v1/authorize/batch", map[string]any{"checks": []map[string]any{{"org_id": w.orgA, "permissions": []string{}}, {"org_id": w.orgB, "permissions": []string{}}}}
		}, want: everyone(ok)},
		{name: "my_permissions", method: http.MethodGet, prepare: func(_ *testing.T, w *world) (string, any) {
			return "/api/v1/me/permissions?org_id=" + w.orgA, nil
		}, want: inOrgA(ok, ok, ok, ok)},
		{name: "list_users", method: http.MethodGet, prepare: fixed("/api/v1/users", nil), want: sysOnly(ok)},
		{name: "create_user", method: http.MethodPost, prepare: func(_ *testing.T, w *world) (string, any) {
			n := w.unique("made")
			return "/api/v1/users", map[string]any{"email": n + "@example.com", "username": n, "password": testPass}
		}, want: sysOnly(created)},
		{name: "get_user", method: http.MethodGet, prepare: func(_ *testing.T, w *world) (string, any) {
			return "/api/v1/users/" + w.ids[orgMember], nil
		}, want: sysOnly(ok)},
		{name: "patch_user", method: http.MethodPatch, prepare: func(_ *testing.T, w *world) (string, any) {
			return "/api/v1/users/" + w.ids[orgMember], map[string]any{}
		}, want: sysOnly(ok)},
		{name: "erase_user", method: http.MethodDelete, prepare: func(t *testing.T, w *world) (string, any) {
			return "/api/v1/users/" + newUser(t, w), nil
		}, want: sysOnly(noBody)},
		{name: "unlock_user", method: http.MethodPost, prepare: func(_ *testing.T, w *world) (string, any) {
			return "/api/v1/users/" + w.ids[orgMember] + "/unlock", nil
		}, want: sysOnly(noBody)},
		{name: "revoke_user_sessions", method: http.MethodPost, prepare: func(t *testing.T, w *world) (string, any) {
			return "/api/v1/users/" + newUser(t, w) + "/revoke-sessions", nil
		}, want: sysOnly(noBody)},
		{name: "require_password_change", method: http.MethodPost, prepare: func(t *testing.T, w *world) (string, any) {
			return "/api/v1/users/" + newUser(t, w) + "/require-password-change", nil
		}, want: sysOnly(noBody)},
		{name: "reset_user_mfa", method: http.MethodPost, prepare: func(t *testing.T, w *world) (string, any) {
			return "/api/v1/users/" + newUser(t, w) + "/mfa/reset", nil
		}, want: sysOnly(http.StatusConflict)}, // allowed, but the new user has no second factor
		{name: "user_organizations", method: http.MethodGet, prepare: func(_ *testing.T, w *world) (string, any) {
			return "/api/v1/users/" + w.ids[orgMember] + "/organizations", nil
		}, want: sysOnly(ok)},
		{name: "audit_events", method: http.MethodGet, prepare: fixed("/api/v1/audit-events", nil), want: sysOnly(ok)},
		{name: "org_audit_events", method: http.MethodGet, prepare: func(_ *testing.T, w *world) (string, any) {
			return "/api/v1/audit-events?org_id=" + w.orgA, nil
		}, want: inOrgA(forbid, forbid, ok, ok)},
		{name: "me", method: http.MethodGet, prepare: fixed("/api/v1/me", nil), want: everyone(ok)},
		{name: "me_export", method: http.MethodGet, prepare: fixed("/api/v1/me/export", nil), want: everyone(ok)},
		{name: "me_sessions", method: http.MethodGet, prepare: fixed("/api/v1/me/sessions", nil), want: everyone(ok)},
	}
}

// machineRoutes are the rows of service accounts, webhooks and personal
// access tokens.
func machineRoutes() []route {
	sa := func(suffix string, body any) func(*testing.T, *world) (string, any) {
		return func(t *testing.T, w *world) (string, any) {
			return "/api/v1/orgs/" + w.orgA + "/service-accounts/" + policyServiceAccount(t, w) + suffix, body
		}
	}
	hook := func(suffix string, body any) func(*testing.T, *world) (string, any) {
		return func(t *testing.T, w *world) (string, any) {
			return webhooksPath + "/" + policyWebhook(t, w) + suffix, body
		}
	}
	client := func(suffix string, body any) func(*testing.T, *world) (string, any) {
		return func(t *testing.T, w *world) (string, any) {
			if w.sharedClient == "" {
				w.sharedClient = newPolicyClient(t, w)
			}
			return "/api/v1/oauth/clients/" + w.sharedClient + suffix, body
		}
	}
	newKey := func(t *testing.T) map[string]any {
		pub, _, err := ed25519.GenerateKey(rand.Reader)
		require.NoError(t, err)
		return map[string]any{"public_key": jwkOf(t, pub)}
	}
	// onlySys: another person's object is not found by anyone but a
	// system admin acting through the admin routes.
	onlySys := func(success int) [actorKinds]int {
		return [actorKinds]int{unauth, hidden, hidden, hidden, hidden, hidden, success}
	}
	return []route{
		{name: "list_service_accounts", method: http.MethodGet, prepare: func(_ *testing.T, w *world) (string, any) {
			return "/api/v1/orgs/" + w.orgA + "/service-accounts", nil
		}, want: inOrgA(ok, ok, ok, ok)},
		{name: "create_service_account", method: http.MethodPost, prepare: func(_ *testing.T, w *world) (string, any) {
			return "/api/v1/orgs/" + w.orgA + "/service-accounts", map[string]any{"name": w.unique("robot "), "role": "viewer"}
		}, want: inOrgA(forbid, forbid, created, created)},
		{name: "get_service_account", method: http.MethodGet, prepare: sa("", nil), want: inOrgA(ok, ok, ok, ok)},
		{name: "patch_service_account", method: http.MethodPatch, prepare: sa("", map[string]any{"description": "patched"}),
			want: inOrgA(forbid, forbid, ok, ok)},
		{name: "delete_service_account", method: http.MethodDelete, prepare: func(t *testing.T, w *world) (string, any) {
			return "/api/v1/orgs/" + w.orgA + "/service-accounts/" + newPolicyServiceAccount(t, w), nil
		}, want: inOrgA(forbid, forbid, noBody, noBody)},
		{name: "rotate_service_account_secret", method: http.MethodPost, prepare: sa("/secret", nil), want: inOrgA(forbid, forbid, ok, ok)},
		{name: "list_service_account_keys", method: http.MethodGet, prepare: sa("/keys", nil), want: inOrgA(ok, ok, ok, ok)},
		{name: "add_service_account_key", method: http.MethodPost, prepare: func(t *testing.T, w *world) (string, any) {
			path, _ := sa("/keys", nil)(t, w)
			return path, newKey(t)
		}, want: inOrgA(forbid, forbid, created, created)},
		{name: "delete_service_account_key", method: http.MethodDelete, prepare: func(t *testing.T, w *world) (string, any) {
			path, _ := sa("/keys", nil)(t, w)
			res := w.sys(t, http.MethodPost, path, newKey(t))
			require.Equal(t, created, res.Status, string(res.Body))
			return path + "/" + res.JSON(t)["kid"].(string), nil
		}, want: inOrgA(forbid, forbid, noBody, noBody)},
		{name: "list_all_service_accounts", method: http.MethodGet, prepare: fixed("/api/v1/service-accounts", nil), want: sysOnly(ok)},

		{name: "list_webhooks", method: http.MethodGet, prepare: fixed(webhooksPath, nil), want: everyone(ok)},
		{name: "create_system_webhook", method: http.MethodPost, prepare: func(_ *testing.T, w *world) (string, any) {
			return webhooksPath, map[string]any{"url": w.sink + "/" + w.unique("sys")}
		}, want: sysOnly(created),
			restore: func(t *testing.T, w *world) { deleteSystemWebhooks(t, w) }},
		{name: "create_org_webhook", method: http.MethodPost, prepare: func(_ *testing.T, w *world) (string, any) {
			return webhooksPath, map[string]any{"url": w.sink + "/" + w.unique("org"), "org_id": w.orgA}
		}, want: inOrgA(forbid, forbid, created, created)},
		{name: "get_webhook", method: http.MethodGet, prepare: hook("", nil), want: inOrgA(forbid, forbid, ok, ok)},
		{name: "patch_webhook", method: http.MethodPatch, prepare: hook("", map[string]any{"description": "patched"}),
			want: inOrgA(forbid, forbid, ok, ok)},
		// A fresh endpoint each time: a second rotation during the overlap
		// of the first is refused.
		{name: "rotate_webhook_secret", method: http.MethodPost, prepare: func(t *testing.T, w *world) (string, any) {
			id, _ := createWebhook(t, w.s, w.tokens[systemAdmin], map[string]any{"url": w.sink + "/" + w.unique("rotated"), "org_id": w.orgA})
			return webhooksPath + "/" + id + "/rotate-secret", nil
		}, want: inOrgA(forbid, forbid, ok, ok)},
		{name: "webhook_deliveries", method: http.MethodGet, prepare: hook("/deliveries", nil), want: inOrgA(forbid, forbid, ok, ok)},
		{name: "replay_webhook_delivery", method: http.MethodPost, prepare: func(t *testing.T, w *world) (string, any) {
			id := policyWebhook(t, w)
			return webhooksPath + "/" + id + "/deliveries/" + policyDelivery(t, w, id) + "/replay", nil
		}, want: inOrgA(forbid, forbid, http.StatusAccepted, http.StatusAccepted),
			// A message is replayed again only once its replay is done.
			restore: func(t *testing.T, w *world) { settled(t, w.s, w.tokens[systemAdmin], policyWebhook(t, w)) }},
		{name: "delete_webhook", method: http.MethodDelete, prepare: func(t *testing.T, w *world) (string, any) {
			id, _ := createWebhook(t, w.s, w.tokens[systemAdmin], map[string]any{"url": w.sink + "/" + w.unique("gone"), "org_id": w.orgA})
			return webhooksPath + "/" + id, nil
		}, want: inOrgA(forbid, forbid, noBody, noBody)},

		{name: "list_oauth_clients", method: http.MethodGet, prepare: fixed("/api/v1/oauth/clients", nil), want: sysOnly(ok)},
		{name: "create_oauth_client", method: http.MethodPost, prepare: func(_ *testing.T, w *world) (string, any) {
			return "/api/v1/oauth/clients", map[string]any{"name": w.unique("client "), "grant_types": []string{"client_credentials"}}
		}, want: sysOnly(created)},
		{name: "get_oauth_client", method: http.MethodGet, prepare: client("", nil), want: sysOnly(ok)},
		{name: "patch_oauth_client", method: http.MethodPatch, prepare: client("", map[string]any{"name": "Renamed"}), want: sysOnly(ok)},
		{name: "rotate_oauth_client_secret", method: http.MethodPost, prepare: client("/rotate-secret", nil), want: sysOnly(ok)},
		{name: "delete_oauth_client", method: http.MethodDelete, prepare: func(t *testing.T, w *world) (string, any) {
			return "/api/v1/oauth/clients/" + newPolicyClient(t, w), nil
		}, want: sysOnly(noBody)},

		{name: "list_my_tokens", method: http.MethodGet, prepare: fixed("/api/v1/me/tokens", nil), want: everyone(ok)},
		{name: "create_my_token", method: http.MethodPost, prepare: func(_ *testing.T, w *world) (string, any) {
			return "/api/v1/me/tokens", map[string]any{"name": w.unique("script"), "expires_at": time.Now().Add(24 * time.Hour).Format(time.RFC3339)}
		}, want: everyone(created)},
		{name: "revoke_another_persons_token", method: http.MethodDelete, prepare: func(t *testing.T, w *world) (string, any) {
			res := w.sys(t, http.MethodPost, "/api/v1/me/tokens", map[string]any{"name": w.unique("sys script"),
				"expires_at": time.Now().Add(24 * time.Hour).Format(time.RFC3339)})
			require.Equal(t, created, res.Status, string(res.Body))
			return "/api/v1/me/tokens/" + res.JSON(t)["id"].(string), nil
		}, want: onlySys(noBody)},
	}
}

// newPolicyServiceAccount is a new service account of A, made by the
// system admin.
func newPolicyServiceAccount(t *testing.T, w *world) string {
	res := w.sys(t, http.MethodPost, "/api/v1/orgs/"+w.orgA+"/service-accounts", map[string]any{"name": w.unique("sa "), "role": "viewer"})
	require.Equal(t, created, res.Status, string(res.Body))
	return res.JSON(t)["id"].(string)
}

// newPolicyClient is a new OAuth client, registered by the system admin.
func newPolicyClient(t *testing.T, w *world) string {
	res := w.sys(t, http.MethodPost, "/api/v1/oauth/clients", map[string]any{"name": w.unique("client "),
		"grant_types": []string{"client_credentials"}})
	require.Equal(t, created, res.Status, string(res.Body))
	return res.JSON(t)["client_id"].(string)
}

// policyServiceAccount is A's shared service account.
func policyServiceAccount(t *testing.T, w *world) string {
	if w.sharedSA == "" {
		w.sharedSA = newPolicyServiceAccount(t, w)
	}
	return w.sharedSA
}

// policyWebhook is A's shared webhook endpoint.
func policyWebhook(t *testing.T, w *world) string {
	if w.sharedHook == "" {
		w.sharedHook, _ = createWebhook(t, w.s, w.tokens[systemAdmin], map[string]any{"url": w.sink + "/shared", "org_id": w.orgA})
	}
	return w.sharedHook
}

// policyDelivery is a finished delivery to A's shared endpoint id (the
// oldest), after an event in A when there is none yet.
func policyDelivery(t *testing.T, w *world, id string) string {
	if len(webhookDeliveries(t, w.s, w.tokens[systemAdmin], id, "")) == 0 {
		newPolicyServiceAccount(t, w)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		if ds := settled(t, w.s, w.tokens[systemAdmin], id); len(ds) > 0 {
			return ds[len(ds)-1]["id"].(string)
		}
		require.True(t, time.Now().Before(deadline), "no delivery to the shared endpoint")
		time.Sleep(50 * time.Millisecond)
	}
}

// deleteSystemWebhooks deletes the system endpoints, which get every
// event the later rows cause.
func deleteSystemWebhooks(t *testing.T, w *world) {
	res := w.sys(t, http.MethodGet, webhooksPath, nil)
	require.Equal(t, ok, res.Status, string(res.Body))
	for _, item := range res.JSON(t)["items"].([]any) {
		e := item.(map[string]any)
		if e["org_id"] == nil {
			require.Equal(t, noBody, w.sys(t, http.MethodDelete, webhooksPath+"/"+e["id"].(string), nil).Status)
		}
	}
}

// operationOf is the OpenAPI operation ("METHOD /template") a request
// to path is.
func operationOf(t *testing.T, method, path string) string {
	t.Helper()
	_, router := contract(t)
	req, err := http.NewRequest(method, path, nil)
	require.NoError(t, err)
	route, _, err := router.FindRoute(req)
	require.NoError(t, err, "%s %s is not in the OpenAPI document", method, path)
	return method + " " + route.Path
}

// outsidePolicyTable are the bearer routes the table leaves out, each
// with where its access rule is tested instead: routes about the
// caller's own credentials, which every signed-in person may use on
// themselves only.
var outsidePolicyTable = map[string]string{
	"POST /api/v1/auth/logout":                  "auth tests: ends the caller's own session",
	"POST /api/v1/auth/logout-all":              "auth tests: ends the caller's own sessions",
	"POST /api/v1/auth/password/change":         "password tests: the caller's own password",
	"GET /api/v1/auth/password/status":          "password tests: the caller's own password's state",
	"POST /api/v1/auth/email/change":            "email change tests: the caller's own address",
	"POST /api/v1/auth/email/verify/resend":     "verification tests: the caller's own address",
	"POST /api/v1/auth/mfa/totp/setup":          "mfa tests: the caller's own second factor",
	"POST /api/v1/auth/mfa/totp/activate":       "mfa tests: the caller's own second factor",
	"POST /api/v1/auth/mfa/totp/disable":        "mfa tests: the caller's own second factor",
	"PATCH /api/v1/me":                          "profile tests: the caller's own profile",
	"DELETE /api/v1/me":                         "erasure tests: the caller's own account, with the password",
	"DELETE /api/v1/me/sessions/{id}":           "sessions tests: another person's session is 404",
	"GET /api/v1/me/consents":                   "oidc consent tests: the caller's own consents",
	"DELETE /api/v1/me/consents/{client_id}":    "oidc consent tests: the caller's own consents",
	"POST /api/v1/invitations/accept":           "invitations_test.go: the token decides, and the verified address",
	"GET /api/v1/me/passkeys":                   "passkeys_test.go: the caller's own passkeys",
	"PATCH /api/v1/me/passkeys/{id}":            "passkeys_test.go: another person's passkey is 404",
	"DELETE /api/v1/me/passkeys/{id}":           "passkeys_test.go: another person's passkey is 404",
	"POST /api/v1/me/passkeys/register/options": "passkeys_test.go: with the caller's password",
	"POST /api/v1/me/passkeys/register":         "passkeys_test.go: the caller's own ceremony",
}

// policyInvitation is a new invitation into A, made by the system admin.
func policyInvitation(t *testing.T, w *world) string {
	res := w.sys(t, http.MethodPost, "/api/v1/orgs/"+w.orgA+"/invitations",
		map[string]any{"email": w.unique("invited") + "@example.com", "role": "viewer"})
	require.Equal(t, created, res.Status, string(res.Body))
	return res.JSON(t)["id"].(string)
}

// TestPolicyTable sends every route as every kind of actor and checks the
// status: the authorization rules as one table.
func TestPolicyTable(t *testing.T) {
	// An issuer, so the OAuth client registry is served too.
	s := startIssuer(t, dbtest.PostgresURL(t), nil)
	w := newWorld(t, s)
	sink := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) { rw.WriteHeader(noBody) }))
	t.Cleanup(sink.Close)
	w.sink = sink.URL
	covered := map[string]bool{}
	for _, r := range append(policyRoutes(), machineRoutes()...) {
		t.Run(r.name, func(t *testing.T) {
			for k := anonymous; k < actorKinds; k++ {
				path, body := r.prepare(t, w)
				covered[operationOf(t, r.method, path)] = true
				res := s.authed(t, r.method, path, w.tokens[k], body)
				assert.Equal(t, r.want[k], res.Status, "%s %s as %s: %s", r.method, path, actorNames[k], res.Body)
				if res.Status < 300 && r.restore != nil {
					r.restore(t, w)
				}
			}
		})
	}

	// Every route that takes a bearer is a row, or says where its rule
	// is tested: a new route cannot go without its access rule checked.
	doc, _ := contract(t)
	var missing, stale []string
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			key := method + " " + path
			bearer := false
			if op.Security != nil {
				for _, req := range *op.Security {
					_, bearer = req["bearer"]
					if bearer {
						break
					}
				}
			}
			_, exempt := outsidePolicyTable[key]
			switch {
			case bearer && !covered[key] && !exempt:
				missing = append(missing, key)
			case exempt && covered[key]:
				stale = append(stale, key)
			}
		}
	}
	for key := range outsidePolicyTable {
		method, path, _ := strings.Cut(key, " ")
		if item := doc.Paths.Value(path); item == nil || item.GetOperation(method) == nil {
			stale = append(stale, key)
		}
	}
	sort.Strings(missing)
	assert.Empty(t, missing, "bearer routes neither in the policy table nor in outsidePolicyTable")
	assert.Empty(t, stale, "outsidePolicyTable entries that are rows, or not routes")
}

package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/bootstrap"
	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/test/dbtest"
	"github.com/ums-project/ums/test/mailtest"
)

const webhooksPath = "/api/v1/webhooks"

// webhookEnv makes delivery fast enough for tests: polls every 50ms,
// retries after 100ms, gives up on a request after a second.
func webhookEnv(extra map[string]string) map[string]string {
	env := map[string]string{"WEBHOOK_POLL_INTERVAL": "50ms", "WEBHOOK_RETRY_BASE": "100ms", "WEBHOOK_TIMEOUT": "1s",
		"WEBHOOK_MAX_ATTEMPTS": "10"}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// forEachDialectWith runs fn against a fresh server on each store, started
// with env.
func forEachDialectWith(t *testing.T, env map[string]string, fn func(t *testing.T, s *server)) {
	for name, url := range dialects {
		t.Run(name, func(t *testing.T) { fn(t, startServer(t, url(t), env)) })
	}
}

// createWebhook registers an endpoint as token and returns its id and
// secret.
func createWebhook(t *testing.T, s *server, token string, body map[string]any) (string, string) {
	t.Helper()
	res := s.authed(t, http.MethodPost, webhooksPath, token, body)
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	m := res.JSON(t)
	secret := m["secret"].(string)
	require.True(t, strings.HasPrefix(secret, "whsec_"), secret)
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(key), 24, "at least 24 random bytes")
	return m["id"].(string), secret
}

// webhookDeliveries lists an endpoint's deliveries as token.
func webhookDeliveries(t *testing.T, s *server, token, id, query string) []map[string]any {
	t.Helper()
	res := s.authed(t, http.MethodGet, webhooksPath+"/"+id+"/deliveries"+query, token, nil)
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	var out []map[string]any
	for _, it := range res.JSON(t)["items"].([]any) {
		out = append(out, it.(map[string]any))
	}
	return out
}

// settled waits until no delivery of the endpoint is pending and returns
// them.
func settled(t *testing.T, s *server, token, id string) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ds := webhookDeliveries(t, s, token, id, "")
		pending := 0
		for _, d := range ds {
			if d["status"] == "pending" {
				pending++
			}
		}
		if pending == 0 || time.Now().After(deadline) {
			require.Zero(t, pending, "deliveries still pending: %v", ds)
			return ds
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// requireHeaders checks the Standard Webhooks headers of a request.
func requireHeaders(t *testing.T, h hook, signatures int) {
	t.Helper()
	assert.True(t, strings.HasPrefix(h.Header.Get("webhook-id"), "msg_"), h.Header.Get("webhook-id"))
	ts, err := strconv.ParseInt(h.Header.Get("webhook-timestamp"), 10, 64)
	require.NoError(t, err)
	assert.InDelta(t, time.Now().Unix(), ts, 60, "unix seconds of the attempt")
	assert.Equal(t, "application/json", h.Header.Get("Content-Type"))
	sigs := strings.Split(h.Header.Get("webhook-signature"), " ")
	require.Len(t, sigs, signatures, h.Header.Get("webhook-signature"))
	for _, s := range sigs {
		assert.True(t, strings.HasPrefix(s, "v1,"), s)
	}
}

// TestWebhooksEndToEnd: a client service registers a receiver and gets
// signed events, verified by the standardwebhooks npm package, within
// seconds of each change; payloads carry ids only.
func TestWebhooksEndToEnd(t *testing.T) {
	forEachDialectWith(t, webhookEnv(nil), func(t *testing.T, s *server) {
		v := newVerifier(t)
		w := newWorld(t, s)
		rcv := newReceiver(t)
		sys := w.tokens[systemAdmin]
		id, secret := createWebhook(t, s, sys, map[string]any{"url": rcv.url("/all"), "description": "everything"})
		filtered, filteredSecret := createWebhook(t, s, sys, map[string]any{"url": rcv.url("/deactivations"),
			"events": []string{"user.deactivated"}})

		res := w.sys(t, http.MethodGet, webhooksPath+"/"+id, nil)
		require.Equal(t, http.StatusOK, res.Status)
		assert.NotContains(t, string(res.Body), secret, "the secret is shown once")
		assert.Nil(t, res.JSON(t)["org_id"])
		assert.Equal(t, true, res.JSON(t)["enabled"])
		res = w.sys(t, http.MethodGet, webhooksPath, nil)
		require.Equal(t, http.StatusOK, res.Status)
		assert.Len(t, res.JSON(t)["items"], 2)
		assert.NotContains(t, string(res.Body), "whsec_")

		arrives := func(what string, match func(hook) bool) hook {
			t.Helper()
			h := rcv.waitFor(t, what, 10*time.Second, match)
			requireHeaders(t, h, 1)
			v.requireVerified(t, secret, h)
			return h
		}
		start := time.Now()
		user := registerUser(t, s, "hooked")
		created := arrives("user.created", event("/all", "user.created", user))
		assert.Less(t, created.At.Sub(start), 5*time.Second, "within seconds")
		assert.Equal(t, "user", created.data("target_type"))
		assert.NotEmpty(t, created.data("audit_event_id"))
		assert.NotEmpty(t, created.Payload.Timestamp)

		start = time.Now()
		tk := login(t, s, "hooked", testPass)
		loggedIn := arrives("login.succeeded", event("/all", "login.succeeded", user))
		assert.Less(t, loggedIn.At.Sub(start), 5*time.Second)
		assert.Equal(t, "session", loggedIn.data("target_type"))

		const wrong = "not the password at all"
		require.Equal(t, http.StatusUnauthorized, s.postJSON(t, loginPath, map[string]any{"login": "hooked", "password": wrong}).Status)
		failed := arrives("login.failed", event("/all", "login.failed", user))
		assert.NotEmpty(t, failed.data("reason"))

		res = w.sys(t, http.MethodPost, "/api/v1/orgs/"+w.orgA+"/members", map[string]any{"user_id": user, "role": "member"})
		require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
		joined := arrives("membership.created", event("/all", "membership.created", user))
		assert.Equal(t, w.orgA, joined.data("org_id"))
		assert.Equal(t, "member", joined.data("role"))
		assert.Equal(t, w.ids[systemAdmin], joined.data("actor_id"))

		start = time.Now()
		res = w.sys(t, http.MethodPatch, "/api/v1/users/"+user, map[string]any{"is_active": false})
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		gone := arrives("user.deactivated", event("/all", "user.deactivated", user))
		assert.Less(t, gone.At.Sub(start), 5*time.Second)
		assert.Contains(t, gone.Payload.Data["fields"], "is_active")
		only := rcv.waitFor(t, "the filtered endpoint's", 10*time.Second, event("/deactivations", "user.deactivated", user))
		v.requireVerified(t, filteredSecret, only)
		assert.Error(t, v.check(t, secret, only), "each endpoint has its own secret")
		assert.Equal(t, gone.Header.Get("webhook-id"), only.Header.Get("webhook-id"), "one message, one id")

		for _, h := range rcv.all() {
			body := string(h.Body)
			for _, never := range []string{"hooked@example.com", "sys@example.com", testPass, wrong, secret, filteredSecret,
				"whsec_", "password_hash", tk.AccessToken, tk.RefreshToken} {
				assert.NotContains(t, body, never, "payloads carry ids only: %s", body)
			}
			if h.Path == "/deactivations" {
				assert.Equal(t, "user.deactivated", h.Payload.Type, "the filter holds")
			}
		}

		ds := settled(t, s, sys, id)
		assert.GreaterOrEqual(t, len(ds), 5)
		for _, d := range ds {
			assert.Equal(t, "succeeded", d["status"])
			assert.EqualValues(t, http.StatusNoContent, d["last_status"])
			assert.Nil(t, d["last_error"])
			assert.EqualValues(t, 1, d["attempts"])
		}
		fds := settled(t, s, sys, filtered)
		require.Len(t, fds, 1, "the filter holds at fan-out")
		assert.Equal(t, "user.deactivated", fds[0]["event_type"])
		assert.Len(t, auditDetails(t, s, "webhook.endpoint_created"), 2)
		for _, d := range auditDetails(t, s, "webhook.endpoint_created") {
			assert.NotContains(t, d, "/all", "the audit trail keeps scheme and host only")
		}
	})
}

// TestWebhookRetries: a 500 and a timeout are retried with backoff under
// the same webhook-id until the receiver takes the message.
func TestWebhookRetries(t *testing.T) {
	forEachDialectWith(t, webhookEnv(map[string]string{"WEBHOOK_TIMEOUT": "300ms"}), func(t *testing.T, s *server) {
		v := newVerifier(t)
		w := newWorld(t, s)
		rcv := newReceiver(t)
		id, secret := createWebhook(t, s, w.tokens[systemAdmin], map[string]any{"url": rcv.url("/h"), "events": []string{"user.created"}})
		// The first message fails twice with a 500; the second one's first
		// answer comes after WEBHOOK_TIMEOUT.
		var mu sync.Mutex
		order := map[string]int{}
		rcv.setRespond(func(h hook, n int) (int, time.Duration) {
			mu.Lock()
			id := h.Header.Get("webhook-id")
			if _, ok := order[id]; !ok {
				order[id] = len(order)
			}
			ordinal := order[id]
			mu.Unlock()
			switch {
			case ordinal == 0 && n < 2:
				return http.StatusInternalServerError, 0
			case ordinal == 1 && n == 0:
				return http.StatusOK, time.Second
			}
			return http.StatusOK, 0
		})
		failing := registerUser(t, s, "retried500")
		rcv.waitFor(t, "the first message", 10*time.Second, event("/h", "user.created", failing))
		slow := registerUser(t, s, "retriedslow")

		var attempts []hook
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			attempts = attempts[:0]
			for _, h := range rcv.all() {
				if h.data("user_id") == failing {
					attempts = append(attempts, h)
				}
			}
			if len(attempts) >= 3 {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		require.GreaterOrEqual(t, len(attempts), 3, "two 500s, then a success")
		for _, h := range attempts {
			assert.Equal(t, attempts[0].Header.Get("webhook-id"), h.Header.Get("webhook-id"), "retries keep the id")
			v.requireVerified(t, secret, h)
		}
		assert.GreaterOrEqual(t, attempts[1].At.Sub(attempts[0].At), 80*time.Millisecond, "WEBHOOK_RETRY_BASE, less 20% jitter")
		assert.GreaterOrEqual(t, attempts[2].At.Sub(attempts[1].At), 160*time.Millisecond, "doubled")
		rcv.waitFor(t, "the slow one's retry", 10*time.Second, func(h hook) bool {
			n := 0
			for _, g := range rcv.all() {
				if g.data("user_id") == slow {
					n++
				}
			}
			return n >= 2
		})

		ds := settled(t, s, w.tokens[systemAdmin], id)
		byUser := map[int]map[string]any{}
		for _, d := range ds {
			byUser[int(d["attempts"].(float64))] = d
			assert.Equal(t, "succeeded", d["status"])
			assert.Nil(t, d["last_error"], "a success clears the error")
		}
		assert.Contains(t, byUser, 3, "the 500s: three attempts")
		assert.Contains(t, byUser, 2, "the timeout: two attempts")
		res := s.authed(t, http.MethodGet, webhooksPath+"/"+id, w.tokens[systemAdmin], nil)
		assert.Nil(t, res.JSON(t)["failing_since"], "a success ends the failure record")
	})
}

// TestWebhookOutboxSurvivesRestart: events queued while no instance
// delivers are delivered by the next instance on the same database.
func TestWebhookOutboxSurvivesRestart(t *testing.T) {
	for name, url := range dialects {
		t.Run(name, func(t *testing.T) {
			v := newVerifier(t)
			kek := make([]byte, 32)
			_, _ = rand.Read(kek)
			dbURL := url(t)
			// The first instance's worker looks once, at start, then sleeps
			// for an hour: what is queued afterwards stays in the outbox.
			idle := webhookEnv(map[string]string{"KEY_ENCRYPTION_KEY": base64.StdEncoding.EncodeToString(kek),
				"WEBHOOK_POLL_INTERVAL": "1h"})
			first := startServer(t, dbURL, idle)
			w := newWorld(t, first)
			rcv := newReceiver(t)
			_, secret := createWebhook(t, first, w.tokens[systemAdmin], map[string]any{"url": rcv.url("/h")})
			var users []string
			for _, name := range []string{"restart1", "restart2", "restart3"} {
				users = append(users, registerUser(t, first, name))
			}
			var waiting int
			require.NoError(t, first.db.NewRaw("SELECT count(*) FROM webhook_messages WHERE fanned_out_at IS NULL").
				Scan(context.Background(), &waiting))
			assert.Equal(t, 3, waiting, "queued in the outbox")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			require.NoError(t, first.app.Stop(ctx))
			cancel()
			assert.Empty(t, rcv.all(), "nothing was sent before the stop")

			delete(idle, "WEBHOOK_POLL_INTERVAL")
			second := startServer(t, dbURL, webhookEnv(idle))
			for _, u := range users {
				h := rcv.waitFor(t, "a queued user.created", 10*time.Second, event("/h", "user.created", u))
				v.requireVerified(t, secret, h)
			}
			login(t, second, "restart1", testPass)
			rcv.waitFor(t, "the new instance's own events", 10*time.Second, event("/h", "login.succeeded", users[0]))
		})
	}
}

// TestWebhookReplay sends a delivered message again: a new delivery of
// the same message, same webhook-id and body, signed anew.
func TestWebhookReplay(t *testing.T) {
	forEachDialectWith(t, webhookEnv(nil), func(t *testing.T, s *server) {
		v := newVerifier(t)
		w := newWorld(t, s)
		rcv := newReceiver(t)
		sys := w.tokens[systemAdmin]
		id, secret := createWebhook(t, s, sys, map[string]any{"url": rcv.url("/h"), "events": []string{"user.created"}})
		other, _ := createWebhook(t, s, sys, map[string]any{"url": rcv.url("/other"), "events": []string{"org.created"}})
		user := registerUser(t, s, "replayed")
		first := rcv.waitFor(t, "user.created", 10*time.Second, event("/h", "user.created", user))
		ds := settled(t, s, sys, id)
		require.Len(t, ds, 1)
		original := ds[0]
		assert.Equal(t, first.Header.Get("webhook-id"), original["message_id"])

		res := w.sys(t, http.MethodPost, webhooksPath+"/"+id+"/deliveries/"+original["id"].(string)+"/replay", nil)
		require.Equal(t, http.StatusAccepted, res.Status, string(res.Body))
		replay := res.JSON(t)
		assert.Equal(t, original["id"], replay["replay_of"])
		assert.Equal(t, original["message_id"], replay["message_id"])
		assert.Equal(t, "pending", replay["status"])

		again := rcv.waitFor(t, "the replay", 10*time.Second, func(h hook) bool {
			return h.Path == "/h" && h.Header.Get("webhook-id") == first.Header.Get("webhook-id") && h.At.After(first.At)
		})
		assert.Equal(t, first.Body, again.Body, "the same message")
		v.requireVerified(t, secret, again)
		ds = settled(t, s, sys, id)
		require.Len(t, ds, 2)
		assert.Equal(t, replay["id"], ds[0]["id"], "newest first")
		assert.Equal(t, "succeeded", ds[0]["status"])
		assert.Len(t, webhookDeliveries(t, s, sys, id, "?status=succeeded&limit=1"), 1)
		assert.Equal(t, http.StatusUnprocessableEntity, w.sys(t, http.MethodGet, webhooksPath+"/"+id+"/deliveries?status=lost", nil).Status)

		assert.Equal(t, http.StatusNotFound, w.sys(t, http.MethodPost,
			webhooksPath+"/"+other+"/deliveries/"+original["id"].(string)+"/replay", nil).Status, "another endpoint's delivery")
		assert.Equal(t, http.StatusNotFound, w.sys(t, http.MethodPost,
			webhooksPath+"/"+id+"/deliveries/"+w.orgA+"/replay", nil).Status)
		assert.Equal(t, http.StatusNotFound, w.sys(t, http.MethodPost, webhooksPath+"/"+id+"/deliveries/nope/replay", nil).Status)
		assert.Len(t, auditDetails(t, s, "webhook.delivery_replayed"), 1)

		// Replays are bounded: a pending delivery is not replayed, and one
		// delivery of a message at most waits per endpoint. The receiver
		// fails, so the next replay stays pending while this is checked.
		rcv.setRespond(func(hook, int) (int, time.Duration) { return http.StatusInternalServerError, 0 })
		replayOf := func(delivery string) response {
			return w.sys(t, http.MethodPost, webhooksPath+"/"+id+"/deliveries/"+delivery+"/replay", nil)
		}
		res = replayOf(original["id"].(string))
		require.Equal(t, http.StatusAccepted, res.Status, string(res.Body))
		pending := res.JSON(t)["id"].(string)
		for delivery, code := range map[string]string{pending: "delivery_pending",
			original["id"].(string): "replay_pending", replay["id"].(string): "replay_pending"} {
			res = replayOf(delivery)
			require.Equal(t, http.StatusConflict, res.Status, string(res.Body))
			assert.Equal(t, code, res.JSON(t)["code"])
		}
		assert.Len(t, webhookDeliveries(t, s, sys, id, "?status=pending"), 1, "one waits")
		rcv.setRespond(func(hook, int) (int, time.Duration) { return http.StatusNoContent, 0 })
		ds = settled(t, s, sys, id)
		require.Len(t, ds, 3)
		assert.Equal(t, "succeeded", ds[0]["status"], "the replay got through once the receiver recovered")
		assert.Len(t, auditDetails(t, s, "webhook.delivery_replayed"), 2, "refused replays are not")

		res = w.sys(t, http.MethodPatch, webhooksPath+"/"+id, map[string]any{"enabled": false})
		require.Equal(t, http.StatusOK, res.Status)
		assert.Equal(t, "manual", res.JSON(t)["disabled_reason"])
		res = w.sys(t, http.MethodPost, webhooksPath+"/"+id+"/deliveries/"+original["id"].(string)+"/replay", nil)
		assert.Equal(t, http.StatusConflict, res.Status, string(res.Body))
	})
}

// TestWebhookSecretRotation: after a rotation both secrets sign until the
// overlap ends; then only the new one does.
func TestWebhookSecretRotation(t *testing.T) {
	forEachDialectWith(t, webhookEnv(map[string]string{"WEBHOOK_SECRET_OVERLAP": "2s"}), func(t *testing.T, s *server) {
		v := newVerifier(t)
		w := newWorld(t, s)
		rcv := newReceiver(t)
		sys := w.tokens[systemAdmin]
		id, oldSecret := createWebhook(t, s, sys, map[string]any{"url": rcv.url("/h"), "events": []string{"user.created"}})

		res := w.sys(t, http.MethodPost, webhooksPath+"/"+id+"/rotate-secret", nil)
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		rotated := res.JSON(t)
		newSecret := rotated["secret"].(string)
		require.NotEqual(t, oldSecret, newSecret)
		until, err := time.Parse(time.RFC3339Nano, rotated["previous_secret_expires_at"].(string))
		require.NoError(t, err)
		assert.WithinDuration(t, time.Now().Add(2*time.Second), until, time.Second)
		assert.NotContains(t, string(w.sys(t, http.MethodGet, webhooksPath+"/"+id, nil).Body), newSecret)

		// Rotating again during the overlap would drop the old secret,
		// which receivers may still verify with.
		res = w.sys(t, http.MethodPost, webhooksPath+"/"+id+"/rotate-secret", nil)
		require.Equal(t, http.StatusConflict, res.Status, string(res.Body))
		assert.Equal(t, "rotation_in_progress", res.JSON(t)["code"])
		assert.Contains(t, res.JSON(t)["detail"], until.Add(time.Second-time.Nanosecond).Truncate(time.Second).UTC().Format(time.RFC3339),
			"says when the overlap ends")
		assert.NotContains(t, string(res.Body), newSecret)

		during := registerUser(t, s, "rotation1")
		h := rcv.waitFor(t, "during the overlap", 10*time.Second, event("/h", "user.created", during))
		require.True(t, time.Now().Before(until), "the test is too slow for its overlap")
		requireHeaders(t, h, 2)
		v.requireVerified(t, newSecret, h)
		v.requireVerified(t, oldSecret, h)

		time.Sleep(time.Until(until) + 100*time.Millisecond)
		after := registerUser(t, s, "rotation2")
		h = rcv.waitFor(t, "after the overlap", 10*time.Second, event("/h", "user.created", after))
		requireHeaders(t, h, 1)
		v.requireVerified(t, newSecret, h)
		assert.Error(t, v.check(t, oldSecret, h), "the old secret no longer signs")
		assert.Len(t, auditDetails(t, s, "webhook.secret_rotated"), 1, "the refused rotation is not")

		res = w.sys(t, http.MethodPost, webhooksPath+"/"+id+"/rotate-secret", nil)
		require.Equal(t, http.StatusOK, res.Status, "the overlap is over: %s", res.Body)
		assert.NotEqual(t, newSecret, res.JSON(t)["secret"])
	})
}

// TestWebhookAutoDisable: an endpoint that fails without a success for
// WEBHOOK_DISABLE_AFTER is disabled, with an audit event; enabling it
// again sends what waited.
func TestWebhookAutoDisable(t *testing.T) {
	env := webhookEnv(map[string]string{"WEBHOOK_DISABLE_AFTER": "1s", "WEBHOOK_MAX_ATTEMPTS": "30"})
	forEachDialectWith(t, env, func(t *testing.T, s *server) {
		w := newWorld(t, s)
		rcv := newReceiver(t)
		rcv.setRespond(func(hook, int) (int, time.Duration) { return http.StatusInternalServerError, 0 })
		sys := w.tokens[systemAdmin]
		id, _ := createWebhook(t, s, sys, map[string]any{"url": rcv.url("/h"), "events": []string{"user.created"}})
		user := registerUser(t, s, "doomed")

		var ep map[string]any
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			ep = w.sys(t, http.MethodGet, webhooksPath+"/"+id, nil).JSON(t)
			if ep["enabled"] == false {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		require.Equal(t, false, ep["enabled"], "disabled after failing for WEBHOOK_DISABLE_AFTER")
		assert.Equal(t, "failing", ep["disabled_reason"])
		assert.NotNil(t, ep["failing_since"])
		events, err := auditLog(s).Recent(context.Background(), 50)
		require.NoError(t, err)
		found := false
		for _, e := range events {
			if e.Action == "webhook.endpoint_disabled" {
				found = true
				assert.Equal(t, id, e.TargetID)
				assert.Nil(t, e.ActorID, "UMS did it")
				assert.Equal(t, "failing", e.Details["reason"])
			}
		}
		assert.True(t, found, "the disabling is audited")
		assert.Len(t, auditDetails(t, s, "webhook.endpoint_disabled"), 1, "once")

		settledCount := len(rcv.all())
		time.Sleep(500 * time.Millisecond)
		assert.Equal(t, settledCount, len(rcv.all()), "nothing is sent to a disabled endpoint")
		ds := webhookDeliveries(t, s, sys, id, "")
		require.Len(t, ds, 1)
		assert.Equal(t, "pending", ds[0]["status"])
		assert.EqualValues(t, http.StatusInternalServerError, ds[0]["last_status"])
		assert.Equal(t, "HTTP 500", ds[0]["last_error"])

		rcv.setRespond(func(hook, int) (int, time.Duration) { return http.StatusOK, 0 })
		enabled := time.Now()
		res := w.sys(t, http.MethodPatch, webhooksPath+"/"+id, map[string]any{"enabled": true})
		require.Equal(t, http.StatusOK, res.Status)
		assert.Nil(t, res.JSON(t)["disabled_reason"])
		assert.Nil(t, res.JSON(t)["failing_since"])
		rcv.waitFor(t, "the waiting message once enabled", 10*time.Second, func(h hook) bool {
			return h.data("user_id") == user && h.At.After(enabled)
		})
		assert.Equal(t, "succeeded", settled(t, s, sys, id)[0]["status"])
	})
}

// TestWebhookOrgAdminScope: an organization admin manages their
// organization's endpoints only, which receive that organization's events
// only; the policy answers 404 where the organization is not visible and
// 403 where it is but not administered.
func TestWebhookOrgAdminScope(t *testing.T) {
	forEachDialectWith(t, webhookEnv(nil), func(t *testing.T, s *server) {
		v := newVerifier(t)
		w := newWorld(t, s)
		rcv := newReceiver(t)
		admin := w.tokens[orgAdmin]
		body := func(path, org string) map[string]any {
			m := map[string]any{"url": rcv.url(path)}
			if org != "" {
				m["org_id"] = org
			}
			return m
		}
		for _, c := range []struct {
			who    int
			org    string
			status int
		}{
			{orgAdmin, "", http.StatusForbidden},
			{orgAdmin, w.orgB, http.StatusNotFound},
			{orgMember, w.orgA, http.StatusForbidden},
			{orgViewer, w.orgA, http.StatusForbidden},
			{plainUser, w.orgA, http.StatusNotFound},
			{anonymous, w.orgA, http.StatusUnauthorized},
		} {
			res := s.authed(t, http.MethodPost, webhooksPath, w.tokens[c.who], body("/x", c.org))
			assert.Equal(t, c.status, res.Status, "%s creating for %q: %s", actorNames[c.who], c.org, res.Body)
		}
		res := s.authed(t, http.MethodPost, webhooksPath, admin, map[string]any{"url": rcv.url("/a"), "org_id": "nope"})
		assert.Equal(t, http.StatusUnprocessableEntity, res.Status)

		orgHook, orgSecret := createWebhook(t, s, admin, body("/a", w.orgA))
		sysHook, _ := createWebhook(t, s, w.tokens[systemAdmin], body("/sys", ""))
		for who, want := range map[int]int{orgAdmin: 200, systemAdmin: 200, orgMember: 403, orgViewer: 403,
			otherOrgAdmin: 404, plainUser: 404} {
			assert.Equal(t, want, s.authed(t, http.MethodGet, webhooksPath+"/"+orgHook, w.tokens[who], nil).Status, actorNames[who])
			assert.Equal(t, want, s.authed(t, http.MethodGet, webhooksPath+"/"+orgHook+"/deliveries", w.tokens[who], nil).Status, actorNames[who])
		}
		assert.Equal(t, http.StatusNotFound, s.authed(t, http.MethodGet, webhooksPath+"/"+sysHook, admin, nil).Status,
			"a system endpoint is not an org admin's to see")
		assert.Equal(t, http.StatusNotFound, s.authed(t, http.MethodDelete, webhooksPath+"/"+sysHook, admin, nil).Status)
		assert.Equal(t, http.StatusForbidden, s.authed(t, http.MethodPatch, webhooksPath+"/"+orgHook, w.tokens[orgMember],
			map[string]any{"description": "mine now"}).Status)

		list := s.authed(t, http.MethodGet, webhooksPath, admin, nil)
		require.Equal(t, http.StatusOK, list.Status)
		items := list.JSON(t)["items"].([]any)
		require.Len(t, items, 1, "only their organization's")
		assert.Equal(t, orgHook, items[0].(map[string]any)["id"])
		assert.Equal(t, http.StatusNotFound, s.authed(t, http.MethodGet, webhooksPath+"?org_id="+w.orgB, admin, nil).Status)
		assert.Equal(t, http.StatusForbidden, s.authed(t, http.MethodGet, webhooksPath+"?org_id="+w.orgA, w.tokens[orgMember], nil).Status)
		assert.Empty(t, s.authed(t, http.MethodGet, webhooksPath, w.tokens[plainUser], nil).JSON(t)["items"])
		assert.Len(t, w.sys(t, http.MethodGet, webhooksPath, nil).JSON(t)["items"], 2, "a system admin sees all")
		assert.Len(t, w.sys(t, http.MethodGet, webhooksPath+"?org_id="+w.orgA, nil).JSON(t)["items"], 1)

		inB := registerUser(t, s, "joins_b")
		inA := registerUser(t, s, "joins_a")
		require.Equal(t, http.StatusCreated, w.sys(t, http.MethodPost, "/api/v1/orgs/"+w.orgB+"/members",
			map[string]any{"user_id": inB, "role": "viewer"}).Status)
		require.Equal(t, http.StatusCreated, w.sys(t, http.MethodPost, "/api/v1/orgs/"+w.orgA+"/members",
			map[string]any{"user_id": inA, "role": "viewer"}).Status)
		h := rcv.waitFor(t, "org A's membership at org A's endpoint", 10*time.Second, event("/a", "membership.created", inA))
		v.requireVerified(t, orgSecret, h)
		assert.Equal(t, w.orgA, h.data("org_id"))
		rcv.waitFor(t, "org B's membership at the system endpoint", 10*time.Second, event("/sys", "membership.created", inB))
		rcv.waitFor(t, "org A's membership at the system endpoint", 10*time.Second, event("/sys", "membership.created", inA))
		for _, d := range settled(t, s, admin, orgHook) {
			assert.Equal(t, "membership.created", d["event_type"], "only org A's events: no user.created of no organization")
		}
		for _, g := range rcv.all() {
			if g.Path == "/a" {
				assert.Equal(t, w.orgA, g.data("org_id"), "org A's endpoint gets org A's events only")
			}
		}

		res = s.authed(t, http.MethodPatch, webhooksPath+"/"+orgHook, admin, map[string]any{"events": []string{"grant.created"}, "description": "grants"})
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		assert.Equal(t, []any{"grant.created"}, res.JSON(t)["events"])
		res = s.authed(t, http.MethodPatch, webhooksPath+"/"+orgHook, admin, map[string]any{"events": []string{"user.exploded"}})
		assert.Equal(t, http.StatusUnprocessableEntity, res.Status)
		assert.Equal(t, http.StatusNoContent, s.authed(t, http.MethodDelete, webhooksPath+"/"+orgHook, admin, nil).Status)
		assert.Equal(t, http.StatusNotFound, s.authed(t, http.MethodGet, webhooksPath+"/"+orgHook, admin, nil).Status)
		assert.Len(t, auditDetails(t, s, "webhook.endpoint_deleted"), 1)
	})
}

// TestWebhookEndpointsAreBoundedPerScope: every event goes to each
// endpoint, so an organization (and the system) holds at most 25; the
// next is a 409 until one is deleted, and other organizations are not
// affected.
func TestWebhookEndpointsAreBoundedPerScope(t *testing.T) {
	forEachDialectWith(t, webhookEnv(nil), func(t *testing.T, s *server) {
		w := newWorld(t, s)
		rcv := newReceiver(t)
		admin := w.tokens[orgAdmin]
		var first string
		for i := range domain.MaxWebhookEndpoints {
			id, _ := createWebhook(t, s, admin, map[string]any{"url": rcv.url(fmt.Sprintf("/a%d", i)), "org_id": w.orgA})
			if i == 0 {
				first = id
			}
		}
		res := s.authed(t, http.MethodPost, webhooksPath, admin, map[string]any{"url": rcv.url("/one-too-many"), "org_id": w.orgA})
		require.Equal(t, http.StatusConflict, res.Status, string(res.Body))
		assert.Equal(t, "too_many_endpoints", res.JSON(t)["code"])
		createWebhook(t, s, w.tokens[systemAdmin], map[string]any{"url": rcv.url("/b"), "org_id": w.orgB})
		createWebhook(t, s, w.tokens[systemAdmin], map[string]any{"url": rcv.url("/sys")})

		require.Equal(t, http.StatusNoContent, s.authed(t, http.MethodDelete, webhooksPath+"/"+first, admin, nil).Status)
		createWebhook(t, s, admin, map[string]any{"url": rcv.url("/after-delete"), "org_id": w.orgA})
	})
}

// TestWebhookTargetGuardInProduction: in production an endpoint must be
// https on a public address (registration answers 422 otherwise), and a
// delivery is refused when the address actually dialled is internal, as
// after a DNS rebinding or for an endpoint registered before the rules
// applied.
func TestWebhookTargetGuardInProduction(t *testing.T) {
	dbURL := dbtest.PostgresURL(t)
	kek := make([]byte, 32)
	_, _ = rand.Read(kek)
	shared := webhookEnv(map[string]string{"KEY_ENCRYPTION_KEY": base64.StdEncoding.EncodeToString(kek)})
	rcv := newReceiver(t)
	loopback := strings.Replace(rcv.url("/h"), "http://", "https://", 1)

	dev := startServer(t, dbURL, shared)
	_, err := bootstrap.CreateAdmin(context.Background(), dev.cfg, zap.NewNop(), application.RegisterInput{
		Email: "sys@example.com", Username: "sys", Password: testPass})
	require.NoError(t, err)
	id, _ := createWebhook(t, dev, login(t, dev, "sys", testPass).AccessToken, map[string]any{"url": loopback})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	require.NoError(t, dev.app.Stop(ctx))
	cancel()

	smtp := mailtest.Start(t)
	prodEnv := mailEnv(smtp, map[string]string{"ENV": "production", "METRICS_ADDR": "127.0.0.1:0"})
	for k, v := range shared {
		prodEnv[k] = v
	}
	prod := startServer(t, dbURL, prodEnv)
	require.True(t, prod.cfg.IsProduction())
	sys := login(t, prod, "sys", testPass).AccessToken
	for _, u := range []string{loopback, "https://127.0.0.1/hook", "https://localhost/hook", "https://10.1.2.3/hook",
		"https://169.254.169.254/latest/meta-data", "https://[::1]/hook", "https://100.64.0.1/hook", "http://8.8.8.8/hook",
		"https://user:pw@8.8.8.8/hook"} {
		res := prod.authed(t, http.MethodPost, webhooksPath, sys, map[string]any{"url": u})
		require.Equal(t, http.StatusUnprocessableEntity, res.Status, "%s: %s", u, res.Body)
		assert.Contains(t, string(res.Body), `"field":"url"`, u)
	}
	res := prod.authed(t, http.MethodPatch, webhooksPath+"/"+id, sys, map[string]any{"url": "https://192.168.1.1/hook"})
	assert.Equal(t, http.StatusUnprocessableEntity, res.Status, "a change is checked too")

	user := registerUser(t, prod, "ssrf_probe")
	var last map[string]any
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, d := range webhookDeliveries(t, prod, sys, id, "") {
			if d["attempts"].(float64) >= 1 && d["last_error"] != nil {
				last = d
			}
		}
		if last != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	require.NotNil(t, last, "the delivery to %s was tried (user %s)", loopback, user)
	assert.Contains(t, last["last_error"], "refused")
	assert.Contains(t, last["last_error"], "127.0.0.1")
	assert.Nil(t, last["last_status"])
	assert.Zero(t, rcv.connections(), "no connection ever reached the internal address")
	assert.Empty(t, rcv.all())
}

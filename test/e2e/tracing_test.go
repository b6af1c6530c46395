package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/fx"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/bootstrap"
	"github.com/ums-project/ums/test/dbtest"
)

const (
	bunScope   = "github.com/uptrace/bun"
	redisScope = "github.com/redis/go-redis/extra/redisotel"
)

// traced is a server whose spans land in an in-memory recorder and whose
// log lines in an observer.
type traced struct {
	*server
	spans *tracetest.SpanRecorder
	logs  *observer.ObservedLogs
}

func startTraced(t *testing.T, dbURL string, env map[string]string) *traced {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	core, logs := observer.New(zap.InfoLevel)
	s := startServerWith(t, dbURL, env, zap.New(core), fx.Replace(bootstrap.Tracing{
		Provider:   tp,
		Propagator: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
	}))
	return &traced{server: s, spans: rec, logs: logs}
}

// callerContext is a remote caller's span context, sampled, as a
// traceparent header carries it.
func callerContext(t *testing.T) (trace.TraceID, trace.SpanID, string) {
	t.Helper()
	var tid trace.TraceID
	var sid trace.SpanID
	copy(tid[:], randomBytes(t, 16))
	copy(sid[:], randomBytes(t, 8))
	return tid, sid, fmt.Sprintf("00-%s-%s-01", tid, sid)
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

// trace waits for the server span of trace tid to end (it ends just after
// the response is written) and returns every span of that trace.
func (s *traced) trace(t *testing.T, tid trace.TraceID) (server sdktrace.ReadOnlySpan, all []sdktrace.ReadOnlySpan) {
	t.Helper()
	require.Eventually(t, func() bool {
		server, all = nil, nil
		for _, sp := range s.spans.Ended() {
			if sp.SpanContext().TraceID() != tid {
				continue
			}
			all = append(all, sp)
			if sp.SpanKind() == trace.SpanKindServer {
				server = sp
			}
		}
		return server != nil
	}, 5*time.Second, 10*time.Millisecond, "no server span for trace %s", tid)
	return server, all
}

// descendsFrom reports whether sp's parent chain within spans reaches root.
func descendsFrom(sp sdktrace.ReadOnlySpan, root trace.SpanID, spans []sdktrace.ReadOnlySpan) bool {
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		byID[s.SpanContext().SpanID()] = s
	}
	for p := sp.Parent().SpanID(); p.IsValid(); {
		if p == root {
			return true
		}
		parent, ok := byID[p]
		if !ok {
			return false
		}
		p = parent.Parent().SpanID()
	}
	return false
}

func attr(sp sdktrace.ReadOnlySpan, key attribute.Key) (attribute.Value, bool) {
	for _, kv := range sp.Attributes() {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

// sqlScopes report SQL spans: Bun's queries (bunotel) and the store's
// prepared hot-path reads.
var sqlScopes = map[string]bool{bunScope: true, "github.com/ums-project/ums/adapters/sqlstore": true}

// tracedCall sends a request as a caller in trace tid would and checks the
// trace: one server span, a child of the caller's span, named by route;
// its SQL spans under it, on the dialect's system, with placeholders and
// never the values (secret must appear in no statement). It returns the
// server span and the names of the SQL spans.
func (s *traced) tracedCall(t *testing.T, dialect, method, path, token string, body any, route string, wantStatus int, secrets ...string) (sdktrace.ReadOnlySpan, []string) {
	t.Helper()
	tid, callerSpan, traceparent := callerContext(t)
	var r io.Reader
	ct := ""
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		r, ct = bytes.NewReader(b), "application/json"
	}
	res := s.request(t, method, path, ct, r, map[string]string{"Authorization": "Bearer " + token, "traceparent": traceparent})
	require.Equal(t, wantStatus, res.Status, string(res.Body))

	srv, spans := s.trace(t, tid)
	var servers int
	for _, sp := range spans {
		if sp.SpanKind() == trace.SpanKindServer {
			servers++
		}
	}
	assert.Equal(t, 1, servers, "one server span in the trace")
	assert.Equal(t, callerSpan, srv.Parent().SpanID(), "the server span is the caller's span's child")
	assert.True(t, srv.Parent().IsRemote())
	assert.Equal(t, method+" "+route, srv.Name())
	gotRoute, _ := attr(srv, "http.route")
	assert.Equal(t, route, gotRoute.AsString())
	status, _ := attr(srv, "http.response.status_code")
	assert.EqualValues(t, wantStatus, status.AsInt64())

	wantSystem := map[string]string{"sqlite": "sqlite", "postgres": "postgresql"}[dialect]
	var names []string
	for _, sp := range spans {
		if !sqlScopes[sp.InstrumentationScope().Name] {
			continue
		}
		names = append(names, sp.Name())
		assert.Equal(t, trace.SpanKindClient, sp.SpanKind())
		assert.True(t, descendsFrom(sp, srv.SpanContext().SpanID(), spans), "query span %q is not under the request's span", sp.Name())
		system, _ := attr(sp, "db.system")
		assert.Equal(t, wantSystem, system.AsString(), sp.Name())
		stmt, _ := attr(sp, "db.statement")
		assert.NotEmpty(t, stmt.AsString(), sp.Name())
		for _, secret := range secrets {
			assert.NotContains(t, stmt.AsString(), secret, "%s: placeholders only, never values", sp.Name())
		}
	}
	return srv, names
}

func TestTracingOneTraceFromRequestToSQL(t *testing.T) {
	for name, url := range dialects {
		t.Run(name, func(t *testing.T) {
			s := startTraced(t, url(t), nil)
			_, err := bootstrap.CreateAdmin(context.Background(), s.cfg, zap.NewNop(), application.RegisterInput{
				Email: "sys@example.com", Username: "sys", Password: testPass})
			require.NoError(t, err)
			admin := login(t, s.server, "sys", testPass).AccessToken
			id := registerUser(t, s.server, "traced-user")

			// A read: the user comes from a prepared statement.
			srv, queries := s.tracedCall(t, name, http.MethodGet, "/api/v1/users/"+id, admin, nil,
				"/api/v1/users/:id", http.StatusOK, id, "traced-user")
			assert.Contains(t, queries, "SELECT users")

			// A write: Bun's transaction, its statements and the audit row.
			_, queries = s.tracedCall(t, name, http.MethodPatch, "/api/v1/users/"+id, admin,
				map[string]any{"first_name": "Grace-Hopper"}, "/api/v1/users/:id", http.StatusOK, id, "Grace-Hopper")
			assert.Contains(t, queries, "BEGIN")
			assert.Contains(t, queries, "UPDATE users")
			assert.Contains(t, queries, "INSERT audit_events")
			assert.Contains(t, queries, "COMMIT")

			// The access log line of the read names its trace and span.
			tid := srv.SpanContext().TraceID()
			var line *observer.LoggedEntry
			for _, e := range s.logs.FilterMessage("request").AllUntimed() {
				if e.ContextMap()["trace_id"] == tid.String() {
					line = &e
				}
			}
			require.NotNil(t, line, "no access log line carries trace_id %s", tid)
			assert.Equal(t, srv.SpanContext().SpanID().String(), line.ContextMap()["span_id"])
			assert.Equal(t, "/api/v1/users/:id", line.ContextMap()["route"])
		})
	}
}

func TestTracingNamesAndSkips(t *testing.T) {
	s := startTraced(t, dbtest.SQLiteURL(t), nil)

	// No route: the span is named by the method alone, never the raw path.
	tid, _, traceparent := callerContext(t)
	res := s.request(t, http.MethodGet, "/api/v1/no-such-route/12345", "", nil, map[string]string{"traceparent": traceparent})
	require.Equal(t, http.StatusNotFound, res.Status)
	srv, _ := s.trace(t, tid)
	assert.Equal(t, "GET", srv.Name())
	_, hasRoute := attr(srv, "http.route")
	assert.False(t, hasRoute)

	// Without a traceparent the request starts a trace of its own.
	res = s.request(t, http.MethodGet, "/api/v1/me", "", nil, nil)
	require.Equal(t, http.StatusUnauthorized, res.Status)
	var own int
	for _, sp := range s.spans.Ended() {
		if sp.SpanKind() == trace.SpanKindServer && sp.Name() == "GET /api/v1/me" {
			own++
			assert.False(t, sp.Parent().IsValid(), "a root span")
		}
	}
	assert.Equal(t, 1, own)

	// Probes are not traced.
	tid, _, traceparent = callerContext(t)
	res = s.request(t, http.MethodGet, "/healthz", "", nil, map[string]string{"traceparent": traceparent})
	require.Equal(t, http.StatusOK, res.Status)
	time.Sleep(100 * time.Millisecond)
	for _, sp := range s.spans.Ended() {
		assert.NotEqual(t, tid, sp.SpanContext().TraceID(), "a /healthz span: %s", sp.Name())
	}
}

func TestTracingRedisCommandsJoinTheTrace(t *testing.T) {
	redisURL := dbtest.RequireRedis(t)
	s := startTraced(t, dbtest.SQLiteURL(t), map[string]string{"REDIS_URL": redisURL})
	registerUser(t, s.server, "redis-traced")

	tid, _, traceparent := callerContext(t)
	res := s.request(t, http.MethodPost, loginPath, "application/json",
		strings.NewReader(`{"login":"redis-traced","password":"`+testPass+`"}`),
		map[string]string{"traceparent": traceparent})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))

	srv, spans := s.trace(t, tid)
	var commands int
	for _, sp := range spans {
		if sp.InstrumentationScope().Name != redisScope {
			continue
		}
		commands++
		assert.True(t, descendsFrom(sp, srv.SpanContext().SpanID(), spans), "redis span %q is not under the request", sp.Name())
		// Arguments are left out: the throttle's keys carry the login.
		for _, kv := range sp.Attributes() {
			assert.NotContains(t, kv.Value.String(), "redis-traced", "attribute %s", kv.Key)
		}
	}
	assert.Positive(t, commands, "the login throttle's Redis commands are in the login's trace")
}

func TestTracingOffLeavesRequestsUntraced(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	s := startServerWith(t, dbtest.SQLiteURL(t), nil, zap.New(core))
	_, _, traceparent := callerContext(t)
	res := s.request(t, http.MethodGet, "/api/v1/me", "", nil, map[string]string{"traceparent": traceparent})
	require.Equal(t, http.StatusUnauthorized, res.Status)
	require.Eventually(t, func() bool { return logs.FilterMessage("request").Len() > 0 }, 5*time.Second, 10*time.Millisecond)
	for _, e := range logs.FilterMessage("request").AllUntimed() {
		assert.NotContains(t, e.ContextMap(), "trace_id", "tracing is off by default")
	}
}

// TestTracingWebhookDeliveryHidesTheURLPath: a delivery is a client span
// that sends the trace context to the receiver, but names the endpoint by
// scheme, host and port only: webhook paths and queries often hold tokens.
func TestTracingWebhookDeliveryHidesTheURLPath(t *testing.T) {
	s := startTraced(t, dbtest.SQLiteURL(t), webhookEnv(nil))
	_, err := bootstrap.CreateAdmin(context.Background(), s.cfg, zap.NewNop(), application.RegisterInput{
		Email: "sys@example.com", Username: "sys", Password: testPass})
	require.NoError(t, err)
	admin := login(t, s.server, "sys", testPass).AccessToken
	rcv := newReceiver(t)
	const pathToken, queryToken = "p4th-t0ken", "qu3ry-t0ken"
	createWebhook(t, s.server, admin, map[string]any{"url": rcv.url("/hooks/" + pathToken + "?token=" + queryToken),
		"events": []string{"user.created"}})
	user := registerUser(t, s.server, "webhook-traced")
	h := rcv.waitFor(t, "user.created", 10*time.Second, event("/hooks/"+pathToken, "user.created", user))

	parts := strings.Split(h.Header.Get("traceparent"), "-")
	require.Len(t, parts, 4, "the receiver got a traceparent: %q", h.Header.Get("traceparent"))
	var client sdktrace.ReadOnlySpan
	require.Eventually(t, func() bool {
		for _, sp := range s.spans.Ended() {
			if sp.SpanContext().TraceID().String() == parts[1] && sp.SpanContext().SpanID().String() == parts[2] {
				client = sp
				return true
			}
		}
		return false
	}, 5*time.Second, 10*time.Millisecond, "no ended span is the traceparent's parent")
	assert.Equal(t, trace.SpanKindClient, client.SpanKind())
	host, _ := attr(client, "server.address")
	assert.Equal(t, "127.0.0.1", host.AsString())
	port, _ := attr(client, "server.port")
	assert.Equal(t, rcv.srv.Listener.Addr().(*net.TCPAddr).Port, int(port.AsInt64()))
	status, _ := attr(client, "http.response.status_code")
	assert.EqualValues(t, http.StatusNoContent, status.AsInt64())

	for _, sp := range s.spans.Ended() {
		texts := []string{sp.Name(), sp.Status().Description}
		for _, kv := range sp.Attributes() {
			texts = append(texts, string(kv.Key)+"="+kv.Value.String())
		}
		for _, ev := range sp.Events() {
			for _, kv := range ev.Attributes {
				texts = append(texts, string(kv.Key)+"="+kv.Value.String())
			}
		}
		for _, text := range texts {
			assert.NotContains(t, text, pathToken, "span %q", sp.Name())
			assert.NotContains(t, text, queryToken, "span %q", sp.Name())
		}
	}
}

package bootstrap

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"go.uber.org/fx"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
)

func TestTracingFromEnv(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		on   bool
		err  bool
	}{
		{name: "nothing set: off", env: nil},
		{name: "endpoint: on", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, on: true},
		{name: "traces endpoint: on", env: map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, on: true},
		{name: "exporter otlp: on (default endpoint)", env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, on: true},
		{name: "exporter none beats an endpoint", env: map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}},
		{name: "none beside otlp: off", env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp, none"}},
		{name: "SDK disabled beats everything", env: map[string]string{"OTEL_SDK_DISABLED": "TRUE", "OTEL_TRACES_EXPORTER": "otlp"}},
		{name: "SDK disabled=false: on", env: map[string]string{"OTEL_SDK_DISABLED": "false", "OTEL_TRACES_EXPORTER": "otlp"}, on: true},
		{name: "unknown exporter refused", env: map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, err: true},
		{name: "http/protobuf accepted", env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, on: true},
		{name: "grpc refused", env: map[string]string{"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, err: true},
		{name: "traces protocol wins", env: map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318",
			"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf"}, on: true},
		{name: "a protocol alone does not turn it on", env: map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			on, err := tracingFromEnv(func(k string) string { return tc.env[k] })
			if tc.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.on, on)
		})
	}
}

// otlpReceiver is a collector's OTLP/HTTP traces endpoint on loopback.
func otlpReceiver(t *testing.T) (string, <-chan *coltracepb.ExportTraceServiceRequest) {
	t.Helper()
	got := make(chan *coltracepb.ExportTraceServiceRequest, 16)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/traces" || r.Method != http.MethodPost {
			http.NotFound(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req := &coltracepb.ExportTraceServiceRequest{}
		if err := proto.Unmarshal(body, req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		got <- req
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, got
}

// clearOTELEnv keeps the machine's OTEL_* variables out of a test.
func clearOTELEnv(t *testing.T) {
	for _, k := range []string{"OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT",
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
		"OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG",
		"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_COMPRESSION"} {
		t.Setenv(k, "")
	}
}

func startTracing(t *testing.T) (Tracing, *fx.App) {
	t.Helper()
	var tr Tracing
	app := fx.New(fx.NopLogger, fx.Supply(zap.NewNop()), TracingModule, fx.Populate(&tr))
	require.NoError(t, app.Err())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, app.Start(ctx))
	return tr, app
}

func stopApp(t *testing.T, app *fx.App) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, app.Stop(ctx))
}

// The exporter follows OTEL_EXPORTER_OTLP_ENDPOINT, the resource
// OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, and stopping the app
// flushes the spans still batched.
func TestTracingExportsOverOTLPAndFlushesOnStop(t *testing.T) {
	clearOTELEnv(t)
	url, got := otlpReceiver(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", url)
	t.Setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test")

	tr, app := startTracing(t)
	require.True(t, tr.Enabled())
	_, span := tr.Provider.Tracer("test").Start(context.Background(), "probe")
	span.End()
	stopApp(t, app)

	var names []string
	resource := map[string]string{}
	for done := false; !done; {
		select {
		case req := <-got:
			for _, rs := range req.GetResourceSpans() {
				for _, kv := range rs.GetResource().GetAttributes() {
					resource[kv.GetKey()] = kv.GetValue().GetStringValue()
				}
				for _, ss := range rs.GetScopeSpans() {
					for _, sp := range ss.GetSpans() {
						names = append(names, sp.GetName())
					}
				}
			}
		default:
			done = true
		}
	}
	assert.Equal(t, []string{"probe"}, names, "the batched span is exported by the stop hook")
	assert.Equal(t, "ums", resource["service.name"])
	assert.Equal(t, "test", resource["deployment.environment"])

	t.Run("OTEL_SERVICE_NAME names the service", func(t *testing.T) {
		t.Setenv("OTEL_SERVICE_NAME", "ums-eu")
		tr, app := startTracing(t)
		_, span := tr.Provider.Tracer("test").Start(context.Background(), "probe")
		span.End()
		stopApp(t, app)
		req := <-got
		var name string
		for _, kv := range req.GetResourceSpans()[0].GetResource().GetAttributes() {
			if kv.GetKey() == "service.name" {
				name = kv.GetValue().GetStringValue()
			}
		}
		assert.Equal(t, "ums-eu", name)
	})
}

func TestTracingOffByDefault(t *testing.T) {
	clearOTELEnv(t)
	tr, app := startTracing(t)
	defer stopApp(t, app)
	assert.False(t, tr.Enabled())
	assert.Nil(t, tr.Provider)
	assert.NotNil(t, tr.Propagator, "trace context still has a propagator for outgoing calls")
	base := http.DefaultTransport
	assert.Equal(t, base, tr.WebhookTransport(base), "no wrapper on outgoing calls when off")
}

func TestTracingRefusesUnsupportedSettings(t *testing.T) {
	clearOTELEnv(t)
	t.Setenv("OTEL_TRACES_EXPORTER", "otlp")
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
	app := fx.New(fx.NopLogger, fx.Supply(zap.NewNop()), TracingModule, fx.Invoke(func(Tracing) {}))
	require.Error(t, app.Err())
	assert.Contains(t, app.Err().Error(), "http/protobuf")
}

// An outgoing call made with WebhookTransport is a client span of the caller's
// span and sends the trace on in a W3C traceparent header.
func TestTracingTransportPropagates(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	tr := Tracing{Provider: tp, Propagator: newPropagator()}
	seen := make(chan string, 1)
	peer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Get("traceparent")
	}))
	defer peer.Close()

	ctx, parent := tp.Tracer("test").Start(context.Background(), "job")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, peer.URL+"/hook", nil)
	require.NoError(t, err)
	res, err := (&http.Client{Transport: tr.WebhookTransport(nil)}).Do(req)
	require.NoError(t, err)
	_ = res.Body.Close()
	parent.End()

	header := <-seen
	var client sdktrace.ReadOnlySpan
	for _, sp := range rec.Ended() {
		if sp.SpanKind() == trace.SpanKindClient {
			client = sp
		}
	}
	require.NotNil(t, client)
	assert.Equal(t, parent.SpanContext().SpanID(), client.Parent().SpanID())
	assert.Equal(t, "00-"+client.SpanContext().TraceID().String()+"-"+client.SpanContext().SpanID().String()+"-01", header)
}

package bootstrap

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/redis/go-redis/extra/redisotel/v9"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/fx"
	"go.uber.org/zap"

	httpadapter "github.com/ums-project/ums/adapters/http"
)

// Tracing is the process's OpenTelemetry tracing. It is configured only by
// the standard OTEL_* environment variables and is off unless they ask for
// an exporter (see tracingFromEnv); off, Provider is nil and nothing is
// instrumented, so requests, queries and Redis commands pay nothing.
type Tracing struct {
	// Provider makes the spans; nil when tracing is off.
	Provider trace.TracerProvider
	// Propagator carries the W3C trace context and baggage in incoming
	// and outgoing HTTP headers.
	Propagator propagation.TextMapPropagator
}

// Enabled reports whether spans are made.
func (t Tracing) Enabled() bool { return t.Provider != nil }

// webhookScope names the tracer of webhook deliveries.
const webhookScope = "github.com/ums-project/ums/webhooks"

// WebhookTransport wraps a webhook sender's transport (nil: the default
// one) so each delivery is a client span that sends the trace context on,
// as Transport does; but the span names the target by scheme, host and
// port only. otelhttp records the whole URL (url.full), and the paths and
// queries of webhook URLs often hold tokens. With tracing off it returns
// base unchanged.
func (t Tracing) WebhookTransport(base http.RoundTripper) http.RoundTripper {
	if !t.Enabled() {
		return base
	}
	if base == nil {
		base = http.DefaultTransport
	}
	prop := t.Propagator
	if prop == nil {
		prop = newPropagator()
	}
	return &hostOnlyTransport{base: base, tracer: t.Provider.Tracer(webhookScope), prop: prop}
}

// hostOnlyTransport makes a client span per request whose attributes
// never include the URL's path or query.
type hostOnlyTransport struct {
	base   http.RoundTripper
	tracer trace.Tracer
	prop   propagation.TextMapPropagator
}

// RoundTrip implements http.RoundTripper. The span ends with the answer's
// headers: webhook answers are drained unread.
func (h *hostOnlyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	attrs := []attribute.KeyValue{
		attribute.String("http.request.method", r.Method),
		attribute.String("url.scheme", r.URL.Scheme),
		attribute.String("server.address", r.URL.Hostname()),
	}
	if port := urlPort(r.URL); port > 0 {
		attrs = append(attrs, attribute.Int("server.port", port))
	}
	ctx, span := h.tracer.Start(r.Context(), "HTTP "+r.Method,
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	defer span.End()
	// A RoundTripper must not change its caller's request.
	r = r.Clone(ctx)
	h.prop.Inject(ctx, propagation.HeaderCarrier(r.Header))
	res, err := h.base.RoundTrip(r)
	if err != nil {
		// Transport errors name the address dialled, never the URL
		// (http.Client adds that, above the transport).
		span.SetAttributes(attribute.String("error.type", fmt.Sprintf("%T", err)))
		span.SetStatus(codes.Error, err.Error())
		return nil, err
	}
	span.SetAttributes(attribute.Int("http.response.status_code", res.StatusCode))
	if res.StatusCode >= 400 {
		span.SetAttributes(attribute.String("error.type", strconv.Itoa(res.StatusCode)))
		span.SetStatus(codes.Error, "")
	}
	return res, nil
}

// urlPort is the port u names or its scheme implies; 0 when neither.
func urlPort(u *url.URL) int {
	if p, err := strconv.Atoi(u.Port()); err == nil {
		return p
	}
	switch u.Scheme {
	case "https":
		return 443
	case "http":
		return 80
	}
	return 0
}

func (t Tracing) forHTTP() httpadapter.Tracing {
	return httpadapter.Tracing{Provider: t.Provider, Propagator: t.Propagator}
}

// traceRedis adds the go-redis tracing hook. Command arguments are left
// out of the spans: the login throttle's keys carry login names.
func (t Tracing) traceRedis(c redis.UniversalClient) error {
	if !t.Enabled() {
		return nil
	}
	return redisotel.InstrumentTracing(c, redisotel.WithTracerProvider(t.Provider), redisotel.WithDBStatement(false))
}

// TracingModule provides Tracing from the OTEL_* environment.
var TracingModule = fx.Module("tracing", fx.Provide(newTracing))

// W3C trace context and baggage, in and out.
func newPropagator() propagation.TextMapPropagator {
	return propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
}

func newTracing(lc fx.Lifecycle, log *zap.Logger) (Tracing, error) {
	prop := newPropagator()
	otel.SetTextMapPropagator(prop)
	on, err := tracingFromEnv(os.Getenv)
	if err != nil || !on {
		return Tracing{Propagator: prop}, err
	}
	// The exporter reads OTEL_EXPORTER_OTLP_[TRACES_]{ENDPOINT,HEADERS,
	// TIMEOUT,COMPRESSION,CERTIFICATE,...} itself; it connects lazily,
	// so an unreachable collector never fails the start.
	exp, err := otlptracehttp.New(context.Background())
	if err != nil {
		return Tracing{}, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	// service.name defaults to "ums"; OTEL_SERVICE_NAME and
	// OTEL_RESOURCE_ATTRIBUTES, read later, override it.
	res, err := resource.New(context.Background(),
		resource.WithAttributes(attribute.String("service.name", "ums"), attribute.String("service.version", Version)),
		resource.WithFromEnv(), resource.WithTelemetrySDK())
	if err != nil {
		return Tracing{}, fmt.Errorf("OTEL_RESOURCE_ATTRIBUTES: %w", err)
	}
	// The sampler comes from OTEL_TRACES_SAMPLER[_ARG] (default: parent
	// based, always on) and the batching from OTEL_BSP_*, read by the SDK.
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
		log.Warn("tracing", zap.Error(err))
	}))
	// Appended before the database and the server hooks, so it runs after
	// them on stop: the spans of drained requests are flushed too.
	lc.Append(fx.StopHook(tp.Shutdown))
	log.Info("tracing on: exporting spans over OTLP")
	return Tracing{Provider: tp, Propagator: prop}, nil
}

// tracingFromEnv decides whether to trace. Off by default. On with
// OTEL_TRACES_EXPORTER=otlp, or, with OTEL_TRACES_EXPORTER unset, when an
// OTLP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set. OTEL_TRACES_EXPORTER=none and
// OTEL_SDK_DISABLED=true turn it off whatever else is set. The OTLP
// protocol is http/protobuf, the only one built in.
func tracingFromEnv(getenv func(string) string) (bool, error) {
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return false, nil
	}
	on := false
	if exporters := strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER")); exporters != "" {
		for _, e := range strings.Split(exporters, ",") {
			switch strings.ToLower(strings.TrimSpace(e)) {
			case "otlp":
				on = true
			case "none", "":
			default:
				return false, fmt.Errorf("OTEL_TRACES_EXPORTER=%q: UMS exports traces only over OTLP (otlp or none)", exporters)
			}
		}
		if strings.Contains(strings.ToLower(exporters), "none") {
			// "none" means no traces, even beside another name.
			on = false
		}
	} else {
		on = strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_ENDPOINT")) != "" ||
			strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")) != ""
	}
	if !on {
		return false, nil
	}
	protocol := strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"))
	if protocol == "" {
		protocol = strings.TrimSpace(getenv("OTEL_EXPORTER_OTLP_PROTOCOL"))
	}
	if protocol != "" && protocol != "http/protobuf" {
		return false, fmt.Errorf("OTLP protocol %q: UMS exports traces over http/protobuf only (port 4318 on a collector)", protocol)
	}
	return true, nil
}

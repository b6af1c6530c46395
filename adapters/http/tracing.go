package http

import (
	"context"
	"net/http"
	"reflect"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
)

// Tracing is the OpenTelemetry set-up requests are traced with. A nil
// Provider leaves the server untraced: no wrapper, no middleware, nothing
// done per request.
type Tracing struct {
	Provider trace.TracerProvider
	// Propagator reads the caller's trace context (W3C traceparent,
	// baggage) from request headers.
	Propagator propagation.TextMapPropagator
}

func (t Tracing) enabled() bool { return t.Provider != nil }

// untracedPaths are polled by load balancers and scrapers every few
// seconds; a span each would drown the requests worth looking at.
var untracedPaths = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// traceHandler starts a server span per request, a child of the caller's
// span when the request carries a traceparent. The span is named by the
// method until routeSpan names it by the route template.
func traceHandler(h http.Handler, t Tracing) http.Handler {
	prop := t.Propagator
	if prop == nil {
		prop = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	}
	return otelhttp.NewHandler(h, "http.server",
		otelhttp.WithTracerProvider(t.Provider),
		otelhttp.WithPropagators(prop),
		// Prometheus has the request metrics already.
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelhttp.WithFilter(func(r *http.Request) bool { return !untracedPaths[r.URL.Path] }),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method }),
	)
}

var (
	notFoundHandler         = reflect.ValueOf(echo.NotFoundHandler).Pointer()
	methodNotAllowedHandler = reflect.ValueOf(echo.MethodNotAllowedHandler).Pointer()
)

// routeSpan names the server span "METHOD /route/:template" once Echo has
// routed the request: the template, never the raw path, so ids do not
// make every span name unique. It also sets the client address Echo
// derived from trusted proxies only (otelhttp believes any
// X-Forwarded-For).
func routeSpan() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			span := trace.SpanFromContext(c.Request().Context())
			if span.IsRecording() {
				attrs := []attribute.KeyValue{attribute.String("client.address", c.RealIP())}
				if route := matchedRoute(c); route != "" {
					span.SetName(c.Request().Method + " " + route)
					attrs = append(attrs, attribute.String("http.route", route))
				}
				span.SetAttributes(attrs...)
			}
			return next(c)
		}
	}
}

// matchedRoute is the route template, or "" when no route matched (Echo
// then still reports the path of the nearest node, which is not a route).
func matchedRoute(c echo.Context) string {
	route := c.Path()
	if route == "" {
		return ""
	}
	if h := c.Handler(); h != nil {
		if p := reflect.ValueOf(h).Pointer(); p == notFoundHandler || p == methodNotAllowedHandler {
			return ""
		}
	}
	return route
}

// traceFields are the trace and span ids of ctx's span for a log line, so
// a log line leads to its trace; none when the request is not traced.
func traceFields(ctx context.Context) []zap.Field {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return nil
	}
	return []zap.Field{zap.String("trace_id", sc.TraceID().String()), zap.String("span_id", sc.SpanID().String())}
}

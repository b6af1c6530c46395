package metrics

import (
	"net/http"
	"reflect"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// unmatchedRoute labels requests no route matched, so arbitrary paths never
// become label values.
const unmatchedRoute = "unmatched"

// otherMethod labels request methods outside the standard set: the method is
// client-chosen and must not grow the label space.
const otherMethod = "OTHER"

var notFoundHandler = reflect.ValueOf(echo.NotFoundHandler).Pointer()

// EchoMiddleware counts requests in ums_http_requests_total{method, route,
// status} and times them in ums_http_request_duration_seconds{method, route}.
// The route is Echo's template (/api/v1/users/:id), never the raw path.
//
// An error from the chain is handed to Echo's error handler here, so the
// recorded status is the one the client got; the middleware then returns nil
// as accessLog does. Put it outside the panic recovery so panics count as 500.
func (r *Registry) EchoMiddleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			if err := next(c); err != nil {
				c.Error(err)
			}
			elapsed := time.Since(start).Seconds()
			method := methodLabel(c.Request().Method)
			route := routeLabel(c)
			status := strconv.Itoa(c.Response().Status)
			r.requests.WithLabelValues(method, route, status).Inc()
			r.duration.WithLabelValues(method, route).Observe(elapsed)
			return nil
		}
	}
}

// routeLabel is the matched route template, or "unmatched" when the router
// fell back to its 404 handler (it then still sets the path of the nearest
// node, which is not a route the client asked for).
func routeLabel(c echo.Context) string {
	route := c.Path()
	if route == "" {
		return unmatchedRoute
	}
	if h := c.Handler(); h != nil && reflect.ValueOf(h).Pointer() == notFoundHandler {
		return unmatchedRoute
	}
	return route
}

func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	default:
		return otherMethod
	}
}

// Handler serves the registry in the Prometheus text format. It is meant for
// a private listener or an authenticated route: the metrics reveal load and
// login outcomes.
func (r *Registry) Handler() http.Handler {
	return promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{
		Registry:      r.reg,
		ErrorHandling: promhttp.ContinueOnError,
	})
}

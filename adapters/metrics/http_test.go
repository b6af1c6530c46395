package metrics_test

import (
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/labstack/echo/v4"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/adapters/metrics"
)

func newEcho(r *metrics.Registry) *echo.Echo {
	e := echo.New()
	e.Use(r.EchoMiddleware())
	e.GET("/users/:id", func(c echo.Context) error { return c.String(http.StatusOK, c.Param("id")) })
	e.POST("/users/:id/unlock", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) })
	e.GET("/missing/:id", func(echo.Context) error { return echo.NewHTTPError(http.StatusNotFound, "no such thing") })
	e.GET("/broken", func(echo.Context) error { return echo.NewHTTPError(http.StatusInternalServerError) })
	e.GET("/plain-error", func(echo.Context) error { return errors.New("boom") })
	return e
}

func serve(t *testing.T, e *echo.Echo, method, target string) int {
	t.Helper()
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec.Code
}

func requests(t *testing.T, f map[string]*dto.MetricFamily, method, route, status string) float64 {
	t.Helper()
	return counterValue(t, f, "ums_http_requests_total",
		map[string]string{"method": method, "route": route, "status": status})
}

func TestEchoMiddlewareCountsByRouteTemplateAndSentStatus(t *testing.T) {
	r := metrics.New("test")
	e := newEcho(r)

	require.Equal(t, http.StatusOK, serve(t, e, http.MethodGet, "/users/42"))
	require.Equal(t, http.StatusOK, serve(t, e, http.MethodGet, "/users/43"))
	require.Equal(t, http.StatusNoContent, serve(t, e, http.MethodPost, "/users/42/unlock"))
	require.Equal(t, http.StatusNotFound, serve(t, e, http.MethodGet, "/missing/7"))
	require.Equal(t, http.StatusInternalServerError, serve(t, e, http.MethodGet, "/broken"))
	require.Equal(t, http.StatusInternalServerError, serve(t, e, http.MethodGet, "/plain-error"))
	require.Equal(t, http.StatusNotFound, serve(t, e, http.MethodGet, "/no/such/path"))
	require.Equal(t, http.StatusNotFound, serve(t, e, http.MethodGet, "/users/42/nothing-here"))
	require.Equal(t, http.StatusMethodNotAllowed, serve(t, e, http.MethodDelete, "/users/42"))
	require.Equal(t, http.StatusMethodNotAllowed, serve(t, e, "BREW", "/users/42"))

	f := scrape(t, r)
	assert.Equal(t, 2.0, requests(t, f, "GET", "/users/:id", "200"))
	assert.Equal(t, 1.0, requests(t, f, "POST", "/users/:id/unlock", "204"))
	assert.Equal(t, 1.0, requests(t, f, "GET", "/missing/:id", "404"), "an HTTPError's status, via the error handler")
	assert.Equal(t, 1.0, requests(t, f, "GET", "/broken", "500"))
	assert.Equal(t, 1.0, requests(t, f, "GET", "/plain-error", "500"))
	assert.Equal(t, 2.0, requests(t, f, "GET", "unmatched", "404"))
	assert.Equal(t, 1.0, requests(t, f, "DELETE", "/users/:id", "405"))
	assert.Equal(t, 1.0, requests(t, f, "OTHER", "/users/:id", "405"), "client-chosen methods collapse to OTHER")

	// Raw paths and methods never become label values.
	for _, name := range []string{"ums_http_requests_total", "ums_http_request_duration_seconds"} {
		for _, m := range f[name].GetMetric() {
			for _, lp := range m.GetLabel() {
				assert.NotRegexp(t, `/users/4\d|/no/such|nothing-here|BREW`, lp.GetValue(), "%s label %s", name, lp.GetName())
			}
		}
	}

	require.Equal(t, dto.MetricType_HISTOGRAM, f["ums_http_request_duration_seconds"].GetType())
	h := find(f, "ums_http_request_duration_seconds", map[string]string{"method": "GET", "route": "/users/:id"})
	require.NotNil(t, h)
	assert.Equal(t, uint64(2), h.GetHistogram().GetSampleCount())
	assert.Positive(t, h.GetHistogram().GetSampleSum())
	buckets := h.GetHistogram().GetBucket()
	require.NotEmpty(t, buckets)
	assert.Equal(t, 0.001, buckets[0].GetUpperBound())
	var largest float64
	for _, b := range buckets {
		if !math.IsInf(b.GetUpperBound(), +1) {
			largest = b.GetUpperBound()
		}
	}
	assert.Equal(t, 10.0, largest)
	for _, b := range buckets {
		if b.GetUpperBound() >= 10 {
			assert.Equal(t, uint64(2), b.GetCumulativeCount())
		}
	}
	u := find(f, "ums_http_request_duration_seconds", map[string]string{"method": "GET", "route": "unmatched"})
	require.NotNil(t, u)
	assert.Equal(t, uint64(2), u.GetHistogram().GetSampleCount())
}

// The middleware has already handed the error to Echo's error handler, so an
// outer middleware (the access log) sees nil and the response is written once.
func TestEchoMiddlewareHandlesErrorOnce(t *testing.T) {
	r := metrics.New("test")
	e := echo.New()
	var handled int
	def := e.HTTPErrorHandler
	e.HTTPErrorHandler = func(err error, c echo.Context) { handled++; def(err, c) }
	var outerErr error
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error { outerErr = next(c); return outerErr }
	})
	e.Use(r.EchoMiddleware())
	e.GET("/teapot", func(echo.Context) error { return echo.NewHTTPError(http.StatusTeapot) })

	assert.Equal(t, http.StatusTeapot, serve(t, e, http.MethodGet, "/teapot"))
	assert.NoError(t, outerErr)
	assert.Equal(t, 1, handled)
	assert.Equal(t, 1.0, requests(t, scrape(t, r), "GET", "/teapot", "418"))
}

func TestEchoMiddlewareConcurrent(t *testing.T) {
	r := metrics.New("test")
	srv := httptest.NewServer(newEcho(r))
	defer srv.Close()

	const workers, each = 8, 25
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				res, err := srv.Client().Get(srv.URL + "/users/1")
				if !assert.NoError(t, err) {
					return
				}
				_ = res.Body.Close()
			}
		})
	}
	wg.Wait()
	assert.Equal(t, float64(workers*each), requests(t, scrape(t, r), "GET", "/users/:id", "200"))
}

func TestHandlerServesTextFormat(t *testing.T) {
	r := metrics.New("test")
	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.True(t, strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain; version=0.0.4"), rec.Header().Get("Content-Type"))
	assert.Contains(t, rec.Body.String(), "# TYPE ums_build_info gauge")
}

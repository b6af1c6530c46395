package metrics_test

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/adapters/metrics"
)

// scrape fetches the registry through its Handler, as Prometheus would, and
// parses the text exposition.
func scrape(t *testing.T, r *metrics.Registry) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Contains(t, rec.Header().Get("Content-Type"), "text/plain")
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(rec.Body)
	require.NoError(t, err)
	return families
}

// find returns the metric of family name whose labels include want, or nil.
func find(families map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	mf, ok := families[name]
	if !ok {
		return nil
	}
	for _, m := range mf.GetMetric() {
		if hasLabels(m, want) {
			return m
		}
	}
	return nil
}

func hasLabels(m *dto.Metric, want map[string]string) bool {
	got := map[string]string{}
	for _, lp := range m.GetLabel() {
		got[lp.GetName()] = lp.GetValue()
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

func counterValue(t *testing.T, families map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	m := find(families, name, labels)
	require.NotNil(t, m, "%s%v not exported", name, labels)
	require.Equal(t, dto.MetricType_COUNTER, families[name].GetType(), name)
	return m.GetCounter().GetValue()
}

func gaugeValue(t *testing.T, families map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	m := find(families, name, labels)
	require.NotNil(t, m, "%s%v not exported", name, labels)
	require.Equal(t, dto.MetricType_GAUGE, families[name].GetType(), name)
	return m.GetGauge().GetValue()
}

func TestNewExportsBuildInfoAndRuntime(t *testing.T) {
	r := metrics.New("1.2.3")
	f := scrape(t, r)

	assert.Equal(t, 1.0, gaugeValue(t, f, "ums_build_info",
		map[string]string{"version": "1.2.3", "goversion": runtime.Version()}))
	assert.Contains(t, f, "go_goroutines")
	for _, name := range []string{"go_gc_heap_live_bytes", "go_gc_gogc_percent", "go_gc_gomemlimit_bytes"} {
		assert.Contains(t, f, name, "the live heap and the GC settings")
	}
	if runtime.GOOS == "linux" {
		assert.Contains(t, f, "process_resident_memory_bytes")
	}
}

func TestRegistriesAreIndependent(t *testing.T) {
	a, b := metrics.New("a"), metrics.New("b")
	a.Auth().Lockout()
	assert.Equal(t, 1.0, counterValue(t, scrape(t, a), "ums_login_lockouts_total", nil))
	assert.Equal(t, 0.0, counterValue(t, scrape(t, b), "ums_login_lockouts_total", nil))
}

func TestAuthMetrics(t *testing.T) {
	r := metrics.New("test")
	auth := r.Auth()

	f := scrape(t, r)
	for _, outcome := range []string{"success", "failure", "locked", "mfa_required", "overloaded"} {
		assert.Equal(t, 0.0, counterValue(t, f, "ums_logins_total", map[string]string{"outcome": outcome}),
			"outcome %s exported at zero before the first login", outcome)
	}

	auth.Login("success")
	auth.Login("success")
	auth.Login("failure")
	auth.Lockout()

	f = scrape(t, r)
	assert.Equal(t, 2.0, counterValue(t, f, "ums_logins_total", map[string]string{"outcome": "success"}))
	assert.Equal(t, 1.0, counterValue(t, f, "ums_logins_total", map[string]string{"outcome": "failure"}))
	assert.Equal(t, 0.0, counterValue(t, f, "ums_logins_total", map[string]string{"outcome": "locked"}))
	assert.Equal(t, 1.0, counterValue(t, f, "ums_login_lockouts_total", nil))
}

func TestRateLimitMetrics(t *testing.T) {
	r := metrics.New("test")
	assert.Equal(t, 0.0, gaugeValue(t, scrape(t, r), "ums_rate_limiter_degraded", nil))

	r.RateLimited("login")
	r.RateLimited("login")
	r.RateLimited("register")
	r.SetRateLimiterDegraded(true)

	f := scrape(t, r)
	assert.Equal(t, 2.0, counterValue(t, f, "ums_rate_limited_total", map[string]string{"scope": "login"}))
	assert.Equal(t, 1.0, counterValue(t, f, "ums_rate_limited_total", map[string]string{"scope": "register"}))
	assert.Equal(t, 1.0, gaugeValue(t, f, "ums_rate_limiter_degraded", nil))

	r.SetRateLimiterDegraded(false)
	assert.Equal(t, 0.0, gaugeValue(t, scrape(t, r), "ums_rate_limiter_degraded", nil))
}

// Package metrics is the Prometheus adapter: one private registry holding the
// service's request, authentication, rate-limit and resource metrics, and the
// handler that serves it. It depends on no other adapter; bootstrap hands it
// plain functions and values (pool stats, the *sql.DB) instead.
package metrics

import (
	"regexp"
	"runtime"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/ums-project/ums/ports"
)

const namespace = "ums"

// loginOutcomes are the outcomes ports.AuthMetrics documents. They are
// pre-created at zero so rate() and absent() work before the first login.
var loginOutcomes = []string{"success", "failure", "locked", "mfa_required", "overloaded"}

// Registry holds the service's metrics in its own prometheus.Registry, not
// the global default, so tests and several instances in one process never
// collide. All methods are safe for concurrent use.
type Registry struct {
	reg *prometheus.Registry

	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec

	logins   *prometheus.CounterVec
	lockouts prometheus.Counter

	rateLimited         *prometheus.CounterVec
	rateLimiterDegraded prometheus.Gauge
}

// New returns a Registry with the Go runtime and process collectors, the
// build-info gauge ums_build_info{version, goversion} and the service's own
// metrics registered.
func New(version string) *Registry {
	r := &Registry{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests by method, route template and status sent.",
		}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Subsystem: "http", Name: "request_duration_seconds",
			Help:    "HTTP request latency by method and route template, including error handling.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method", "route"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "logins_total",
			Help: "Login attempts by outcome (success, failure, locked, mfa_required, overloaded).",
		}, []string{"outcome"}),
		lockouts: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "login_lockouts_total",
			Help: "Login identifiers that reached the failure threshold.",
		}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "rate_limited_total",
			Help: "Requests refused by the rate limiter, by scope.",
		}, []string{"scope"}),
		rateLimiterDegraded: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "rate_limiter_degraded",
			Help: "1 while the rate limiter's backend is unavailable and limiting is degraded, else 0.",
		}),
	}
	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: namespace, Name: "build_info",
		Help:        "Always 1; the labels carry the build's version and Go version.",
		ConstLabels: prometheus.Labels{"version": version, "goversion": runtime.Version()},
	})
	buildInfo.Set(1)
	for _, o := range loginOutcomes {
		r.logins.WithLabelValues(o)
	}
	r.reg.MustRegister(
		// Beside the default set: the heap the last collection found live
		// (heap in use counts garbage not yet collected, which a server
		// running at a high GOGC keeps for a while) and the GC settings.
		collectors.NewGoCollector(collectors.WithGoCollectorRuntimeMetrics(collectors.GoRuntimeMetricsRule{
			Matcher: regexp.MustCompile(`^/gc/(heap/live:bytes|gogc:percent|gomemlimit:bytes)$`)})),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		buildInfo,
		r.requests, r.duration,
		r.logins, r.lockouts,
		r.rateLimited, r.rateLimiterDegraded,
	)
	return r
}

// Auth returns the ports.AuthMetrics the application counts logins with.
func (r *Registry) Auth() ports.AuthMetrics {
	return authMetrics{logins: r.logins, lockouts: r.lockouts}
}

// RateLimited counts one request refused by the rate limiter in scope. The
// scope comes from code (a fixed set of limits), never from the request.
func (r *Registry) RateLimited(scope string) {
	r.rateLimited.WithLabelValues(scope).Inc()
}

// SetRateLimiterDegraded records whether the rate limiter is running
// degraded (its shared backend unreachable).
func (r *Registry) SetRateLimiterDegraded(degraded bool) {
	if degraded {
		r.rateLimiterDegraded.Set(1)
		return
	}
	r.rateLimiterDegraded.Set(0)
}

type authMetrics struct {
	logins   *prometheus.CounterVec
	lockouts prometheus.Counter
}

var _ ports.AuthMetrics = authMetrics{}

func (a authMetrics) Login(outcome string) { a.logins.WithLabelValues(outcome).Inc() }

func (a authMetrics) Lockout() { a.lockouts.Inc() }

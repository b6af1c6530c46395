package metrics

import (
	"database/sql"
	"errors"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// HashPoolStats is a snapshot of the bounded password-hash pool. Counters
// (Rejected, WaitSeconds, Waits) are cumulative since start.
type HashPoolStats struct {
	// Running is how many hashes are computing now.
	Running int
	// Queued is how many callers wait for a slot now.
	Queued int
	// Capacity is how many hashes may run at once.
	Capacity int
	// QueueCapacity is how many callers may wait for a slot.
	QueueCapacity int
	// Rejected counts callers refused because the queue was full or timed out.
	Rejected uint64
	// WaitSeconds is the total time callers spent waiting for a slot.
	WaitSeconds float64
	// Waits counts callers that had to wait for a slot.
	Waits uint64
}

// RegisterHashPool exports the hash pool through stats, which is called once
// per scrape and must be cheap and safe for concurrent use.
func (r *Registry) RegisterHashPool(stats func() HashPoolStats) error {
	if stats == nil {
		return errors.New("metrics: hash pool stats function is nil")
	}
	return r.reg.Register(newHashPoolCollector(stats))
}

// RegisterDB exports db's connection pool statistics as the standard
// go_sql_* metrics labelled db_name=name. Register each *sql.DB once.
func (r *Registry) RegisterDB(db *sql.DB, name string) error {
	if db == nil {
		return errors.New("metrics: database is nil")
	}
	return r.reg.Register(collectors.NewDBStatsCollector(db, name))
}

// hashPoolCollector reads one snapshot per scrape so the exported values
// are consistent with each other.
type hashPoolCollector struct {
	stats         func() HashPoolStats
	running       *prometheus.Desc
	queued        *prometheus.Desc
	capacity      *prometheus.Desc
	queueCapacity *prometheus.Desc
	rejected      *prometheus.Desc
	waitSeconds   *prometheus.Desc
	waits         *prometheus.Desc
}

func newHashPoolCollector(stats func() HashPoolStats) *hashPoolCollector {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(namespace, "hash_pool", name), help, nil, nil)
	}
	return &hashPoolCollector{
		stats:         stats,
		running:       desc("running", "Password hashes computing now."),
		queued:        desc("queued", "Callers waiting for a password-hash slot."),
		capacity:      desc("capacity", "Password hashes that may run at once."),
		queueCapacity: desc("queue_capacity", "Callers that may wait for a password-hash slot."),
		rejected:      desc("rejected_total", "Password-hash callers refused (queue full or wait timed out)."),
		waitSeconds:   desc("wait_seconds_total", "Total seconds callers waited for a password-hash slot."),
		waits:         desc("waits_total", "Callers that waited for a password-hash slot."),
	}
}

// Describe implements prometheus.Collector.
func (h *hashPoolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{h.running, h.queued, h.capacity, h.queueCapacity, h.rejected, h.waitSeconds, h.waits} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (h *hashPoolCollector) Collect(ch chan<- prometheus.Metric) {
	s := h.stats()
	ch <- prometheus.MustNewConstMetric(h.running, prometheus.GaugeValue, float64(s.Running))
	ch <- prometheus.MustNewConstMetric(h.queued, prometheus.GaugeValue, float64(s.Queued))
	ch <- prometheus.MustNewConstMetric(h.capacity, prometheus.GaugeValue, float64(s.Capacity))
	ch <- prometheus.MustNewConstMetric(h.queueCapacity, prometheus.GaugeValue, float64(s.QueueCapacity))
	ch <- prometheus.MustNewConstMetric(h.rejected, prometheus.CounterValue, float64(s.Rejected))
	ch <- prometheus.MustNewConstMetric(h.waitSeconds, prometheus.CounterValue, s.WaitSeconds)
	ch <- prometheus.MustNewConstMetric(h.waits, prometheus.CounterValue, float64(s.Waits))
}

// AccessCacheStats is a snapshot of the authorization cache's counters.
type AccessCacheStats struct {
	Hits, Misses uint64
	Entries      int
}

// RegisterAccessCache exports the /authorize facts cache through stats,
// called once per metric per scrape.
func (r *Registry) RegisterAccessCache(stats func() AccessCacheStats) error {
	if stats == nil {
		return errors.New("metrics: access cache stats function is nil")
	}
	for _, c := range []prometheus.Collector{
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "ums_authz_cache_hits_total",
			Help: "Access facts of a (user, organization) served from memory because their stamps were unchanged."},
			func() float64 { return float64(stats().Hits) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "ums_authz_cache_misses_total",
			Help: "Access facts of a (user, organization) loaded from the store: new, changed or aged out."},
			func() float64 { return float64(stats().Misses) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "ums_authz_cache_entries",
			Help: "(user, organization) access facts held in memory."},
			func() float64 { return float64(stats().Entries) }),
	} {
		if err := r.reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

package metrics_test

import (
	"database/sql"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite" // a real *sql.DB for the pool statistics

	"github.com/ums-project/ums/adapters/metrics"
)

func TestRegisterHashPoolReadsStatsPerScrape(t *testing.T) {
	r := metrics.New("test")
	var mu sync.Mutex
	s := metrics.HashPoolStats{Running: 2, Queued: 1, Capacity: 4, QueueCapacity: 16,
		Rejected: 3, WaitSeconds: 1.5, Waits: 7}
	require.NoError(t, r.RegisterHashPool(func() metrics.HashPoolStats {
		mu.Lock()
		defer mu.Unlock()
		return s
	}))

	f := scrape(t, r)
	assert.Equal(t, 2.0, gaugeValue(t, f, "ums_hash_pool_running", nil))
	assert.Equal(t, 1.0, gaugeValue(t, f, "ums_hash_pool_queued", nil))
	assert.Equal(t, 4.0, gaugeValue(t, f, "ums_hash_pool_capacity", nil))
	assert.Equal(t, 16.0, gaugeValue(t, f, "ums_hash_pool_queue_capacity", nil))
	assert.Equal(t, 3.0, counterValue(t, f, "ums_hash_pool_rejected_total", nil))
	assert.Equal(t, 1.5, counterValue(t, f, "ums_hash_pool_wait_seconds_total", nil))
	assert.Equal(t, 7.0, counterValue(t, f, "ums_hash_pool_waits_total", nil))

	mu.Lock()
	s.Running, s.Queued, s.Rejected, s.WaitSeconds, s.Waits = 4, 0, 5, 2.25, 9
	mu.Unlock()
	f = scrape(t, r)
	assert.Equal(t, 4.0, gaugeValue(t, f, "ums_hash_pool_running", nil))
	assert.Equal(t, 0.0, gaugeValue(t, f, "ums_hash_pool_queued", nil))
	assert.Equal(t, 5.0, counterValue(t, f, "ums_hash_pool_rejected_total", nil))
	assert.Equal(t, 2.25, counterValue(t, f, "ums_hash_pool_wait_seconds_total", nil))
	assert.Equal(t, 9.0, counterValue(t, f, "ums_hash_pool_waits_total", nil))
}

func TestRegisterHashPoolRejectsNilAndDuplicates(t *testing.T) {
	r := metrics.New("test")
	assert.Error(t, r.RegisterHashPool(nil))
	stats := func() metrics.HashPoolStats { return metrics.HashPoolStats{} }
	require.NoError(t, r.RegisterHashPool(stats))
	assert.Error(t, r.RegisterHashPool(stats), "a second pool would export the same series")
}

func TestRegisterDBExportsPoolStats(t *testing.T) {
	db, err := sql.Open("sqlite", "file::memory:")
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	db.SetMaxOpenConns(3)
	require.NoError(t, db.Ping())

	r := metrics.New("test")
	require.NoError(t, r.RegisterDB(db, "main"))

	f := scrape(t, r)
	labels := map[string]string{"db_name": "main"}
	assert.Equal(t, 3.0, gaugeValue(t, f, "go_sql_max_open_connections", labels))
	assert.Equal(t, float64(db.Stats().OpenConnections), gaugeValue(t, f, "go_sql_open_connections", labels))
	assert.GreaterOrEqual(t, gaugeValue(t, f, "go_sql_open_connections", labels), 1.0)
	assert.Contains(t, f, "go_sql_wait_count_total")

	assert.Error(t, r.RegisterDB(db, "main"), "the same name twice")
	assert.Error(t, r.RegisterDB(nil, "other"))
}

func TestRegisterAccessCacheExportsHitsMissesAndEntries(t *testing.T) {
	r := metrics.New("test")
	s := metrics.AccessCacheStats{Hits: 40, Misses: 2, Entries: 2}
	require.NoError(t, r.RegisterAccessCache(func() metrics.AccessCacheStats { return s }))
	f := scrape(t, r)
	assert.Equal(t, 40.0, counterValue(t, f, "ums_authz_cache_hits_total", nil))
	assert.Equal(t, 2.0, counterValue(t, f, "ums_authz_cache_misses_total", nil))
	assert.Equal(t, 2.0, gaugeValue(t, f, "ums_authz_cache_entries", nil))
	require.Error(t, r.RegisterAccessCache(nil))
}

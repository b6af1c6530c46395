//go:build resilience

package resilience

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/test/dbtest"
)

// soakDuration is 2 minutes unless RESILIENCE_SOAK says otherwise.
func soakDuration(t *testing.T) time.Duration {
	if v := os.Getenv("RESILIENCE_SOAK"); v != "" {
		d, err := time.ParseDuration(v)
		require.NoError(t, err, "RESILIENCE_SOAK")
		return d
	}
	return 2 * time.Minute
}

// TestSoakReturnsToBaseline runs the mixed scenario (70% GET /me and
// POST /authorize, 20% refresh, 10% login) for the soak duration, then
// checks that goroutines, open files and heap return to what they were
// after warm-up: a leak check on the real binary.
func TestSoakReturnsToBaseline(t *testing.T) {
	in := startUMS(t, map[string]string{"DATABASE_URL": dbtest.PostgresURL(t)})
	// Each worker owns its users' sessions, so no two refresh one token.
	const workers, perWorker = 8, 3
	const users = workers * perWorker
	for i := range users {
		in.register(t, fmt.Sprintf("soak%d", i))
	}
	var (
		mu       sync.Mutex
		sessions []tokens
	)
	for i := range users {
		sessions = append(sessions, in.login(t, fmt.Sprintf("soak%d", i)))
	}
	org := uuid.NewString()
	var requests, failures atomic.Int64
	mixed := func(d time.Duration) {
		var wg sync.WaitGroup
		deadline := time.Now().Add(d)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(w), 11))
				for time.Now().Before(deadline) {
					i := w*perWorker + rng.IntN(perWorker)
					mu.Lock()
					tk := sessions[i]
					mu.Unlock()
					var st int
					var b []byte
					switch r := rng.Float64(); {
					case r < 0.35:
						st, b = in.status(http.MethodGet, "/api/v1/me", tk.AccessToken, nil)
					case r < 0.70:
						st, b = in.status(http.MethodPost, "/api/v1/authorize", tk.AccessToken,
							map[string]any{"org_id": org, "permissions": []string{"soak.read"}})
					case r < 0.90:
						st, b = in.status(http.MethodPost, "/api/v1/auth/refresh", "", map[string]string{"refresh_token": tk.RefreshToken})
					default:
						st, b = in.status(http.MethodPost, "/api/v1/auth/login", "",
							map[string]string{"login": fmt.Sprintf("soak%d", i), "password": testPass})
					}
					requests.Add(1)
					if st != http.StatusOK {
						failures.Add(1)
						continue
					}
					var next tokens
					if json.Unmarshal(b, &next) == nil && next.RefreshToken != "" {
						mu.Lock()
						sessions[i] = next
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
	}
	mixed(5 * time.Second)
	base := settle(t, in)
	t.Logf("baseline after warm-up: %v", base)

	d := soakDuration(t)
	start := time.Now()
	mixed(d)
	t.Logf("soak: %d requests in %v (%d not 200)", requests.Load(), time.Since(start).Round(time.Second), failures.Load())

	var after map[string]float64
	back := func() bool {
		return after["go_goroutines"] <= base["go_goroutines"]+5 &&
			after["process_open_fds"] <= base["process_open_fds"]+5 &&
			after["go_gc_heap_live_bytes"] <= max(1.5*base["go_gc_heap_live_bytes"], base["go_gc_heap_live_bytes"]+32<<20)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Second) {
		if after = settle(t, in); back() || time.Now().After(deadline) {
			break
		}
	}
	t.Logf("after the soak: %v", after)
	require.True(t, back(), "goroutines, open files and heap back to baseline within 30s: before %v, after %v", base, after)
	assert.Zero(t, failures.Load(), "every request of the soak succeeds")
}

// settle drops the client's idle connections (so the server's per-
// connection goroutines go) and reads the leak gauges.
func settle(t *testing.T, in *instance) map[string]float64 {
	t.Helper()
	client.CloseIdleConnections()
	time.Sleep(500 * time.Millisecond)
	m := in.metrics(t)
	client.CloseIdleConnections()
	// The live heap of the last collection, not the heap in use: the
	// server runs the collector at GOGC=400, so garbage of the soak may
	// wait a while for a collection without being a leak.
	return map[string]float64{"go_goroutines": m["go_goroutines"], "process_open_fds": m["process_open_fds"],
		"go_gc_heap_live_bytes": m["go_gc_heap_live_bytes"]}
}

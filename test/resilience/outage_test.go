//go:build resilience

package resilience

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// outcome is one request of a steady load.
type outcome struct {
	op      string
	at      time.Time
	took    time.Duration
	status  int
	err     error
	created string // username of a 2xx registration
}

// steadyLoad runs workers doing registrations, logins and GET /me against
// in until stop is closed, and returns every outcome.
func steadyLoad(in *instance, workers int, access []string, stop <-chan struct{}) []outcome {
	var (
		mu  sync.Mutex
		out []outcome
		wg  sync.WaitGroup
		seq atomic.Int64
	)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for {
				select {
				case <-stop:
					return
				default:
				}
				o := outcome{at: time.Now()}
				switch r := rng.IntN(10); {
				case r < 3:
					o.op = "register"
					name := fmt.Sprintf("steady%d", seq.Add(1))
					o.status, _, o.err = in.do(http.MethodPost, "/api/v1/auth/register", "", registration(name))
					if o.status/100 == 2 {
						o.created = name
					}
				case r < 4:
					o.op = "login"
					o.status, _, o.err = in.do(http.MethodPost, "/api/v1/auth/login", "",
						map[string]string{"login": "steady-base", "password": testPass})
				default:
					o.op = "me"
					o.status, _, o.err = in.do(http.MethodGet, "/api/v1/me", access[rng.IntN(len(access))], nil)
				}
				o.took = time.Since(o.at)
				mu.Lock()
				out = append(out, o)
				mu.Unlock()
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	return out
}

// TestPostgresOutageUnderLoad cuts Postgres for 5 s under steady load:
// requests fail fast with 503 (never a 500, never a hang), /readyz turns
// 503 and back to 200, service recovers within 2 s of the database's
// return, and every registration answered 2xx is in the database.
func TestPostgresOutageUnderLoad(t *testing.T) {
	dbURL, pg := proxiedPostgres(t)
	directURL := strings.Replace(dbURL, pg.addr(), pg.target, 1)
	in := startUMS(t, map[string]string{"DATABASE_URL": dbURL})
	in.register(t, "steady-base")
	var access []string
	for range 4 {
		access = append(access, in.login(t, "steady-base").AccessToken)
	}

	stop := make(chan struct{})
	results := make(chan []outcome, 1)
	go func() { results <- steadyLoad(in, 8, access, stop) }()

	time.Sleep(2 * time.Second)
	cutAt := time.Now()
	pg.cut()
	waitFor(t, 3*time.Second, "/readyz reports the database down", func() bool {
		st, b := in.status(http.MethodGet, "/readyz", "", nil)
		return st == http.StatusServiceUnavailable && strings.Contains(string(b), `"database":"down"`)
	})
	time.Sleep(time.Until(cutAt.Add(5 * time.Second)))
	restoredAt := time.Now()
	pg.restore()
	recovered := waitFor(t, 2*time.Second, "service recovers after the database returns", func() bool {
		ready, _ := in.status(http.MethodGet, "/readyz", "", nil)
		me, _ := in.status(http.MethodGet, "/api/v1/me", access[0], nil)
		return ready == http.StatusOK && me == http.StatusOK
	})
	t.Logf("recovered %v after the database returned", recovered.Round(time.Millisecond))
	time.Sleep(2 * time.Second)
	close(stop)
	all := <-results

	counts := map[string]map[int]int{}
	var created []string
	var slowest time.Duration
	lateFailures := 0
	for _, o := range all {
		if counts[o.op] == nil {
			counts[o.op] = map[int]int{}
		}
		counts[o.op][o.status]++
		assert.NoError(t, o.err, "%s at %v: transport error", o.op, o.at.Sub(cutAt))
		if o.status >= 500 {
			assert.Equal(t, http.StatusServiceUnavailable, o.status, "%s at %v", o.op, o.at.Sub(cutAt))
		}
		if o.status/100 != 2 && o.status != http.StatusServiceUnavailable {
			t.Logf("%s at %v (cut at 0, restored at %v): %d", o.op, o.at.Sub(cutAt).Round(time.Millisecond),
				restoredAt.Sub(cutAt).Round(time.Millisecond), o.status)
		}
		if o.created != "" {
			created = append(created, o.created)
		}
		slowest = max(slowest, o.took)
		if o.at.After(restoredAt.Add(recovered+500*time.Millisecond)) && o.status/100 != 2 {
			lateFailures++
		}
	}
	t.Logf("outcomes by operation and status: %v; slowest %v", counts, slowest.Round(time.Millisecond))
	assert.Less(t, slowest, 3*time.Second, "requests fail fast during the outage")
	assert.Zero(t, lateFailures, "requests after recovery succeed")
	outage := 0
	for _, o := range all {
		if o.at.After(cutAt.Add(500*time.Millisecond)) && o.at.Before(restoredAt) && o.status == http.StatusServiceUnavailable {
			outage++
		}
	}
	assert.Positive(t, outage, "requests during the outage are answered 503")
	require.NotEmpty(t, created)

	conn, err := pgx.Connect(context.Background(), directURL)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	var found int
	require.NoError(t, conn.QueryRow(context.Background(), "SELECT count(*) FROM users WHERE username = ANY($1)", created).Scan(&found))
	assert.Equal(t, len(created), found, "every 2xx registration is stored")
}

// TestRedisOutageKeepsServing cuts Redis: logins, token checks and
// logouts go on (limits and lockouts counted per instance, revocations
// checked in the database), /readyz stays 200 reporting redis degraded,
// and Redis is used again once it returns.
func TestRedisOutageKeepsServing(t *testing.T) {
	redisURL, rp := proxiedRedis(t)
	dbURL, _ := proxiedPostgres(t)
	in := startUMS(t, map[string]string{"DATABASE_URL": dbURL, "REDIS_URL": redisURL,
		"REDIS_KEY_PREFIX":   fmt.Sprintf("ums-resilience-%d:", time.Now().UnixNano()),
		"RATE_LIMIT_ENABLED": "true", "RATE_LIMIT_GLOBAL": "100000/1m", "RATE_LIMIT_LOGIN": "1000/1m"})
	in.register(t, "redis-cut")
	tk := in.login(t, "redis-cut")

	rp.cut()
	start := time.Now()
	for range 20 {
		st, b := in.status(http.MethodGet, "/api/v1/me", tk.AccessToken, nil)
		require.Equal(t, http.StatusOK, st, string(b))
	}
	other := in.login(t, "redis-cut")
	assert.Less(t, time.Since(start), 5*time.Second, "a Redis outage costs no more than its timeouts")
	st, b := in.status(http.MethodGet, "/readyz", "", nil)
	require.Equal(t, http.StatusOK, st, string(b))
	assert.Contains(t, string(b), `"redis":"degraded"`)
	st, _ = in.status(http.MethodPost, "/api/v1/auth/logout", other.AccessToken, nil)
	require.Equal(t, http.StatusNoContent, st)
	st, _ = in.status(http.MethodGet, "/api/v1/me", other.AccessToken, nil)
	assert.Equal(t, http.StatusUnauthorized, st, "revocation holds while Redis is down")
	for range 6 {
		st, _ = in.status(http.MethodPost, "/api/v1/auth/login", "", map[string]string{"login": "nobody-here", "password": "wrong password!!"})
		assert.Contains(t, []int{http.StatusUnauthorized, http.StatusTooManyRequests}, st)
	}
	assert.Equal(t, http.StatusTooManyRequests, st, "lockouts are still counted (per instance)")

	rp.restore()
	waitFor(t, 10*time.Second, "/readyz reports redis ok again", func() bool {
		st, b := in.status(http.MethodGet, "/readyz", "", nil)
		return st == http.StatusOK && strings.Contains(string(b), `"redis":"ok"`)
	})
	st, _ = in.status(http.MethodGet, "/api/v1/me", tk.AccessToken, nil)
	assert.Equal(t, http.StatusOK, st)
}

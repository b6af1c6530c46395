//go:build resilience

package resilience

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/test/dbtest"
)

// TestSIGTERMUnderLoadDrainsAndStops signals SIGTERM while workers keep
// registrations (each an argon2id hash, queued behind the pool) in flight:
// every request the server had received before the signal gets its full
// answer, new connections are refused from the moment the drain starts,
// and the process exits 0.
func TestSIGTERMUnderLoadDrainsAndStops(t *testing.T) {
	in := startUMS(t, map[string]string{"DATABASE_URL": dbtest.PostgresURL(t),
		// A costly hash keeps requests in flight across the signal.
		"ARGON2_MEMORY_KIB": "19456", "ARGON2_ITERATIONS": "4", "HASH_QUEUE_SIZE": "64", "HASH_QUEUE_TIMEOUT": "10s"})
	type result struct {
		wrote  time.Time // when the whole request was on the wire
		status int
		err    error
	}
	var (
		mu      sync.Mutex
		results []result
		wg      sync.WaitGroup
	)
	stop := make(chan struct{})
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// One connection per request, so "accepted" is unambiguous.
			c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var r result
				body := fmt.Sprintf(`{"email":"drain%d-%d@example.com","username":"drain%d-%d","password":%q}`, w, i, w, i, testPass)
				req, _ := http.NewRequest(http.MethodPost, in.base+"/api/v1/auth/register", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
					WroteRequest: func(httptrace.WroteRequestInfo) { r.wrote = time.Now() },
				}))
				res, err := c.Do(req)
				if err == nil {
					r.status = res.StatusCode
					res.Body.Close()
				}
				r.err = err
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	signalled := time.Now()
	require.NoError(t, in.cmd.Process.Signal(syscall.SIGTERM))

	// While in-flight registrations drain, the port no longer accepts.
	time.Sleep(200 * time.Millisecond)
	draining := false
	select {
	case <-in.done:
	default:
		draining = true
	}
	_, err := net.DialTimeout("tcp", strings.TrimPrefix(in.base, "http://"), time.Second)
	assert.Error(t, err, "no new connections once the drain has begun")

	select {
	case <-in.done:
	case <-time.After(20 * time.Second):
		t.Fatal("ums did not exit within 20s of SIGTERM")
	}
	close(stop)
	wg.Wait()
	require.NoError(t, in.err, "exit status 0 after SIGTERM")
	assert.True(t, draining, "requests were still draining 200ms after the signal (the test needs load in flight)")

	answered, refused := 0, 0
	for _, r := range results {
		accepted := !r.wrote.IsZero() && r.wrote.Before(signalled.Add(-50*time.Millisecond))
		switch {
		case r.err == nil:
			assert.Contains(t, []int{http.StatusCreated, http.StatusServiceUnavailable}, r.status)
			answered++
		case accepted:
			t.Errorf("a request sent %v before the signal got no answer: %v", signalled.Sub(r.wrote).Round(time.Millisecond), r.err)
		default:
			refused++
		}
	}
	t.Logf("%d answered, %d refused after the signal", answered, refused)
	assert.Positive(t, answered)
}

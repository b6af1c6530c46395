package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/test/dbtest"
)

// TestLoginStormStaysWithinMemory fires 200 concurrent logins, with the
// production argon2 profile (19 MiB, t=2), at the real binary and reads the
// process's peak resident memory from the kernel. Every answer must be 200
// or 503 (never a timeout, reset or 500) and the peak must stay under
// 512 MiB: the bounded hash pool is what keeps 200 x 19 MiB from being
// allocated at once.
func TestLoginStormStaysWithinMemory(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	const logins = 200
	addr := freeAddr(t)
	cmd := exec.Command(binary, "serve")
	cmd.Dir = t.TempDir()
	cmd.Env = environ(map[string]string{
		"DATABASE_URL": dbtest.SQLiteURL(t), "HTTP_ADDR": addr,
		"ARGON2_MEMORY_KIB": "19456", "ARGON2_ITERATIONS": "2",
		// One test client stands for 200 users: the per-IP limits would
		// answer 429, which is not what this test measures.
		"RATE_LIMIT_ENABLED": "false",
	})
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	base := "http://" + addr
	require.Eventually(t, func() bool {
		res, err := http.Get(base + "/readyz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	}, 20*time.Second, 50*time.Millisecond, logs.String())

	// 200 distinct accounts, so the per-login throttle plays no part.
	client := &http.Client{Timeout: 60 * time.Second}
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i := 0; i < logins; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			body := fmt.Sprintf(`{"email":"storm%d@example.com","username":"storm%d","password":"correct horse battery staple"}`, i, i)
			for {
				res, err := client.Post(base+"/api/v1/auth/register", "application/json", strings.NewReader(body))
				if !assert.NoError(t, err) {
					return
				}
				res.Body.Close()
				if res.StatusCode != http.StatusServiceUnavailable {
					assert.Equal(t, http.StatusCreated, res.StatusCode)
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	before := peakRSS(t, cmd.Process.Pid)

	statuses := make(chan int, logins)
	gate := make(chan struct{})
	start := time.Now()
	for i := 0; i < logins; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			body := fmt.Sprintf(`{"login":"storm%d","password":"correct horse battery staple"}`, i)
			res, err := client.Post(base+"/api/v1/auth/login", "application/json", strings.NewReader(body))
			if err != nil {
				t.Errorf("login %d: %v", i, err)
				statuses <- 0
				return
			}
			res.Body.Close()
			statuses <- res.StatusCode
		}()
	}
	close(gate)
	wg.Wait()
	elapsed := time.Since(start)
	close(statuses)
	counts := map[int]int{}
	for s := range statuses {
		counts[s]++
	}
	peak := peakRSS(t, cmd.Process.Pid)
	t.Logf("login storm: %d logins in %v on %d CPUs: %v; peak RSS %d MiB (after registration %d MiB)",
		logins, elapsed.Round(time.Millisecond), runtime.NumCPU(), counts, peak>>20, before>>20)
	assert.Equal(t, logins, counts[http.StatusOK]+counts[http.StatusServiceUnavailable], "only 200 or 503: %v", counts)
	assert.Positive(t, counts[http.StatusOK])
	assert.Less(t, peak, int64(512<<20), "peak RSS must stay under 512 MiB")
	assert.NotContains(t, logs.String(), "correct horse")
}

// peakRSS is the process's high-water resident set (VmHWM), in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	require.NoError(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			require.NoError(t, err)
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

//go:build resilience

package resilience

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/test/dbtest"
)

// parallel runs fn n times at once (released by one gate) and counts the
// statuses.
func parallel(n int, fn func(i int) int) map[int]int {
	var (
		mu     sync.Mutex
		counts = map[int]int{}
		wg     sync.WaitGroup
	)
	gate := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			st := fn(i)
			mu.Lock()
			counts[st]++
			mu.Unlock()
		}()
	}
	close(gate)
	wg.Wait()
	return counts
}

func TestRaces(t *testing.T) {
	for name, setup := range map[string]func(t *testing.T) map[string]string{
		"postgres": func(t *testing.T) map[string]string { return map[string]string{"DATABASE_URL": dbtest.PostgresURL(t)} },
		"postgres_and_redis": func(t *testing.T) map[string]string {
			return map[string]string{"DATABASE_URL": dbtest.PostgresURL(t), "REDIS_URL": dbtest.RequireRedis(t),
				// A prefix of this run's own: a lock from an earlier run
				// (Redis keeps it for the lockout) would refuse every login.
				"REDIS_KEY_PREFIX": fmt.Sprintf("ums-races-%d:", time.Now().UnixNano())}
		},
	} {
		t.Run(name, func(t *testing.T) {
			in := startUMS(t, setup(t))

			t.Run("50_registrations_of_one_email", func(t *testing.T) {
				counts := parallel(50, func(i int) int {
					st, _ := in.status(http.MethodPost, "/api/v1/auth/register", "",
						map[string]string{"email": "Same@Example.com", "username": "same" + string(rune('a'+i%26)) + string(rune('a'+i/26)), "password": testPass})
					return st
				})
				assert.Equal(t, 1, counts[http.StatusCreated], "exactly one 201: %v", counts)
				// Each registration hashes a password: on a busy machine the
				// hash pool sheds some with 503 + Retry-After before they
				// reach the store, as it is built to. No second account,
				// whatever the split.
				assert.Equal(t, 49, counts[http.StatusConflict]+counts[http.StatusServiceUnavailable],
					"the rest 409, or 503 when the hash pool sheds: %v", counts)
				assert.Less(t, counts[http.StatusServiceUnavailable], 49, "most reach the store and lose: %v", counts)
			})

			t.Run("20_refreshes_of_one_token", func(t *testing.T) {
				in.register(t, "refresher")
				tk := in.login(t, "refresher")
				counts := parallel(20, func(int) int {
					st, _ := in.status(http.MethodPost, "/api/v1/auth/refresh", "", map[string]string{"refresh_token": tk.RefreshToken})
					return st
				})
				assert.Equal(t, 1, counts[http.StatusOK], "one winner: %v", counts)
				assert.Equal(t, 19, counts[http.StatusUnauthorized], "the rest refused: %v", counts)
			})

			t.Run("50_wrong_passwords_for_one_login", func(t *testing.T) {
				in.register(t, "guessed")
				before := in.metrics(t)
				counts := parallel(50, func(int) int {
					st, _ := in.status(http.MethodPost, "/api/v1/auth/login", "", map[string]string{"login": "guessed", "password": "not the password at all"})
					return st
				})
				after := in.metrics(t)
				checked := after["ums_logins_total{outcome=failure}"] - before["ums_logins_total{outcome=failure}"]
				assert.Equal(t, 5.0, checked, "exactly 5 password checks: %v", counts)
				assert.Equal(t, 5, counts[http.StatusUnauthorized], "%v", counts)
				// Locked out (429), or shed by the hash pool (503) when fifty
				// at once would wait on it past its timeout.
				assert.Equal(t, 45, counts[http.StatusTooManyRequests]+counts[http.StatusServiceUnavailable], "%v", counts)
				st, _ := in.status(http.MethodPost, "/api/v1/auth/login", "", map[string]string{"login": "guessed", "password": testPass})
				require.Equal(t, http.StatusTooManyRequests, st, "the right password is refused while locked")
			})
		})
	}
}

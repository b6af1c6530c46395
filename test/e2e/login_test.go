package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/adapters/sqlstore"
	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/test/dbtest"
)

func TestLogin(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *server) {
		userID := registerUser(t, s, "grace")

		t.Run("by_username_or_email_case_insensitively", func(t *testing.T) {
			for _, name := range []string{"grace", "GRACE", "Grace@Example.com"} {
				res := s.request(t, http.MethodPost, loginPath, "application/json",
					strings.NewReader(`{"login":"`+name+`","password":"`+testPass+`"}`), map[string]string{"User-Agent": "e2e-browser"})
				require.Equal(t, http.StatusOK, res.Status, string(res.Body))
				assert.Equal(t, "no-store", res.Header.Get("Cache-Control"), "token responses are never cached")
				var tk tokens
				require.NoError(t, json.Unmarshal(res.Body, &tk))
				assert.Equal(t, "Bearer", tk.TokenType)
				assert.Equal(t, 900, tk.ExpiresIn, "15 minutes by default")
				assert.Equal(t, 7*24*3600, tk.RefreshExpiresIn, "7 days idle by default")
				assert.Len(t, tk.RefreshToken, 43, "256 random bits, base64url")
				assert.False(t, tk.PasswordChangeRequired)
			}
		})

		t.Run("records_last_login_and_audits_it", func(t *testing.T) {
			tk := login(t, s, "grace", testPass)
			me := s.authed(t, http.MethodGet, "/api/v1/me", tk.AccessToken, nil)
			require.Equal(t, http.StatusOK, me.Status, string(me.Body))
			assert.Equal(t, userID, me.JSON(t)["id"])
			assert.NotEmpty(t, me.JSON(t)["last_login_at"])

			events, err := sqlstore.NewAuditLog(s.db).Recent(context.Background(), 5)
			require.NoError(t, err)
			require.Equal(t, domain.ActionLoginSucceeded, events[0].Action)
			assert.Equal(t, userID, events[0].ActorID.String())
			assert.Equal(t, tk.SessionID, events[0].TargetID)
		})

		t.Run("refresh_token_is_stored_only_as_a_hash", func(t *testing.T) {
			tk := login(t, s, "grace", testPass)
			var n int
			require.NoError(t, s.db.NewRaw("SELECT count(*) FROM refresh_tokens WHERE token_hash = ?", []byte(tk.RefreshToken)).Scan(context.Background(), &n))
			assert.Zero(t, n)
			var hashes []string
			require.NoError(t, s.db.NewRaw("SELECT CAST(token_hash AS TEXT) FROM refresh_tokens").Scan(context.Background(), &hashes))
			for _, h := range hashes {
				assert.NotContains(t, h, tk.RefreshToken)
			}
		})

		t.Run("wrong_password_and_unknown_user_answer_identically", func(t *testing.T) {
			registerUser(t, s, "hopper")
			wrong := s.postJSON(t, loginPath, map[string]any{"login": "hopper", "password": "not the password at all"})
			unknown := s.postJSON(t, loginPath, map[string]any{"login": "nobody-here", "password": "not the password at all"})
			for _, res := range []response{wrong, unknown} {
				require.Equal(t, http.StatusUnauthorized, res.Status)
				assert.Equal(t, `Bearer realm="ums"`, res.Header.Get("WWW-Authenticate"))
			}
			assert.Equal(t, withoutRequestID(t, wrong), withoutRequestID(t, unknown))
		})

		t.Run("malformed_requests_are_4xx", func(t *testing.T) {
			res := s.postJSON(t, loginPath, map[string]any{"login": "grace"})
			require.Equal(t, http.StatusUnprocessableEntity, res.Status)
			res = s.postJSON(t, loginPath, map[string]any{"login": "grace", "password": testPass, "is_admin": true})
			require.Equal(t, http.StatusBadRequest, res.Status)
			res = s.request(t, http.MethodPost, loginPath, "text/plain", strings.NewReader("grace"), nil)
			require.Equal(t, http.StatusUnsupportedMediaType, res.Status)
		})
	})
}

func withoutRequestID(t *testing.T, r response) map[string]any {
	t.Helper()
	m := r.JSON(t)
	delete(m, "request_id")
	return m
}

func TestLoginLockout(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *server) {
		t.Run("five_failures_lock_the_login_even_for_the_right_password", func(t *testing.T) {
			registerUser(t, s, "locky")
			for i := 0; i < 5; i++ {
				res := s.postJSON(t, loginPath, map[string]any{"login": "locky", "password": "wrong password " + strconv.Itoa(i)})
				require.Equal(t, http.StatusUnauthorized, res.Status, "attempt %d", i+1)
			}
			res := s.postJSON(t, loginPath, map[string]any{"login": "LOCKY", "password": testPass})
			require.Equal(t, http.StatusTooManyRequests, res.Status, "the lock holds for the login text in any case: %s", res.Body)
			assert.Equal(t, "login_locked", res.JSON(t)["code"])
			retry, err := strconv.Atoi(res.Header.Get("Retry-After"))
			require.NoError(t, err)
			assert.InDelta(t, 15*60, retry, 5)

			events, err := sqlstore.NewAuditLog(s.db).Recent(context.Background(), 20)
			require.NoError(t, err)
			assert.Equal(t, 1, countAction(events, domain.ActionLoginLocked, "threshold_reached"), "the lockout is audited once")
		})

		t.Run("a_real_username_and_email_lock_exactly_like_an_unknown_pair", func(t *testing.T) {
			registerUser(t, s, "paired")
			// 3 failures by username and 2 by email: neither text reaches
			// the threshold, for a real account as for two unknown texts,
			// so the lock never tells the two belong to one account.
			statuses := func(name, email string) []int {
				var out []int
				for i, l := range []string{name, name, name, email, email, name, email} {
					pw := "wrong password " + strconv.Itoa(i)
					if i >= 5 {
						pw = testPass
					}
					out = append(out, s.postJSON(t, loginPath, map[string]any{"login": l, "password": pw}).Status)
				}
				return out
			}
			real := statuses("paired", "paired@example.com")
			unknown := statuses("unpaired", "unpaired@example.com")
			assert.Equal(t, []int{401, 401, 401, 401, 401}, real[:5])
			assert.Equal(t, unknown[:5], real[:5])
			assert.Equal(t, []int{http.StatusOK, http.StatusOK}, real[5:], "the real account is not locked")
		})
		t.Run("unknown_logins_are_locked_the_same_way", func(t *testing.T) {
			var last response
			for i := 0; i < 6; i++ {
				last = s.postJSON(t, loginPath, map[string]any{"login": "ghost@example.com", "password": "whatever it is"})
			}
			require.Equal(t, http.StatusTooManyRequests, last.Status)
			assert.NotEmpty(t, last.Header.Get("Retry-After"))
		})

		t.Run("parallel_attempts_get_no_more_password_checks_than_the_threshold", func(t *testing.T) {
			id := registerUser(t, s, "parallel")
			statuses := make(chan int, 50)
			var wg sync.WaitGroup
			for i := 0; i < 50; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					res := s.postJSON(t, loginPath, map[string]any{"login": "parallel", "password": "wrong password guess"})
					statuses <- res.Status
				}()
			}
			wg.Wait()
			close(statuses)
			counts := map[int]int{}
			for st := range statuses {
				counts[st]++
			}
			assert.Equal(t, 5, counts[http.StatusUnauthorized], "only the threshold reaches a password check: %v", counts)
			// The rest are locked out (429), or shed by the hash pool (503)
			// when fifty at once would wait on it longer than its timeout.
			assert.Equal(t, 45, counts[http.StatusTooManyRequests]+counts[http.StatusServiceUnavailable], "%v", counts)

			var checked int
			require.NoError(t, s.db.NewRaw("SELECT count(*) FROM audit_events WHERE action = ? AND actor_id = ?",
				domain.ActionLoginFailed, id).Scan(context.Background(), &checked))
			assert.Equal(t, 5, checked)
		})

		t.Run("success_resets_the_count", func(t *testing.T) {
			registerUser(t, s, "resetme")
			for round := 0; round < 2; round++ {
				for i := 0; i < 4; i++ {
					require.Equal(t, http.StatusUnauthorized,
						s.postJSON(t, loginPath, map[string]any{"login": "resetme", "password": "wrong password here"}).Status)
				}
				login(t, s, "resetme", testPass)
			}
		})
	})
}

func countAction(events []domain.AuditEvent, action, reason string) int {
	n := 0
	for _, e := range events {
		if e.Action == action && (reason == "" || e.Details["reason"] == reason) {
			n++
		}
	}
	return n
}

func TestLoginLockoutExpires(t *testing.T) {
	s := startServer(t, dbtest.SQLiteURL(t), map[string]string{"LOGIN_LOCKOUT": "1s", "LOGIN_MAX_FAILURES": "2"})
	registerUser(t, s, "brief")
	for i := 0; i < 2; i++ {
		s.postJSON(t, loginPath, map[string]any{"login": "brief", "password": "wrong password here"})
	}
	require.Equal(t, http.StatusTooManyRequests,
		s.postJSON(t, loginPath, map[string]any{"login": "brief", "password": testPass}).Status)
	time.Sleep(1100 * time.Millisecond)
	login(t, s, "brief", testPass)
}

// TestAccountLockAcrossLoginTexts checks the per-account threshold: an
// attacker alternating between the username and the email is stopped
// when their sum reaches it, and that lock answers exactly like the
// per-login one.
func TestAccountLockAcrossLoginTexts(t *testing.T) {
	for name, url := range dialects {
		t.Run(name, func(t *testing.T) {
			s := startServer(t, url(t), map[string]string{"LOGIN_MAX_FAILURES": "3", "LOGIN_ACCOUNT_MAX_FAILURES": "4"})
			registerUser(t, s, "alternate")
			for i, l := range []string{"alternate", "alternate@example.com", "alternate", "alternate@example.com"} {
				require.Equal(t, http.StatusUnauthorized,
					s.postJSON(t, loginPath, map[string]any{"login": l, "password": "wrong password " + strconv.Itoa(i)}).Status)
			}
			byAccount := s.postJSON(t, loginPath, map[string]any{"login": "alternate", "password": testPass})
			require.Equal(t, http.StatusTooManyRequests, byAccount.Status, "two failures per text, four for the account")

			registerUser(t, s, "single")
			for i := range 3 {
				s.postJSON(t, loginPath, map[string]any{"login": "single", "password": "wrong password " + strconv.Itoa(i)})
			}
			byLogin := s.postJSON(t, loginPath, map[string]any{"login": "single", "password": testPass})
			require.Equal(t, http.StatusTooManyRequests, byLogin.Status)
			assert.Equal(t, withoutRequestID(t, byLogin), withoutRequestID(t, byAccount), "the two locks answer alike")
			assert.NotEmpty(t, byAccount.Header.Get("Retry-After"))
		})
	}
}

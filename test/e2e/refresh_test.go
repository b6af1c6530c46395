package e2e

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/test/dbtest"
)

func TestRefresh(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *server) {
		registerUser(t, s, "turing")

		t.Run("rotates_and_spends_the_old_token", func(t *testing.T) {
			first := login(t, s, "turing", testPass)
			res, second := refresh(t, s, first.RefreshToken)
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))
			assert.NotEqual(t, first.RefreshToken, second.RefreshToken)
			assert.NotEqual(t, first.AccessToken, second.AccessToken)
			assert.Equal(t, first.SessionID, second.SessionID, "the session carries on")
			require.Equal(t, http.StatusOK, s.authed(t, http.MethodGet, "/api/v1/me", second.AccessToken, nil).Status)
			res, third := refresh(t, s, second.RefreshToken)
			require.Equal(t, http.StatusOK, res.Status)
			require.NotEmpty(t, third.RefreshToken)
		})

		t.Run("reuse_of_a_spent_token_revokes_the_session", func(t *testing.T) {
			first := login(t, s, "turing", testPass)
			_, second := refresh(t, s, first.RefreshToken)

			res, _ := refresh(t, s, first.RefreshToken)
			require.Equal(t, http.StatusUnauthorized, res.Status)
			assert.Equal(t, "refresh_token_reused", res.JSON(t)["code"], "reuse has a code of its own")
			assert.Equal(t, `Bearer realm="ums", error="invalid_token"`, res.Header.Get("WWW-Authenticate"))

			res, _ = refresh(t, s, second.RefreshToken)
			assert.Equal(t, http.StatusUnauthorized, res.Status, "the thief's successor token dies with the session")
			assert.Equal(t, http.StatusUnauthorized, s.authed(t, http.MethodGet, "/api/v1/me", second.AccessToken, nil).Status,
				"access tokens of the session die at once")

			events := recentEvents(t, s, 10)
			assert.Positive(t, countAction(events, domain.ActionRefreshReused, ""))
		})

		t.Run("unknown_or_malformed_tokens_are_401", func(t *testing.T) {
			for _, tok := range []string{"", "nonsense", "A" + login(t, s, "turing", testPass).RefreshToken} {
				res, _ := refresh(t, s, tok)
				assert.Equal(t, http.StatusUnauthorized, res.Status, "%q", tok)
			}
		})

		t.Run("twenty_concurrent_refreshes_let_exactly_one_win", func(t *testing.T) {
			tk := login(t, s, "turing", testPass)
			won := concurrentRefresh(t, s, tk.RefreshToken, 20)
			assert.Len(t, won, 1)
		})
	})
}

func TestRefreshReuseGrace(t *testing.T) {
	for name, url := range dialects {
		t.Run(name, func(t *testing.T) {
			s := startServer(t, url(t), map[string]string{"REFRESH_REUSE_GRACE": "30s"})
			registerUser(t, s, "tabs")
			tk := login(t, s, "tabs", testPass)

			won := concurrentRefresh(t, s, tk.RefreshToken, 20)
			require.Len(t, won, 1, "one tab wins the race")
			// The losers were refused, but within the grace the session lives.
			require.Equal(t, http.StatusOK, s.authed(t, http.MethodGet, "/api/v1/me", won[0].AccessToken, nil).Status)
			res, _ := refresh(t, s, won[0].RefreshToken)
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		})
	}
}

func TestRefreshStrictModeRevokesOnRace(t *testing.T) {
	s := startServer(t, dbtest.SQLiteURL(t), nil)
	registerUser(t, s, "strict")
	tk := login(t, s, "strict", testPass)
	won := concurrentRefresh(t, s, tk.RefreshToken, 5)
	require.Len(t, won, 1)
	assert.Equal(t, http.StatusUnauthorized, s.authed(t, http.MethodGet, "/api/v1/me", won[0].AccessToken, nil).Status,
		"with REFRESH_REUSE_GRACE=0 a second presentation is treated as theft")
}

// concurrentRefresh presents one refresh token n times at once and returns
// the winners' pairs; every loser must get 401.
func concurrentRefresh(t *testing.T, s *server, token string, n int) []tokens {
	t.Helper()
	var (
		mu   sync.Mutex
		won  []tokens
		wg   sync.WaitGroup
		gate = make(chan struct{})
	)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			res, tk := refresh(t, s, token)
			mu.Lock()
			defer mu.Unlock()
			switch res.Status {
			case http.StatusOK:
				won = append(won, tk)
			case http.StatusUnauthorized:
			default:
				t.Errorf("unexpected status %d: %s", res.Status, res.Body)
			}
		}()
	}
	close(gate)
	wg.Wait()
	return won
}

func recentEvents(t *testing.T, s *server, n int) []domain.AuditEvent {
	t.Helper()
	events, err := auditLog(s).Recent(context.Background(), n)
	require.NoError(t, err)
	return events
}

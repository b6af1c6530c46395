package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/test/mailtest"
)

// raceTries is how many times each write is raced against a login.
const raceTries = 20

// raceLogin runs write and a login with the old password at once, each
// after a random 0–40 ms delay, and returns the login's answer. The login
// spends most of its time hashing between reading the user and writing the
// session, which is the window a whole-row write used to undo.
func raceLogin(t *testing.T, s *server, loginName string, write func()) response {
	t.Helper()
	var (
		wg  sync.WaitGroup
		res response
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		time.Sleep(time.Duration(rand.IntN(40)) * time.Millisecond)
		res = s.postJSON(t, loginPath, map[string]any{"login": loginName, "password": testPass})
	}()
	go func() {
		defer wg.Done()
		time.Sleep(time.Duration(rand.IntN(40)) * time.Millisecond)
		write()
	}()
	wg.Wait()
	return res
}

// sessionAlive reports whether a session the raced login may have opened
// can still refresh: the write that won must have ended it.
func sessionAlive(t *testing.T, s *server, login response) bool {
	t.Helper()
	if login.Status != http.StatusOK {
		return false
	}
	var tk tokens
	require.NoError(t, json.Unmarshal(login.Body, &tk))
	res, _ := refresh(t, s, tk.RefreshToken)
	return res.Status == http.StatusOK
}

// countReverts runs try raceTries times and fails t unless no try saw its
// write undone; try returns what it found undone, or "".
func countReverts(t *testing.T, try func(i int) string) {
	t.Helper()
	var reverts []string
	for i := range raceTries {
		if what := try(i); what != "" {
			reverts = append(reverts, fmt.Sprintf("try %d: %s", i, what))
		}
	}
	t.Logf("%d of %d tries reverted", len(reverts), raceTries)
	assert.Empty(t, reverts, "a login with the old password undid a committed write")
}

func (s *server) loginStatus(t *testing.T, user, password string) int {
	t.Helper()
	return s.postJSON(t, loginPath, map[string]any{"login": user, "password": password}).Status
}

// TestNoLoginUndoesAConcurrentWrite races a login with the old password
// against every write that must end the old credentials or rights, and
// checks the write always survives.
func TestNoLoginUndoesAConcurrentWrite(t *testing.T) {
	smtp := mailtest.Start(t)
	for name, url := range dialects {
		t.Run(name, func(t *testing.T) {
			s := startServer(t, url(t), mailEnv(smtp, map[string]string{"LOGIN_MAX_FAILURES": "1000"}))
			w := newWorld(t, s)
			seen := map[string]bool{}
			const newPass = "another long pass phrase"
			// passwordReverted is what a password write that lost to the
			// login looks like.
			passwordReverted := func(user string, l response) string {
				switch {
				case s.loginStatus(t, user, newPass) != http.StatusOK:
					return "the new password was undone"
				case s.loginStatus(t, user, testPass) != http.StatusUnauthorized:
					return "the old password works again"
				case sessionAlive(t, s, l):
					return "the raced login's session survived"
				}
				return ""
			}

			t.Run("password_change", func(t *testing.T) {
				countReverts(t, func(i int) string {
					user := w.unique(fmt.Sprintf("%s-chg%d-", name, i))
					registerUser(t, s, user)
					tk := login(t, s, user, testPass)
					var changed response
					l := raceLogin(t, s, user, func() {
						changed = s.authed(t, http.MethodPost, "/api/v1/auth/password/change", tk.AccessToken,
							map[string]any{"current_password": testPass, "new_password": newPass})
					})
					require.Equal(t, http.StatusNoContent, changed.Status, string(changed.Body))
					return passwordReverted(user, l)
				})
			})

			t.Run("password_reset", func(t *testing.T) {
				countReverts(t, func(i int) string {
					user := w.unique(fmt.Sprintf("%s-rst%d-", name, i))
					registerUser(t, s, user)
					require.Equal(t, http.StatusAccepted,
						s.postJSON(t, "/api/v1/auth/password/forgot", map[string]any{"email": user + "@example.com"}).Status)
					token := mailedToken(t, smtp, user+"@example.com", "/reset-password", seen)
					var reset response
					l := raceLogin(t, s, user, func() {
						reset = s.postJSON(t, "/api/v1/auth/password/reset", map[string]any{"token": token, "new_password": newPass})
					})
					require.Equal(t, http.StatusNoContent, reset.Status, string(reset.Body))
					return passwordReverted(user, l)
				})
			})

			t.Run("deactivation", func(t *testing.T) {
				countReverts(t, func(i int) string {
					user := w.unique(fmt.Sprintf("%s-off%d-", name, i))
					id := registerUser(t, s, user)
					var patched response
					l := raceLogin(t, s, user, func() {
						patched = w.sys(t, http.MethodPatch, "/api/v1/users/"+id, map[string]any{"is_active": false})
					})
					require.Equal(t, http.StatusOK, patched.Status, string(patched.Body))
					switch {
					case w.sys(t, http.MethodGet, "/api/v1/users/"+id, nil).JSON(t)["is_active"] != false:
						return "the account is active again"
					case s.loginStatus(t, user, testPass) != http.StatusUnauthorized:
						return "the deactivated account signs in"
					case sessionAlive(t, s, l):
						return "the raced login's session survived"
					}
					return ""
				})
			})

			t.Run("demotion", func(t *testing.T) {
				countReverts(t, func(i int) string {
					user := w.unique(fmt.Sprintf("%s-dem%d-", name, i))
					id := registerUser(t, s, user)
					require.Equal(t, http.StatusOK,
						w.sys(t, http.MethodPatch, "/api/v1/users/"+id, map[string]any{"is_system_admin": true}).Status)
					var patched response
					raceLogin(t, s, user, func() {
						patched = w.sys(t, http.MethodPatch, "/api/v1/users/"+id, map[string]any{"is_system_admin": false})
					})
					require.Equal(t, http.StatusOK, patched.Status, string(patched.Body))
					if w.sys(t, http.MethodGet, "/api/v1/users/"+id, nil).JSON(t)["is_system_admin"] != false {
						return "the account is a system admin again"
					}
					return ""
				})
			})

			t.Run("mfa_activation", func(t *testing.T) {
				countReverts(t, func(i int) string {
					user := w.unique(fmt.Sprintf("%s-mfa%d-", name, i))
					registerUser(t, s, user)
					tk := login(t, s, user, testPass)
					setup := s.authed(t, http.MethodPost, "/api/v1/auth/mfa/totp/setup", tk.AccessToken, map[string]any{"password": testPass})
					require.Equal(t, http.StatusOK, setup.Status, string(setup.Body))
					code, err := totp.GenerateCode(setup.JSON(t)["secret"].(string), time.Now())
					require.NoError(t, err)
					var activated response
					raceLogin(t, s, user, func() {
						activated = s.authed(t, http.MethodPost, "/api/v1/auth/mfa/totp/activate", tk.AccessToken, map[string]any{"code": code})
					})
					require.Equal(t, http.StatusOK, activated.Status, string(activated.Body))
					switch {
					case s.authed(t, http.MethodGet, "/api/v1/me", tk.AccessToken, nil).JSON(t)["mfa_enabled"] != true:
						return "MFA is off again"
					case s.loginStatus(t, user, testPass) != http.StatusUnauthorized:
						return "a password alone signs in"
					}
					return ""
				})
			})
		})
	}
}

// TestGrantRacedWithRemovalLeavesNoGrantBehind races a direct grant to a
// member against that member's removal: whichever wins, no grant may stay
// with someone who is no longer a member.
func TestGrantRacedWithRemovalLeavesNoGrantBehind(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *server) {
		w := newWorld(t, s)
		for i := range raceTries {
			user := registerUser(t, s, w.unique(fmt.Sprintf("grantrace%d-", i)))
			require.Equal(t, http.StatusCreated, w.sys(t, http.MethodPost, "/api/v1/orgs/"+w.orgA+"/members",
				map[string]any{"user_id": user, "role": "member"}).Status)
			var wg sync.WaitGroup
			wg.Add(2)
			go func() {
				defer wg.Done()
				time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond)
				w.sys(t, http.MethodPost, "/api/v1/orgs/"+w.orgA+"/grants", map[string]any{"user_id": user, "permission": "lab.patient.read"})
			}()
			go func() {
				defer wg.Done()
				time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond)
				require.Equal(t, http.StatusNoContent, w.sys(t, http.MethodDelete, "/api/v1/orgs/"+w.orgA+"/members/"+user, nil).Status)
			}()
			wg.Wait()
			var left int
			require.NoError(t, s.db.NewRaw("SELECT count(*) FROM grants WHERE user_id = ?", user).Scan(context.Background(), &left))
			assert.Zero(t, left, "try %d: a grant outlived the membership", i)
		}
	})
}

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/adapters/sqlstore"
	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/test/dbtest"
)

const registerPath = "/api/v1/auth/register"

func validRegistration(name string) map[string]any {
	return map[string]any{
		"email": name + "@example.com", "username": name,
		"password": "correct horse battery staple", "first_name": "Ada", "last_name": "Lovelace",
	}
}

func TestRegister(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *server) {
		t.Run("creates_user_without_secrets_and_audits_it", func(t *testing.T) {
			body := validRegistration("Ada.Lovelace")
			body["email"] = "  Ada.Lovelace@Example.COM "
			res := s.request(t, http.MethodPost, registerPath, "application/json",
				strings.NewReader(mustJSON(t, body)), map[string]string{"X-Request-ID": "req-e2e-1", "User-Agent": "e2e-test"})
			require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
			u := res.JSON(t)
			assert.Equal(t, "ada.lovelace@example.com", u["email"], "email is normalised")
			assert.Equal(t, "Ada.Lovelace", u["username"], "username keeps its case")
			assert.Equal(t, true, u["is_active"])
			assert.Equal(t, false, u["is_system_admin"])
			assert.Equal(t, "/api/v1/users/"+u["id"].(string), res.Header.Get("Location"))
			assert.Equal(t, "req-e2e-1", res.Header.Get("X-Request-ID"), "request id is echoed")
			for _, secret := range []string{"$argon2", "hash", "correct horse", "secret", "token"} {
				assert.NotContains(t, string(res.Body), secret)
			}

			events, err := sqlstore.NewAuditLog(s.db).Recent(context.Background(), 10)
			require.NoError(t, err)
			require.NotEmpty(t, events)
			ev := events[0]
			assert.Equal(t, domain.ActionUserRegistered, ev.Action)
			assert.Equal(t, u["id"], ev.TargetID)
			assert.Equal(t, domain.OutcomeSuccess, ev.Outcome)
			assert.Equal(t, "req-e2e-1", ev.RequestID)
			assert.Equal(t, "127.0.0.1", ev.IP)
			assert.Equal(t, "e2e-test", ev.UserAgent)
		})

		t.Run("duplicates_conflict_case_insensitively", func(t *testing.T) {
			require.Equal(t, http.StatusCreated, s.postJSON(t, registerPath, validRegistration("grace")).Status)

			sameEmail := validRegistration("hopper")
			sameEmail["email"] = "GRACE@example.com"
			res := s.postJSON(t, registerPath, sameEmail)
			assert.Equal(t, http.StatusConflict, res.Status)
			assert.Equal(t, "email_taken", res.JSON(t)["code"])

			sameName := validRegistration("other")
			sameName["username"] = "GrAcE"
			res = s.postJSON(t, registerPath, sameName)
			assert.Equal(t, http.StatusConflict, res.Status)
			assert.Equal(t, "username_taken", res.JSON(t)["code"])
		})

		t.Run("concurrent_duplicates_have_one_winner", func(t *testing.T) {
			const n = 8
			statuses := make([]int, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					body := validRegistration("racer")
					body["username"] = "racer" + string(rune('a'+i))
					statuses[i] = s.postJSON(t, registerPath, body).Status
				}()
			}
			wg.Wait()
			created := 0
			for _, st := range statuses {
				if st == http.StatusCreated {
					created++
				} else {
					assert.Equal(t, http.StatusConflict, st)
				}
			}
			assert.Equal(t, 1, created)
		})
	})
}

func TestRegisterRejectsBadInput(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *server) {
		big := `{"email":"big@example.com","username":"big","password":"` + strings.Repeat("x", 1<<20) + `"}`
		cases := []struct {
			name        string
			contentType string
			body        string
			status      int
			code        string
			fields      []string
		}{
			{"malformed_json", "application/json", `{"email":`, 400, "malformed_json", nil},
			{"not_an_object", "application/json", `["a"]`, 400, "invalid_type", nil},
			{"wrong_field_type", "application/json", `{"email":1}`, 400, "invalid_type", nil},
			{"unknown_field_is_refused", "application/json",
				`{"email":"m@example.com","username":"mallory","password":"correct horse battery staple","is_system_admin":true}`,
				400, "unknown_field", nil},
			{"trailing_data", "application/json", `{"email":"a@example.com"} {}`, 400, "malformed_json", nil},
			{"empty_body", "application/json", ``, 400, "empty_body", nil},
			{"missing_content_type", "", `{}`, 415, "unsupported_media_type", nil},
			{"form_content_type", "application/x-www-form-urlencoded", `email=a`, 415, "unsupported_media_type", nil},
			{"over_body_limit", "application/json", big, 413, "body_too_large", nil},
			{"every_broken_rule_listed", "application/json", `{"email":"not-an-email","username":"x","password":"short"}`,
				422, "validation_failed", []string{"email", "username", "password"}},
			{"common_password", "application/json",
				`{"email":"c@example.com","username":"common","password":"1qaz2wsx3EDC"}`, 422, "validation_failed", []string{"password"}},
			{"password_contains_username", "application/json",
				`{"email":"z@example.com","username":"zebrafish","password":"my-ZEBRAFISH-is-great"}`, 422, "validation_failed", []string{"password"}},
			{"password_too_long", "application/json",
				`{"email":"l@example.com","username":"longpw","password":"` + strings.Repeat("ab1!", 65) + `"}`, 422, "validation_failed", []string{"password"}},
			{"null_values", "application/json", `{"email":null,"username":null,"password":null}`, 422, "validation_failed",
				[]string{"email", "username", "password"}},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				res := s.request(t, http.MethodPost, registerPath, tc.contentType, bytes.NewReader([]byte(tc.body)), nil)
				require.Equal(t, tc.status, res.Status, string(res.Body))
				assert.True(t, strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json"))
				p := res.JSON(t)
				assert.Equal(t, tc.code, p["code"])
				assert.Equal(t, float64(tc.status), p["status"])
				assert.NotEmpty(t, p["request_id"])
				assert.Equal(t, res.Header.Get("X-Request-ID"), p["request_id"])
				var fields []string
				if errs, ok := p["errors"].([]any); ok {
					for _, e := range errs {
						fields = append(fields, e.(map[string]any)["field"].(string))
					}
				}
				for _, f := range tc.fields {
					assert.Contains(t, fields, f)
				}
			})
		}
	})
}

func TestUnknownRoutesAndMethodsAreProblems(t *testing.T) {
	s := startServer(t, dbtest.SQLiteURL(t), nil)
	res := s.request(t, http.MethodGet, "/api/v1/nope", "", nil, nil)
	assert.Equal(t, http.StatusNotFound, res.Status)
	assert.Equal(t, "not_found", res.JSON(t)["code"])
	res = s.request(t, http.MethodGet, registerPath, "", nil, nil)
	assert.Equal(t, http.StatusMethodNotAllowed, res.Status)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

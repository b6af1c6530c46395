package e2e

import (
	"bufio"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/test/dbtest"
)

// requireInvalidCharacters asserts a 422 validation problem naming field
// with the invalid_characters code.
func requireInvalidCharacters(t *testing.T, res response, field string) {
	t.Helper()
	require.Equal(t, http.StatusUnprocessableEntity, res.Status, string(res.Body))
	p := res.JSON(t)
	assert.Equal(t, "validation_failed", p["code"])
	errs, _ := p["errors"].([]any)
	var named []string
	for _, e := range errs {
		fe := e.(map[string]any)
		if fe["code"] == "invalid_characters" {
			named = append(named, fe["field"].(string))
		}
	}
	assert.Contains(t, named, field, string(res.Body))
}

// TestNULAndControlCharactersAnswer422: Postgres text cannot hold NUL and
// the SQL layer refuses it, so before the edge refused it a NUL in a login
// or a search answered 500. On both stores every such request is now a
// 422 that names the field.
func TestNULAndControlCharactersAnswer422(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *server) {
		w := newWorld(t, s)
		sys := w.tokens[systemAdmin]

		t.Run("register_each_field", func(t *testing.T) {
			for _, field := range []string{"email", "username", "password", "first_name", "last_name"} {
				body := validRegistration("nul" + strings.ReplaceAll(field, "_", ""))
				body[field] = "a\x00" + body[field].(string)
				requireInvalidCharacters(t, s.postJSON(t, registerPath, body), field)
			}
			for _, field := range []string{"email", "username", "first_name", "last_name"} {
				for _, c := range []string{"\x01", "\x1b", "\x7f"} {
					body := validRegistration("ctl" + strings.ReplaceAll(field, "_", ""))
					body[field] = body[field].(string) + c
					requireInvalidCharacters(t, s.postJSON(t, registerPath, body), field)
				}
			}
		})

		t.Run("password_may_hold_control_characters_but_NUL", func(t *testing.T) {
			pass := "correct\x01horse\x1bbattery\x7fstaple\t"
			body := validRegistration("keyboard")
			body["password"] = pass
			res := s.postJSON(t, registerPath, body)
			require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
			login(t, s, "keyboard", pass)
		})

		t.Run("login", func(t *testing.T) {
			requireInvalidCharacters(t, s.postJSON(t, loginPath, map[string]any{"login": "a\x00b", "password": "x"}), "login")
			requireInvalidCharacters(t, s.postJSON(t, loginPath, map[string]any{"login": "a\x01b", "password": "x"}), "login")
			requireInvalidCharacters(t, s.postJSON(t, loginPath, map[string]any{"login": "sys", "password": testPass + "\x00"}), "password")
			requireInvalidCharacters(t, s.postJSON(t, loginPath,
				map[string]any{"login": "sys", "password": testPass, "mfa_code": "12345\x00"}), "mfa_code")
		})

		t.Run("password_forgot", func(t *testing.T) {
			requireInvalidCharacters(t, s.postJSON(t, "/api/v1/auth/password/forgot", map[string]any{"email": "sys\x00@example.com"}), "email")
			requireInvalidCharacters(t, s.postJSON(t, "/api/v1/auth/password/forgot", map[string]any{"email": "sys@example.com\x0b"}), "email")
		})

		t.Run("refresh_token", func(t *testing.T) {
			requireInvalidCharacters(t, s.postJSON(t, refreshPath, map[string]any{"refresh_token": "abc\x00"}), "refresh_token")
		})

		t.Run("query_parameter", func(t *testing.T) {
			requireInvalidCharacters(t, s.authed(t, http.MethodGet, "/api/v1/users?q=a%00b", sys, nil), "q")
			requireInvalidCharacters(t, s.authed(t, http.MethodGet, "/api/v1/users?q=a%01b", sys, nil), "q")
			requireInvalidCharacters(t, s.authed(t, http.MethodGet, "/api/v1/audit-events?action=login%00", sys, nil), "action")
			requireInvalidCharacters(t, s.authed(t, http.MethodGet, "/api/v1/orgs?q=%1B%5B2J", sys, nil), "q")
			// A parameter the route does not read is still refused: nothing
			// of the request reaches a handler with a control character.
			requireInvalidCharacters(t, s.authed(t, http.MethodGet, "/api/v1/me?x=%00", sys, nil), "x")
			assert.Equal(t, http.StatusOK, s.authed(t, http.MethodGet, "/api/v1/users?q=%C3%A9", sys, nil).Status,
				"non-ASCII text is fine")
		})

		t.Run("path_parameter", func(t *testing.T) {
			requireInvalidCharacters(t, s.authed(t, http.MethodDelete, "/api/v1/permissions/lab.%00", sys, nil), "path")
			requireInvalidCharacters(t, s.authed(t, http.MethodGet, "/api/v1/users/%00", sys, nil), "path")
			requireInvalidCharacters(t, s.authed(t, http.MethodDelete, "/api/v1/me/sessions/a%7Fb", sys, nil), "path")
			requireInvalidCharacters(t, s.authed(t, http.MethodGet, "/api/v1/role-permissions/admin%0A", sys, nil), "path")
		})

		t.Run("patch_me", func(t *testing.T) {
			requireInvalidCharacters(t, s.authed(t, http.MethodPatch, "/api/v1/me", sys, map[string]any{"first_name": "Ada\x00"}), "first_name")
			requireInvalidCharacters(t, s.authed(t, http.MethodPatch, "/api/v1/me", sys, map[string]any{"last_name": "\x1b[2J"}), "last_name")
			res := s.authed(t, http.MethodPatch, "/api/v1/me", sys, map[string]any{"first_name": "Ada", "last_name": "Lovelace"})
			assert.Equal(t, http.StatusOK, res.Status, string(res.Body))
		})

		t.Run("nested_body", func(t *testing.T) {
			res := s.authed(t, http.MethodPost, "/api/v1/authorize/batch", sys,
				map[string]any{"checks": []any{map[string]any{"org_id": w.orgA, "permissions": []string{"lab.patient.read", "x\x00"}}}})
			requireInvalidCharacters(t, res, "checks[0].permissions[1]")
		})
	})
}

// TestControlCharactersInHeadersAreRefusedByNetHTTP: net/http refuses
// header values with control characters (other than tab) before any
// handler runs, so the User-Agent that goes to audit and sessions cannot
// carry them. Sent over a raw connection because Go's client refuses to
// send such a header at all.
func TestControlCharactersInHeadersAreRefusedByNetHTTP(t *testing.T) {
	s := startServer(t, dbtest.SQLiteURL(t), nil)
	addr := strings.TrimPrefix(s.base, "http://")
	for _, ua := range []string{"curl\x01", "curl\x00x", "curl\x1b[2J", "curl\x7f"} {
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		require.NoError(t, err)
		require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
		body := `{"login":"nobody","password":"x"}`
		_, err = conn.Write([]byte("POST " + loginPath + " HTTP/1.1\r\nHost: " + addr + "\r\nUser-Agent: " + ua +
			"\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\nConnection: close\r\n\r\n" + body))
		require.NoError(t, err)
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err)
		res.Body.Close()
		conn.Close()
		assert.Equal(t, http.StatusBadRequest, res.StatusCode, "User-Agent %q", ua)
	}
}

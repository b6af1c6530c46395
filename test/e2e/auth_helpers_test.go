package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/adapters/sqlstore"
)

const (
	loginPath   = "/api/v1/auth/login"
	refreshPath = "/api/v1/auth/refresh"
	testPass    = "correct horse battery staple"
)

// tokens is a decoded login or refresh answer.
type tokens struct {
	AccessToken            string `json:"access_token"`
	TokenType              string `json:"token_type"`
	ExpiresIn              int    `json:"expires_in"`
	RefreshToken           string `json:"refresh_token"`
	RefreshExpiresIn       int    `json:"refresh_expires_in"`
	SessionID              string `json:"session_id"`
	PasswordChangeRequired bool   `json:"password_change_required"`
}

// registerUser signs up name with testPass and returns the user's id.
func registerUser(t *testing.T, s *server, name string) string {
	t.Helper()
	res := s.postJSON(t, registerPath, validRegistration(name))
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	return res.JSON(t)["id"].(string)
}

// login logs in and requires success.
func login(t *testing.T, s *server, loginName, password string) tokens {
	t.Helper()
	res := s.postJSON(t, loginPath, map[string]any{"login": loginName, "password": password})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	var tk tokens
	require.NoError(t, json.Unmarshal(res.Body, &tk))
	return tk
}

// refresh presents a refresh token.
func refresh(t *testing.T, s *server, refreshToken string) (response, tokens) {
	t.Helper()
	res := s.postJSON(t, refreshPath, map[string]any{"refresh_token": refreshToken})
	var tk tokens
	if res.Status == http.StatusOK {
		require.NoError(t, json.Unmarshal(res.Body, &tk))
	}
	return res, tk
}

// authed sends a request with a bearer token and an optional JSON body.
func (s *server) authed(t *testing.T, method, path, token string, body any) response {
	t.Helper()
	var (
		r  io.Reader
		ct string
	)
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		r, ct = bytes.NewReader(b), "application/json"
	}
	hdr := map[string]string{}
	if token != "" {
		hdr["Authorization"] = "Bearer " + token
	}
	return s.request(t, method, path, ct, r, hdr)
}

func auditLog(s *server) *sqlstore.AuditLog { return sqlstore.NewAuditLog(s.db) }

//go:build deploy

package deploy

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// api talks JSON to one ums base URL (direct or through nginx).
type api struct {
	base   string
	client *http.Client
	// header is added to every request (spoofing attempts, request ids).
	header http.Header
}

// response is a decoded answer.
type response struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    []byte
}

func (a api) do(t *testing.T, method, path, token string, body any) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	require.NoError(t, err)
	for k, vs := range a.header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := a.client
	if c == nil {
		c = http.DefaultClient
	}
	res, err := c.Do(req)
	require.NoError(t, err, "%s %s", method, path)
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	r := response{Status: res.StatusCode, Header: res.Header, Raw: raw}
	if len(raw) > 0 && raw[0] == '{' {
		_ = json.Unmarshal(raw, &r.Body)
	}
	return r
}

// register creates a user and returns its id.
func (a api) register(t *testing.T, email, username, password string) string {
	t.Helper()
	r := a.do(t, http.MethodPost, "/api/v1/auth/register", "",
		map[string]string{"email": email, "username": username, "password": password})
	require.Equal(t, http.StatusCreated, r.Status, string(r.Raw))
	return r.Body["id"].(string)
}

// login returns the access and refresh tokens.
func (a api) login(t *testing.T, login, password string) (access, refresh string) {
	t.Helper()
	r := a.do(t, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"login": login, "password": password})
	require.Equal(t, http.StatusOK, r.Status, string(r.Raw))
	return r.Body["access_token"].(string), r.Body["refresh_token"].(string)
}

// me returns the status of GET /api/v1/me with token.
func (a api) me(t *testing.T, token string) int {
	t.Helper()
	return a.do(t, http.MethodGet, "/api/v1/me", token, nil).Status
}

package http

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// TestMetricsToken: with a token, /metrics answers 401 problems without it
// or with any other credential, 200 with it, and the token never reaches
// the log.
func TestMetricsToken(t *testing.T) {
	const token = "a-metrics-token-of-at-least-32-characters"
	core, logs := observer.New(zapcore.DebugLevel)
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ums_up 1\n")) })
	srv, err := NewServer(Config{Addr: "127.0.0.1:0", MetricsBearerToken: token},
		Services{Metrics: Observability{Handler: metrics}}, zap.New(core))
	require.NoError(t, err)

	for _, tc := range []struct {
		auth, challenge string
		status          int
	}{
		{"", `Bearer realm="ums"`, http.StatusUnauthorized},
		{"Bearer wrong", `Bearer realm="ums", error="invalid_token"`, http.StatusUnauthorized},
		{"Bearer " + token + " ", "", http.StatusOK},
		{"Basic " + token, `Bearer realm="ums", error="invalid_token"`, http.StatusUnauthorized},
		{"Bearer " + token[:31], `Bearer realm="ums", error="invalid_token"`, http.StatusUnauthorized},
		{"Bearer " + token, "", http.StatusOK},
	} {
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		require.Equal(t, tc.status, rec.Code, "Authorization %q: %s", tc.auth, rec.Body)
		assert.Equal(t, tc.challenge, rec.Header().Get("WWW-Authenticate"))
		if tc.status == http.StatusOK {
			assert.Equal(t, "ums_up 1\n", rec.Body.String())
		} else {
			assert.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
			assert.NotContains(t, rec.Body.String(), "ums_up")
		}
	}
	require.NotEmpty(t, logs.All(), "every request is access-logged")
	for _, e := range logs.All() {
		assert.NotContains(t, e.Message, token)
		assert.NotContains(t, fmt.Sprint(e.ContextMap()), token)
	}
}

package main

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHealthURL(t *testing.T) {
	for addr, want := range map[string]string{
		":8080":          "http://127.0.0.1:8080/healthz",
		"0.0.0.0:9000":   "http://127.0.0.1:9000/healthz",
		"[::]:9000":      "http://127.0.0.1:9000/healthz",
		"10.0.0.5:8080":  "http://10.0.0.5:8080/healthz",
		"[::1]:8443":     "http://[::1]:8443/healthz",
		"localhost:8080": "http://localhost:8080/healthz",
	} {
		got, err := healthURL(addr, false)
		require.NoError(t, err, addr)
		assert.Equal(t, want, got, addr)
	}
	got, err := healthURL(":8443", true)
	require.NoError(t, err)
	assert.Equal(t, "https://127.0.0.1:8443/healthz", got)
	for _, bad := range []string{"127.0.0.1:0", "nonsense", ""} {
		_, err := healthURL(bad, false)
		assert.Error(t, err, bad)
	}
}

func TestHealthcheckCommand(t *testing.T) {
	var status atomic.Int32
	status.Store(http.StatusOK)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, "/healthz", r.URL.Path)
		w.WriteHeader(int(status.Load()))
	}))
	defer srv.Close()

	out, err := ums(t, nil, "", "healthcheck", "--url", srv.URL+"/healthz")
	require.NoError(t, err, out)

	status.Store(http.StatusServiceUnavailable)
	out, err = ums(t, nil, "", "healthcheck", "--url", srv.URL+"/healthz")
	require.Error(t, err)
	assert.Contains(t, out, "answered 503")

	// Nothing listens: fail, quickly, with exit status 1.
	out, err = ums(t, map[string]string{"HTTP_ADDR": freeAddr(t)}, "", "healthcheck")
	require.Error(t, err, out)
	assert.Contains(t, out, "connection refused")
}

package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/test/dbtest"
)

func TestLoginRateLimitHitsAndResets(t *testing.T) {
	s := startServer(t, dbtest.SQLiteURL(t), map[string]string{"RATE_LIMIT_ENABLED": "true", "RATE_LIMIT_LOGIN": "3/2s"})
	body := map[string]any{"login": "nobody", "password": "whatever it is"}
	for i := 0; i < 3; i++ {
		res := s.postJSON(t, loginPath, body)
		require.Equal(t, http.StatusUnauthorized, res.Status)
		assert.Equal(t, "3", res.Header.Get("RateLimit-Limit"))
		assert.Equal(t, strconv.Itoa(2-i), res.Header.Get("RateLimit-Remaining"))
	}
	res := s.postJSON(t, loginPath, body)
	require.Equal(t, http.StatusTooManyRequests, res.Status)
	assert.Equal(t, "rate_limited", res.JSON(t)["code"])
	retry, err := strconv.Atoi(res.Header.Get("Retry-After"))
	require.NoError(t, err)
	assert.InDelta(t, 1, retry, 1)
	assert.Equal(t, http.StatusOK, s.request(t, http.MethodGet, "/healthz", "", nil, nil).Status, "probes are never limited")

	time.Sleep(time.Duration(retry)*time.Second + 100*time.Millisecond)
	assert.Equal(t, http.StatusUnauthorized, s.postJSON(t, loginPath, body).Status, "the limit refills")
}

func TestForwardedForIsBelievedOnlyFromTrustedProxies(t *testing.T) {
	limited := map[string]string{"RATE_LIMIT_ENABLED": "true", "RATE_LIMIT_LOGIN": "2/1m"}
	t.Run("untrusted_peer_cannot_choose_its_address", func(t *testing.T) {
		s := startServer(t, dbtest.SQLiteURL(t), limited)
		for i := 0; i < 3; i++ {
			res := s.request(t, http.MethodPost, loginPath, "application/json", strings.NewReader(`{"login":"x","password":"y"}`),
				map[string]string{"X-Forwarded-For": "203.0.113." + strconv.Itoa(i), "X-Real-IP": "198.51.100.7"})
			if i < 2 {
				require.Equal(t, http.StatusUnauthorized, res.Status)
			} else {
				require.Equal(t, http.StatusTooManyRequests, res.Status, "a new X-Forwarded-For per request escapes nothing")
			}
		}
		events := recentEvents(t, s, 5)
		require.NotEmpty(t, events)
		assert.Equal(t, "127.0.0.1", events[0].IP, "the audited address is the TCP peer")
	})
	t.Run("trusted_proxy_passes_the_client_address", func(t *testing.T) {
		env := map[string]string{"TRUSTED_PROXIES": "127.0.0.1/32"}
		for k, v := range limited {
			env[k] = v
		}
		s := startServer(t, dbtest.SQLiteURL(t), env)
		send := func(xff string) response {
			return s.request(t, http.MethodPost, loginPath, "application/json", strings.NewReader(`{"login":"x","password":"y"}`),
				map[string]string{"X-Forwarded-For": xff})
		}
		require.Equal(t, http.StatusUnauthorized, send("6.6.6.6, 203.0.113.9").Status)
		assert.Equal(t, "203.0.113.9", recentEvents(t, s, 1)[0].IP, "the rightmost address that is not a trusted proxy")
		require.Equal(t, http.StatusUnauthorized, send("203.0.113.10, 127.0.0.1").Status)
		assert.Equal(t, "203.0.113.10", recentEvents(t, s, 1)[0].IP, "trusted hops are skipped")
		// Different clients behind the proxy have budgets of their own.
		require.Equal(t, http.StatusUnauthorized, send("203.0.113.9").Status)
		require.Equal(t, http.StatusTooManyRequests, send("203.0.113.9").Status)
		require.Equal(t, http.StatusUnauthorized, send("203.0.113.11").Status)
	})
}

func TestCORS(t *testing.T) {
	s := startServer(t, dbtest.SQLiteURL(t), map[string]string{"ALLOWED_ORIGINS": "https://portal.example.com", "CORS_MAX_AGE": "10m"})
	preflight := func(origin string) *http.Response {
		req, _ := http.NewRequest(http.MethodOptions, s.base+loginPath, nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type, authorization")
		res, err := s.client.Do(req)
		require.NoError(t, err)
		res.Body.Close()
		return res
	}
	res := preflight("https://portal.example.com")
	assert.Equal(t, http.StatusNoContent, res.StatusCode)
	assert.Equal(t, "https://portal.example.com", res.Header.Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "true", res.Header.Get("Access-Control-Allow-Credentials"))
	assert.Equal(t, "600", res.Header.Get("Access-Control-Max-Age"), "preflights are cached")

	res = preflight("https://evil.example.com")
	assert.Empty(t, res.Header.Get("Access-Control-Allow-Origin"), "other origins get no CORS grant")

	got := s.request(t, http.MethodGet, "/healthz", "", nil, map[string]string{"Origin": "https://portal.example.com"})
	assert.Equal(t, "https://portal.example.com", got.Header.Get("Access-Control-Allow-Origin"))
	assert.NotEqual(t, "*", got.Header.Get("Access-Control-Allow-Origin"))
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	s := startServer(t, dbtest.SQLiteURL(t), map[string]string{"TRUSTED_PROXIES": "127.0.0.1"})
	for _, res := range []response{
		s.request(t, http.MethodGet, "/healthz", "", nil, nil),
		s.request(t, http.MethodGet, "/api/v1/me", "", nil, nil),
		s.request(t, http.MethodGet, "/nope", "", nil, nil),
		s.postJSON(t, loginPath, map[string]any{"login": 1}),
	} {
		assert.Equal(t, "nosniff", res.Header.Get("X-Content-Type-Options"))
		assert.Equal(t, "DENY", res.Header.Get("X-Frame-Options"))
		assert.Equal(t, "no-referrer", res.Header.Get("Referrer-Policy"))
		assert.Contains(t, res.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'")
		assert.Empty(t, res.Header.Get("Strict-Transport-Security"), "no HSTS over plain HTTP")
	}
	res := s.request(t, http.MethodGet, "/healthz", "", nil, map[string]string{"X-Forwarded-Proto": "https"})
	assert.Contains(t, res.Header.Get("Strict-Transport-Security"), "max-age=", "HSTS when a trusted proxy says HTTPS")

	plain := startServer(t, dbtest.SQLiteURL(t), nil)
	res = plain.request(t, http.MethodGet, "/healthz", "", nil, map[string]string{"X-Forwarded-Proto": "https"})
	assert.Empty(t, res.Header.Get("Strict-Transport-Security"), "an untrusted peer's X-Forwarded-Proto is ignored")

	docs := plain.request(t, http.MethodGet, "/docs", "", nil, nil)
	assert.Contains(t, docs.Header.Get("Content-Security-Policy"), "script-src 'self'", "the docs page has a CSP that lets it work")
}

// writeTestCert makes a self-signed certificate for 127.0.0.1.
func writeTestCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	kb, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600))
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestDirectTLSAndRedirect(t *testing.T) {
	certFile, keyFile, pool := writeTestCert(t)
	s := startServer(t, dbtest.SQLiteURL(t), map[string]string{"TLS_CERT_FILE": certFile, "TLS_KEY_FILE": keyFile,
		"HTTP_REDIRECT_ADDR": "127.0.0.1:0", "PUBLIC_URL": "https://ums.example.com"})
	addr := strings.TrimPrefix(s.base, "http://")
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	res, err := client.Get("https://" + addr + "/healthz")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, res.Header.Get("Strict-Transport-Security"), "max-age=")
	assert.GreaterOrEqual(t, res.TLS.Version, uint16(tls.VersionTLS12))

	old := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool,
		MaxVersion: tls.VersionTLS11}}}
	_, err = old.Get("https://" + addr + "/healthz")
	assert.Error(t, err, "TLS below 1.2 is refused")

	noFollow := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err = noFollow.Get("http://" + s.srv.SideAddr("https-redirect") + "/api/v1/me?x=1")
	require.NoError(t, err)
	res.Body.Close()
	assert.Equal(t, http.StatusPermanentRedirect, res.StatusCode)
	assert.Equal(t, "https://ums.example.com/api/v1/me?x=1", res.Header.Get("Location"), "the host comes from PUBLIC_URL, never the request")
}

func TestMetricsAfterTraffic(t *testing.T) {
	s := startServer(t, dbtest.SQLiteURL(t), nil)
	registerUser(t, s, "metered")
	login(t, s, "metered", testPass)
	s.postJSON(t, loginPath, map[string]any{"login": "metered", "password": "wrong password"})
	s.request(t, http.MethodGet, "/api/v1/users/"+"0190b6a4-0000-7000-8000-000000000000", "", nil, nil)

	res := s.request(t, http.MethodGet, "/metrics", "", nil, nil)
	require.Equal(t, http.StatusOK, res.Status)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(string(res.Body)))
	require.NoError(t, err)
	requests := families["ums_http_requests_total"]
	require.NotNil(t, requests)
	found := false
	for _, m := range requests.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["route"] == "/api/v1/users/:id" {
			found = true
			assert.Equal(t, "401", labels["status"])
		}
		assert.NotContains(t, labels["route"], "0190b6a4", "routes are templates, not raw paths")
	}
	assert.True(t, found, "the route template is the label")
	logins := families["ums_logins_total"]
	require.NotNil(t, logins)
	outcomes := map[string]float64{}
	for _, m := range logins.GetMetric() {
		outcomes[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
	}
	assert.Equal(t, 1.0, outcomes["success"])
	assert.Equal(t, 1.0, outcomes["failure"])
	for _, name := range []string{"ums_http_request_duration_seconds", "ums_build_info", "ums_hash_pool_capacity", "go_goroutines"} {
		assert.Contains(t, families, name)
	}
}

func TestMetricsOnASeparateAddress(t *testing.T) {
	s := startServer(t, dbtest.SQLiteURL(t), map[string]string{"METRICS_ADDR": "127.0.0.1:0"})
	assert.Equal(t, http.StatusNotFound, s.request(t, http.MethodGet, "/metrics", "", nil, nil).Status, "not on the public port")
	res, err := http.Get("http://" + s.srv.SideAddr("metrics") + "/metrics")
	require.NoError(t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	assert.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, string(b), "ums_build_info")
}

// cutProxy is a TCP proxy to a real server that the test can cut.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	down   bool
}

func startCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &cutProxy{ln: ln, target: target}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			if p.down {
				p.mu.Unlock()
				c.Close()
				continue
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				p.mu.Unlock()
				c.Close()
				continue
			}
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
	t.Cleanup(func() { ln.Close(); p.cut() })
	return p
}

func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *cutProxy) addr() string { return p.ln.Addr().String() }

func TestRedisSharedLimitsAndOutage(t *testing.T) {
	redisURL := dbtest.RequireRedis(t)
	host := strings.Split(redisURL, "/")[2]
	proxy := startCutProxy(t, host)
	env := map[string]string{"REDIS_URL": "redis://" + proxy.addr() + "/0", "REDIS_KEY_PREFIX": "ums-e2e-" + randomHex(t) + ":",
		"RATE_LIMIT_ENABLED": "true", "RATE_LIMIT_LOGIN": "4/1m"}
	kek := make([]byte, 32)
	_, _ = rand.Read(kek)
	env["KEY_ENCRYPTION_KEY"] = encodeKey(kek)
	dbURL := dbtest.PostgresURL(t)
	a := startServer(t, dbURL, env)
	b := startServer(t, dbURL, env)
	registerUser(t, a, "shared")
	body := map[string]any{"login": "nobody-at-all", "password": "whatever it is"}
	for _, s := range []*server{a, b, a, b} {
		require.Equal(t, http.StatusUnauthorized, s.postJSON(t, loginPath, body).Status)
	}
	assert.Equal(t, http.StatusTooManyRequests, a.postJSON(t, loginPath, body).Status, "the limit is shared through Redis")
	assert.Equal(t, http.StatusTooManyRequests, b.postJSON(t, loginPath, body).Status)

	ready := a.request(t, http.MethodGet, "/readyz", "", nil, nil)
	require.Equal(t, http.StatusOK, ready.Status)

	proxy.cut()
	tk := login(t, a, "shared", testPass)
	assert.Equal(t, http.StatusOK, a.authed(t, http.MethodGet, "/api/v1/me", tk.AccessToken, nil).Status, "serving goes on without Redis")
	ready = a.request(t, http.MethodGet, "/readyz", "", nil, nil)
	require.Equal(t, http.StatusOK, ready.Status, string(ready.Body))
	assert.Equal(t, "degraded", ready.JSON(t)["checks"].(map[string]any)["redis"])
	// Logout still revokes at once on this instance, and the other checks
	// the database while its Redis subscription is down.
	require.Equal(t, http.StatusNoContent, a.authed(t, http.MethodPost, "/api/v1/auth/logout", tk.AccessToken, nil).Status)
	assert.Equal(t, http.StatusUnauthorized, b.authed(t, http.MethodGet, "/api/v1/me", tk.AccessToken, nil).Status)
}

func encodeKey(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

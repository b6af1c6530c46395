//go:build deploy

package deploy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/test/dbtest"
)

const password = "correct horse battery staple"

// TestNginxInFrontOfUMS runs deploy/nginx/ums.conf (ports and paths
// templated, every directive kept) with a throwaway certificate in front
// of a production-configured ums on Postgres and Redis, and checks over
// HTTPS what the proxy is for.
func TestNginxInFrontOfUMS(t *testing.T) {
	t.Parallel()
	nginx := requireTool(t, "nginx")
	openssl := requireTool(t, "openssl")

	dir := worldReadableTempDir(t, "ums-nginx-")
	httpPort, httpsPort := freePort(t), freePort(t)
	public := fmt.Sprintf("https://127.0.0.1:%d", httpsPort)

	env := map[string]string{
		"ENV": "production", "DATABASE_URL": dbtest.PostgresURL(t), "KEY_ENCRYPTION_KEY": newKEK(t),
		"REDIS_URL": dbtest.RequireRedis(t), "REDIS_KEY_PREFIX": fmt.Sprintf("ums-deploy-%d:", httpsPort),
		"PUBLIC_URL": public, "TRUSTED_PROXIES": "127.0.0.1", "METRICS_ADDR": "127.0.0.1:0",
		// Production refuses the log mailer; nothing is mailed in this test.
		"MAIL_DRIVER": "smtp", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": fmt.Sprint(freePort(t)), "SMTP_TLS": "none",
	}
	// The production runbook: migrate, create the first admin, serve.
	cli(t, env, "", "migrate", "up")
	cli(t, env, password+"\n", "admin", "create", "--email", "root@example.com", "--username", "root", "--password-stdin")
	ums := startUMS(t, env)

	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	out, err := exec.Command(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
		"-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
		"-keyout", key, "-out", cert).CombinedOutput()
	require.NoError(t, err, string(out))

	writeNginxConfig(t, dir, ums.Addr, httpPort, httpsPort, cert, key)
	startNginx(t, nginx, dir, httpsPort)

	pem, err := os.ReadFile(cert)
	require.NoError(t, err)
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM(pem))
	// The client connects from 127.0.0.2: nginx sees that address, ums sees
	// nginx at 127.0.0.1 (its trusted proxy).
	client := clientFrom(t, "127.0.0.2", roots)
	spoofed := http.Header{"X-Forwarded-For": {"203.0.113.7"}, "X-Real-IP": {"203.0.113.8"}}
	user := api{base: public, client: client, header: spoofed}
	// The admin connects from 127.0.0.1, an address inside TRUSTED_PROXIES,
	// as an internal client inside a trusted network would: had nginx
	// appended to the client's X-Forwarded-For instead of replacing it, ums
	// would skip the trusted hop and believe the spoofed address.
	admin := api{base: public, client: clientFrom(t, "127.0.0.1", roots), header: spoofed}

	t.Run("https_and_hsts", func(t *testing.T) {
		res, err := client.Get(public + "/healthz")
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, http.StatusOK, res.StatusCode)
		assert.Equal(t, "HTTP/2.0", res.Proto, "http2 is on")
		assert.GreaterOrEqual(t, res.TLS.Version, uint16(tls.VersionTLS12))
		hsts := res.Header.Values("Strict-Transport-Security")
		require.Len(t, hsts, 1, "exactly one HSTS header: ums sets it, nginx must not add a second")
		assert.Contains(t, hsts[0], "max-age=")
		assert.Equal(t, "nginx", res.Header.Get("Server"), "server_tokens off: no version")
	})

	t.Run("register_login_and_client_ip", func(t *testing.T) {
		id := user.register(t, "alice@example.com", "alice", password)
		// A failed login first: a spoofer must not be able to pin failures on someone else.
		r := user.do(t, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"login": "alice", "password": "wrong password, sorry"})
		require.Equal(t, http.StatusUnauthorized, r.Status, string(r.Raw))
		access, _ := user.login(t, "alice", password)
		assert.Equal(t, http.StatusOK, user.me(t, access))
		r = user.do(t, http.MethodPost, "/api/v1/auth/login", "", map[string]string{"login": "alice", "password": password})
		require.Len(t, r.Header.Values("Strict-Transport-Security"), 1)
		assert.Equal(t, "no-store", r.Header.Get("Cache-Control"))

		adminToken, _ := admin.login(t, "root", password)
		ev := admin.do(t, http.MethodGet, "/api/v1/audit-events?limit=200", adminToken, nil)
		require.Equal(t, http.StatusOK, ev.Status, string(ev.Raw))
		seen := map[string]string{}
		for _, it := range ev.Body["items"].([]any) {
			e := it.(map[string]any)
			assert.NotContains(t, e["ip"], "203.0.113", "a client-supplied X-Forwarded-For/X-Real-IP was believed: %v", e)
			if e["target_id"] == id || e["actor_id"] == id {
				seen[e["action"].(string)] = e["ip"].(string)
			}
			if e["action"] == "auth.login" && e["actor_id"] != id {
				assert.Equal(t, "127.0.0.1", e["ip"], "the admin's login, from a trusted address with a spoofed header")
			}
		}
		for _, action := range []string{"user.registered", "auth.login_failed", "auth.login"} {
			assert.Equal(t, "127.0.0.2", seen[action], "%s must be audited with the address nginx saw (events: %v)", action, seen)
		}
	})

	t.Run("request_id_passes_through", func(t *testing.T) {
		withID := api{base: public, client: client, header: http.Header{"X-Request-ID": {"deploy-test-rid-42"}}}
		r := withID.do(t, http.MethodGet, "/healthz", "", nil)
		assert.Equal(t, "deploy-test-rid-42", r.Header.Get("X-Request-ID"))
		r = api{base: public, client: client}.do(t, http.MethodGet, "/healthz", "", nil)
		assert.Regexp(t, "^[0-9a-f]{32}$", r.Header.Get("X-Request-ID"), "nginx's own $request_id when the client sends none")
		log, err := os.ReadFile(filepath.Join(dir, "access.log"))
		require.NoError(t, err)
		assert.Contains(t, string(log), "rid=deploy-test-rid-42")
	})

	t.Run("http_redirects_to_https", func(t *testing.T) {
		res, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/api/v1/me?x=1", httpPort))
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, http.StatusPermanentRedirect, res.StatusCode)
		assert.Equal(t, public+"/api/v1/me?x=1", res.Header.Get("Location"))

		res, err = client.Get(fmt.Sprintf("http://127.0.0.1:%d/x", httpPort))
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, public+"/x", res.Header.Get("Location"), "the redirect host is fixed, whatever Host says")
	})

	t.Run("limits", func(t *testing.T) {
		big := strings.NewReader(`{"email":"` + strings.Repeat("a", 2<<20) + `"}`)
		res, err := client.Post(public+"/api/v1/auth/register", "application/json", big)
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, http.StatusRequestEntityTooLarge, res.StatusCode)

		res, err = client.Get(public + "/metrics")
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, http.StatusNotFound, res.StatusCode, "metrics are not published through the proxy")

		conn, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", httpsPort),
			&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
		if err == nil {
			conn.Close()
		}
		assert.Error(t, err, "TLS 1.1 must be refused")
	})
}

// worldReadableTempDir is a temp dir nginx's unprivileged workers can
// traverse (t.TempDir's parents are 0700).
func worldReadableTempDir(t *testing.T, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	require.NoError(t, err)
	require.NoError(t, os.Chmod(dir, 0o755))
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// writeNginxConfig templates deploy/nginx/ums.conf into dir: only
// addresses, ports and paths change. Every replacement must apply, so the
// production file cannot drift away from what is tested.
func writeNginxConfig(t *testing.T, dir, upstream string, httpPort, httpsPort int, cert, key string) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "deploy", "nginx", "ums.conf"))
	require.NoError(t, err)
	conf := string(raw)
	for _, r := range [][2]string{
		{"server 127.0.0.1:8080 ", "server " + upstream + " "},
		{"listen 80;", fmt.Sprintf("listen 127.0.0.1:%d;", httpPort)},
		{"listen 443 ssl http2;", fmt.Sprintf("listen 127.0.0.1:%d ssl http2;", httpsPort)},
		{"/etc/letsencrypt/live/ums.example.com/fullchain.pem", cert},
		{"/etc/letsencrypt/live/ums.example.com/privkey.pem", key},
		{"return 308 https://ums.example.com$request_uri;", fmt.Sprintf("return 308 https://127.0.0.1:%d$request_uri;", httpsPort)},
		{"server_name ums.example.com;", "server_name 127.0.0.1;"},
		{"/var/log/nginx/ums.access.log", filepath.Join(dir, "access.log")},
		{"/var/www/letsencrypt", filepath.Join(dir, "acme")},
	} {
		require.Contains(t, conf, r[0], "deploy/nginx/ums.conf changed: update the test's template")
		conf = strings.ReplaceAll(conf, r[0], r[1])
	}
	for _, line := range strings.Split(conf, "\n") {
		if l := strings.TrimSpace(line); !strings.HasPrefix(l, "#") {
			require.NotContains(t, l, "example.com", "an untemplated host is left")
		}
	}
	for _, p := range []string{"temp/body", "temp/proxy", "temp/fastcgi", "temp/uwsgi", "temp/scgi"} {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, p), 0o755))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "ums.conf"), []byte(conf), 0o644))
	main := fmt.Sprintf(`worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path %[1]s/temp/body;
    proxy_temp_path %[1]s/temp/proxy;
    fastcgi_temp_path %[1]s/temp/fastcgi;
    uwsgi_temp_path %[1]s/temp/uwsgi;
    scgi_temp_path %[1]s/temp/scgi;
    include %[1]s/ums.conf;
}
`, dir)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(main), 0o644))
}

// startNginx checks the configuration, starts nginx in the foreground in
// its own process group and stops the whole group when t ends.
func startNginx(t *testing.T, nginx, dir string, httpsPort int) {
	t.Helper()
	args := []string{"-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "error.log")}
	out, err := exec.Command(nginx, append(args, "-t")...).CombinedOutput()
	require.NoError(t, err, "nginx -t:\n%s", out)

	cmd := exec.Command(nginx, append(args, "-g", "daemon off;")...)
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(cmd.Process.Pid, syscall.SIGQUIT) // graceful
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			errLog, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx output:\n%s\nerror.log:\n%s", logs.String(), errLog)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", httpsPort), time.Second)
		if err == nil {
			c.Close()
			return
		}
		select {
		case <-done:
			errLog, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Fatalf("nginx exited:\n%s\n%s", logs.String(), errLog)
		default:
		}
		require.True(t, time.Now().Before(deadline), "nginx did not listen within 10s")
		time.Sleep(50 * time.Millisecond)
	}
}

// clientFrom is an HTTPS client whose connections leave from local IP
// ip, trusting roots, never following redirects.
func clientFrom(t *testing.T, ip string, roots *x509.CertPool) *http.Client {
	t.Helper()
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	tr := &http.Transport{
		DialContext:       func(ctx context.Context, n, a string) (net.Conn, error) { return dialer.DialContext(ctx, n, a) },
		TLSClientConfig:   &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2: true,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{
		Transport:     tr,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

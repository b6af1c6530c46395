//go:build resilience

// Package resilience runs the real `ums` binary through outages, shutdown,
// races and a soak, with small TCP proxies between it and Postgres and
// Redis that the tests cut and restore. It needs Postgres and Redis
// (as test/dbtest finds them) and runs only with the build tag
// `resilience`: `make test-resilience`.
package resilience

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/test/dbtest"
)

var binary string

// TestMain builds the binary once, as `make build` would.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ums-resilience")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "ums")
	build := exec.Command("go", "build", "-o", binary, "../../cmd/ums")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build ums: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

const testPass = "correct horse battery staple"

// instance is one running ums process.
type instance struct {
	cmd  *exec.Cmd
	base string
	logs *lockedBuffer
	done chan struct{}
	err  error
}

// startUMS runs `ums serve` on a free loopback port with env on top of
// test defaults and waits until /readyz answers 200.
func startUMS(t *testing.T, env map[string]string) *instance {
	t.Helper()
	addr := freeAddr(t)
	vars := map[string]string{
		"PATH": os.Getenv("PATH"), "HOME": os.Getenv("HOME"), "ENV": "test", "HTTP_ADDR": addr,
		"KEY_ENCRYPTION_KEY_FILE": filepath.Join(t.TempDir(), "kek"), "LOG_LEVEL": "warn",
		"ARGON2_MEMORY_KIB": "8192", "ARGON2_ITERATIONS": "1", "RATE_LIMIT_ENABLED": "false",
		"SHUTDOWN_TIMEOUT": "10s",
	}
	for k, v := range env {
		vars[k] = v
	}
	cmd := exec.Command(binary, "serve")
	cmd.Dir = t.TempDir()
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	in := &instance{cmd: cmd, base: "http://" + addr, logs: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = in.logs, in.logs
	require.NoError(t, cmd.Start())
	go func() { in.err = cmd.Wait(); close(in.done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-in.done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-in.done
		}
		if t.Failed() {
			t.Logf("ums log:\n%s", tail(in.logs.String(), 60))
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if st, _ := in.status(http.MethodGet, "/readyz", "", nil); st == http.StatusOK {
			return in
		}
		select {
		case <-in.done:
			t.Fatalf("ums exited before becoming ready: %v\n%s", in.err, in.logs.String())
		default:
		}
		require.True(t, time.Now().Before(deadline), "ums not ready within 30s:\n%s", in.logs.String())
		time.Sleep(50 * time.Millisecond)
	}
}

// client has a timeout longer than any the server should take; tests
// check durations themselves.
var client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}

// do sends a JSON request and returns status and body.
func (in *instance) do(method, path, token string, body any) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, in.base+path, r)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, b, err
}

func (in *instance) status(method, path, token string, body any) (int, []byte) {
	st, b, _ := in.do(method, path, token, body)
	return st, b
}

type tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

func (in *instance) register(t *testing.T, name string) {
	t.Helper()
	st, b := in.status(http.MethodPost, "/api/v1/auth/register", "", registration(name))
	require.Equal(t, http.StatusCreated, st, string(b))
}

func registration(name string) map[string]string {
	return map[string]string{"email": name + "@example.com", "username": name, "password": testPass}
}

func (in *instance) login(t *testing.T, name string) tokens {
	t.Helper()
	st, b := in.status(http.MethodPost, "/api/v1/auth/login", "", map[string]string{"login": name, "password": testPass})
	require.Equal(t, http.StatusOK, st, string(b))
	var tk tokens
	require.NoError(t, json.Unmarshal(b, &tk))
	return tk
}

// metrics scrapes /metrics into name -> summed value.
func (in *instance) metrics(t *testing.T) map[string]float64 {
	t.Helper()
	st, b := in.status(http.MethodGet, "/metrics", "", nil)
	require.Equal(t, http.StatusOK, st)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(b))
	require.NoError(t, err)
	out := map[string]float64{}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			key := name
			for _, l := range m.GetLabel() {
				key += fmt.Sprintf("{%s=%s}", l.GetName(), l.GetValue())
			}
			v := m.GetGauge().GetValue() + m.GetCounter().GetValue() + m.GetUntyped().GetValue()
			out[key] += v
			if key != name {
				out[name] += v
			}
		}
	}
	return out
}

// proxy is a TCP proxy to a real server that a test can cut (refuse new
// connections and drop open ones) and restore.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	down   bool
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.serve(c)
		}
	}()
	t.Cleanup(func() { ln.Close(); p.cut() })
	return p
}

func (p *proxy) serve(c net.Conn) {
	p.mu.Lock()
	if p.down {
		p.mu.Unlock()
		c.Close()
		return
	}
	p.mu.Unlock()
	up, err := net.DialTimeout("tcp", p.target, 3*time.Second)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.down {
		p.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	p.conns[c], p.conns[up] = struct{}{}, struct{}{}
	p.mu.Unlock()
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		dst.Close()
		src.Close()
		p.mu.Lock()
		delete(p.conns, dst)
		delete(p.conns, src)
		p.mu.Unlock()
	}
	go pipe(up, c)
	go pipe(c, up)
}

// cut refuses new connections and closes every open one.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}

// restore lets connections through again.
func (p *proxy) restore() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

// proxiedPostgres creates a fresh database and returns its URL through a
// new proxy, and the proxy.
func proxiedPostgres(t *testing.T) (string, *proxy) {
	t.Helper()
	u, err := url.Parse(dbtest.PostgresURL(t))
	require.NoError(t, err)
	p := startProxy(t, u.Host)
	u.Host = p.addr()
	return u.String(), p
}

// proxiedRedis returns a Redis URL through a new proxy, and the proxy.
func proxiedRedis(t *testing.T) (string, *proxy) {
	t.Helper()
	u, err := url.Parse(dbtest.RequireRedis(t))
	require.NoError(t, err)
	p := startProxy(t, u.Host)
	u.Host = p.addr()
	return u.String(), p
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

// lockedBuffer collects the child's output.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func tail(s string, lines int) string {
	parts := strings.Split(s, "\n")
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return strings.Join(parts, "\n")
}

// waitFor polls cond every 20 ms until it holds or d passes, and returns
// how long it took.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not within %v", what, d)
		case <-time.After(20 * time.Millisecond):
		}
	}
	return time.Since(start)
}

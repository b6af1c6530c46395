//go:build deploy

// Package deploy runs the operations kit for real on this machine: nginx
// with TLS in front of ums, the systemd units through systemd-analyze, the
// container's static binary, backup and restore with pg_dump/pg_restore
// and `ums backup`, the Django example against a running ums, and a client
// written like the old Flask service's (legacy_client.py) against the old
// API (LEGACY_API=true) after `ums import flask`.
//
// It needs nginx, openssl, the Postgres client tools and Debian's
// python3-django, python3-jwt, python3-requests and python3-cryptography
// (test/deploy/prereqs.sh installs them), a Postgres server (see
// test/dbtest) and Redis. Run it with `make test-deploy`; the build tag
// keeps it out of `make test`. With CI=true a missing tool fails the run
// instead of skipping.
package deploy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/test/dbtest"
)

var (
	// root is the repository root; the deployment files are read from it.
	root string
	// binary is ums built with the Dockerfile's own build command.
	binary string
	// buildLine is that command, as the Dockerfile has it.
	buildLine string
)

// TestMain builds the static binary once, exactly as the Dockerfile does.
func TestMain(m *testing.M) {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	root = filepath.Clean(filepath.Join(wd, "..", ".."))
	dir, err := os.MkdirTemp("", "ums-deploy-bin-")
	if err != nil {
		panic(err)
	}
	// The non-root run in image_test.go must reach the binary.
	_ = os.Chmod(dir, 0o755)
	binary = filepath.Join(dir, "ums")
	fail := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, format, args...)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	if buildLine, err = dockerfileBuildLine(); err != nil {
		fail("%v\n", err)
	}
	cmdline := strings.ReplaceAll(buildLine, "/out/ums", binary)
	build := exec.Command("sh", "-c", cmdline)
	build.Dir = root
	build.Env = append(os.Environ(), "VERSION=deploy-test")
	if out, err := build.CombinedOutput(); err != nil {
		fail("build ums (%s): %v\n%s", cmdline, err, out)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// dockerfileBuildLine returns the shell command of the Dockerfile's RUN
// line that builds the binary.
func dockerfileBuildLine() (string, error) {
	f, err := os.Open(filepath.Join(root, "Dockerfile"))
	if err != nil {
		return "", err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if strings.HasPrefix(line, "RUN ") && strings.Contains(line, "go build") {
			return strings.TrimPrefix(line, "RUN "), nil
		}
	}
	return "", fmt.Errorf("Dockerfile: no RUN line with go build")
}

// requireTool returns the path of name, or skips t (fails it with CI=true).
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if dbtest.Required() {
			t.Fatalf("%s is required (CI=true) but not installed; run test/deploy/prereqs.sh", name)
		}
		t.Skipf("%s not installed; run test/deploy/prereqs.sh", name)
	}
	return p
}

// newKEK is a fresh KEY_ENCRYPTION_KEY.
func newKEK(t *testing.T) string {
	b := make([]byte, 32)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(b)
}

// freePort returns a loopback port nobody listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// environ is a clean environment plus env: nothing from the developer's
// shell (or a .env file, as commands run in empty directories) leaks in.
func environ(env map[string]string) []string {
	base := map[string]string{"PATH": os.Getenv("PATH"), "HOME": os.Getenv("HOME"), "ENV": "test", "LOG_LEVEL": "warn"}
	for k, v := range env {
		base[k] = v
	}
	out := make([]string, 0, len(base))
	for k, v := range base {
		out = append(out, k+"="+v)
	}
	return out
}

// cli runs one ums command to completion.
func cli(t *testing.T, env map[string]string, stdin string, args ...string) string {
	t.Helper()
	out, err := cliErr(t, env, stdin, args...)
	require.NoError(t, err, "ums %s: %s", strings.Join(args, " "), out)
	return out
}

func cliErr(t *testing.T, env map[string]string, stdin string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = t.TempDir()
	cmd.Env = environ(env)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// server is a running `ums serve`.
type server struct {
	URL  string
	Addr string
	cmd  *exec.Cmd
	logs *lockedBuffer
	done chan struct{}
}

// startUMS runs `ums serve` with env (HTTP_ADDR is chosen unless given) and waits
// until /readyz answers 200. It is stopped when t ends.
func startUMS(t *testing.T, env map[string]string, args ...string) *server {
	t.Helper()
	return startUMSWith(t, env, nil, args...)
}

// startUMSWith is startUMS with a chance to adjust the command (user, dir).
func startUMSWith(t *testing.T, env map[string]string, adjust func(*exec.Cmd), args ...string) *server {
	t.Helper()
	full := map[string]string{"HTTP_ADDR": fmt.Sprintf("127.0.0.1:%d", freePort(t)), "LOG_LEVEL": "info"}
	for k, v := range env {
		full[k] = v
	}
	addr := full["HTTP_ADDR"]
	s := &server{URL: "http://" + addr, Addr: addr, logs: &lockedBuffer{}, done: make(chan struct{})}
	s.cmd = exec.Command(binary, append([]string{"serve"}, args...)...)
	s.cmd.Dir = t.TempDir()
	s.cmd.Env = environ(full)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if adjust != nil {
		adjust(s.cmd)
	}
	require.NoError(t, s.cmd.Start())
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	t.Cleanup(s.Stop)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("ums logs (%s):\n%s", addr, s.logs.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := http.Get(s.URL + "/readyz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case <-s.done:
			t.Fatalf("ums exited before it was ready:\n%s", s.logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("ums not ready within 30s:\n%s", s.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// PID is the server's process id.
func (s *server) PID() int { return s.cmd.Process.Pid }

// Stop sends SIGTERM and waits (bounded) for the drain; SIGKILL after 15s.
func (s *server) Stop() {
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// Wait waits (bounded) for the process to end by itself.
func (s *server) Wait(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case <-s.done:
	case <-time.After(d):
		t.Fatalf("ums still running after %s", d)
	}
}

// lockedBuffer collects a child's output while the test reads it.
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

// Package browser signs in through the hosted pages of UMS in a real,
// headless Chromium (Debian's /usr/bin/chromium) driven by chromedp, as a
// person would: a relying party built on the zitadel RP library sends the
// browser to UMS, which sends it back with a code; and the console's
// journeys. It runs in `make test` (alone: `make test-browser`). Without
// Chromium the tests skip, or fail when CI=true.
package browser

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	httpadapter "github.com/ums-project/ums/adapters/http"
	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/bootstrap"
	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/test/dbtest"
)

const testPass = "correct horse battery staple"

// chromiumPath is Debian's Chromium (package chromium).
const chromiumPath = "/usr/bin/chromium"

// dialects are the stores the browser tests run on; Postgres skips where it
// is unreachable, and is required with CI=true (see test/dbtest).
var dialects = []struct {
	name string
	url  func(t *testing.T) string
}{
	{"sqlite", func(t *testing.T) string { return dbtest.SQLiteURL(t) }},
	{"postgres", func(t *testing.T) string { return dbtest.PostgresURL(t) }},
}

// server is one running UMS whose PUBLIC_URL is its own address, as an
// OpenID Connect issuer's must be.
type server struct {
	base   string
	cfg    bootstrap.Config
	client *http.Client
}

func startIssuer(t *testing.T, dbURL string) *server {
	t.Helper()
	return startIssuerWith(t, dbURL, nil)
}

// startIssuerWith is startIssuer with more settings (env wins over the
// defaults), such as the SMTP server of test/mailtest.
func startIssuerWith(t *testing.T, dbURL string, env map[string]string) *server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	vars := map[string]string{
		"ENV": "test", "DATABASE_URL": dbURL, "HTTP_ADDR": addr, "PUBLIC_URL": "http://" + addr,
		// Cheap hashes keep the test fast under -race.
		"ARGON2_MEMORY_KIB": "8192", "ARGON2_ITERATIONS": "1",
		"RATE_LIMIT_ENABLED": "false",
		"SHUTDOWN_TIMEOUT":   "5s",
		// Never the repository's ./data.
		"KEY_ENCRYPTION_KEY_FILE": filepath.Join(t.TempDir(), "kek"),
	}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := bootstrap.ParseConfig(vars)
	require.NoError(t, err)
	var srv *httpadapter.Server
	app := bootstrap.ServerApp(cfg, zaptest.NewLogger(t), bootstrap.MigrationPolicy{Apply: true}, fx.Populate(&srv))
	require.NoError(t, app.Err())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, app.Start(ctx))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = app.Stop(ctx)
	})
	return &server{base: "http://" + srv.Addr(), cfg: cfg, client: &http.Client{Timeout: 30 * time.Second}}
}

// call sends a JSON request to the API, with a bearer token when given,
// and returns the status and the decoded body.
func (s *server) call(t *testing.T, method, path, token string, body any) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.base+path, r)
	require.NoError(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := s.client.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	var m map[string]any
	if len(b) > 0 {
		require.NoError(t, json.Unmarshal(b, &m), "%s %s: %s", method, path, b)
	}
	return res.StatusCode, m
}

// registerUser signs name up (name@example.com) with testPass and returns
// its id.
func registerUser(t *testing.T, s *server, name string) string {
	t.Helper()
	st, m := s.call(t, http.MethodPost, "/api/v1/auth/register", "", map[string]any{
		"email": name + "@example.com", "username": name, "password": testPass,
		"first_name": "Ada", "last_name": "Lovelace",
	})
	require.Equal(t, http.StatusCreated, st, "%v", m)
	return m["id"].(string)
}

// login signs in on the API and returns the access token.
func login(t *testing.T, s *server, name string) string {
	t.Helper()
	st, m := s.call(t, http.MethodPost, "/api/v1/auth/login", "", map[string]any{"login": name, "password": testPass})
	require.Equal(t, http.StatusOK, st, "%v", m)
	return m["access_token"].(string)
}

// enableTOTP turns TOTP on for a signed-in user and returns the secret.
func enableTOTP(t *testing.T, s *server, token string) string {
	t.Helper()
	st, m := s.call(t, http.MethodPost, "/api/v1/auth/mfa/totp/setup", token, map[string]any{"password": testPass})
	require.Equal(t, http.StatusOK, st, "%v", m)
	secret := m["secret"].(string)
	code, err := totp.GenerateCode(secret, time.Now())
	require.NoError(t, err)
	st, m = s.call(t, http.MethodPost, "/api/v1/auth/mfa/totp/activate", token, map[string]any{"code": code})
	require.Equal(t, http.StatusOK, st, "%v", m)
	return secret
}

// createClient registers an OAuth client the way the CLI does.
func createClient(t *testing.T, s *server, spec domain.OAuthClientSpec) (string, string) {
	t.Helper()
	var id, secret string
	err := bootstrap.WithOAuthClients(context.Background(), s.cfg, zap.NewNop(), func(oc *application.OAuthClients) error {
		c, sec, err := oc.Create(context.Background(), nil, spec)
		id, secret = c.ID, sec
		return err
	})
	require.NoError(t, err)
	return id, secret
}

// requireChromium skips t without Chromium, or fails it when CI=true.
func requireChromium(t *testing.T) {
	t.Helper()
	fi, err := os.Stat(chromiumPath)
	if err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required (CI=true) but missing: apt-get install -y --no-install-recommends chromium", chromiumPath)
	}
	t.Skipf("%s is missing, skipping the browser test (apt-get install -y --no-install-recommends chromium)", chromiumPath)
}

// newChromium starts a headless Chromium of its own for t and returns a tab
// whose context ends, and the browser with it, when t ends or after limit.
func newChromium(t *testing.T, limit time.Duration) context.Context {
	t.Helper()
	requireChromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	ctx, cancelTime := context.WithTimeout(ctx, limit)
	t.Cleanup(func() {
		cancelTime()
		cancelTab()
		cancelAlloc()
	})
	return ctx
}

// consoleLog keeps what a tab writes to its console and the browser log
// (CSP violations among it).
type consoleLog struct {
	mu   sync.Mutex
	msgs []chromedp.ConsoleMessage
}

func watchConsole(ctx context.Context) *consoleLog {
	c := &consoleLog{}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			c.mu.Lock()
			c.msgs = append(c.msgs, m)
			c.mu.Unlock()
		}
	}()
	return c
}

func (c *consoleLog) all() []chromedp.ConsoleMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]chromedp.ConsoleMessage(nil), c.msgs...)
}

// screenshots is where the pages' PNGs go: BROWSER_SCREENSHOTS, or a
// temporary directory of t.
func screenshots(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("BROWSER_SCREENSHOTS")
	if dir == "" {
		return t.TempDir()
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}

// screenshot saves the whole page as dir/name.png.
func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	p := filepath.Join(dir, name+".png")
	require.NoError(t, os.WriteFile(p, png, 0o644))
	t.Logf("screenshot %s", p)
}

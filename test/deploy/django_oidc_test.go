//go:build deploy

package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/test/dbtest"
)

// TestDjangoOIDCSignIn runs the Django example's "Sign in with UMS" (Authlib's
// OpenID Connect client, no UMS-specific code) against a real ums: the
// example's unit tests against a fake provider first, then a client
// registered with `ums clients create`, the Django dev server, and a
// cookie-keeping Go client as the browser: /oidc/login → ums's /ui/login
// form → back to /oidc/callback (code + PKCE redeemed, the RS256 ID token
// verified from discovery) → a page with the user's email; single sign-on
// on the next /oidc/login; /oidc/logout → ums's end_session → back on the
// Django site, and the next sign-in asks for the password again.
func TestDjangoOIDCSignIn(t *testing.T) {
	t.Parallel()
	if out, err := exec.Command(debianPython, "-c", "import django, requests, cryptography, authlib").CombinedOutput(); err != nil {
		if dbtest.Required() {
			t.Fatalf("Debian python3-django/requests/cryptography/authlib are required (CI=true): %v\n%s", err, out)
		}
		t.Skipf("Debian's python3-django, python3-requests, python3-cryptography, python3-authlib missing: %s", out)
	}
	dir := filepath.Join(root, "examples", "django")

	t.Run("unit", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, debianPython, "manage.py", "test", "oidc_login", "--verbosity", "2")
		cmd.Dir = dir
		cmd.Env = environ(map[string]string{"PYTHONDONTWRITEBYTECODE": "1"})
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		require.Regexp(t, `Ran 7 tests`, string(out), "%s", out)
		require.NotRegexp(t, `skipped`, string(out), "%s", out)
	})

	umsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	env := map[string]string{
		"DATABASE_URL": dbtest.PostgresURL(t), "KEY_ENCRYPTION_KEY": newKEK(t),
		"HTTP_ADDR": umsAddr, "PUBLIC_URL": "http://" + umsAddr + "/",
	}
	srv := startUMS(t, env)
	issuer := "http://" + umsAddr
	var discovery struct {
		Issuer     string   `json:"issuer"`
		Algs       []string `json:"id_token_signing_alg_values_supported"`
		EndSession string   `json:"end_session_endpoint"`
	}
	res, err := http.Get(srv.URL + "/.well-known/openid-configuration")
	require.NoError(t, err)
	require.NoError(t, json.NewDecoder(res.Body).Decode(&discovery))
	res.Body.Close()
	require.Equal(t, issuer, discovery.Issuer, "issuer: PUBLIC_URL without its trailing slash")
	require.Equal(t, []string{"RS256"}, discovery.Algs, "Authlib verifies with exactly these")

	api{base: srv.URL}.register(t, "ada@example.com", "ada", password)

	djangoAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	site := "http://" + djangoAddr
	out := cli(t, env, "", "clients", "create", "--name", "UMS demo (Django)", "--first-party",
		"--redirect-uri", site+"/oidc/callback", "--post-logout-uri", site+"/",
		"--grant", "authorization_code", "--grant", "refresh_token")
	var client struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	require.Contains(t, out, "{", "ums clients create prints JSON")
	require.NoError(t, json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &client), out)
	require.NotEmpty(t, client.ClientID, out)
	require.NotEmpty(t, client.ClientSecret, out)

	startDjango(t, dir, djangoAddr, map[string]string{
		"UMS_URL": srv.URL, "UMS_ISSUER": issuer,
		"UMS_OIDC_CLIENT_ID": client.ClientID, "UMS_OIDC_CLIENT_SECRET": client.ClientSecret,
		"DJANGO_SESSION_DIR": t.TempDir(), "UMS_AUTH_LOG_LEVEL": "INFO",
	})

	b := newBrowser(t)
	umsHost := func(p page) bool { return p.URL.Host == umsAddr }
	djangoHost := func(p page) bool { return p.URL.Host == djangoAddr }

	// Anonymous: the home page offers the sign-in.
	p := b.get(site + "/")
	require.Equal(t, http.StatusOK, p.Status, p.Body)
	assert.Contains(t, p.Body, "Sign in with UMS")

	// /oidc/login → ums's hosted sign-in page.
	form := b.get(site + "/oidc/login")
	require.Equal(t, http.StatusOK, form.Status, form.Body)
	require.True(t, umsHost(form), "on ums: %s", form.URL)
	require.Equal(t, "/ui/login", form.URL.Path)
	require.Contains(t, form.Body, `name="password"`)
	assert.Contains(t, form.Body, "UMS demo (Django)", "the page names the client")

	wrong := b.submit(form, map[string]string{"login": "ada", "password": "not the password"})
	require.Equal(t, http.StatusUnauthorized, wrong.Status, wrong.Body)
	require.True(t, umsHost(wrong), "a wrong password stays on ums: %s", wrong.URL)

	// The password: ums redirects to /oidc/callback, Django redeems the code
	// (client secret + PKCE verifier), verifies the ID token and lands on /.
	home := b.submit(wrong, map[string]string{"login": "ada", "password": password})
	require.Equal(t, http.StatusOK, home.Status, home.Body)
	require.True(t, djangoHost(home), "back on Django: %s", home.URL)
	require.Equal(t, "/", home.URL.Path)
	require.Contains(t, home.Body, `<strong id="email">ada@example.com</strong>`)
	assert.Contains(t, home.Body, "Sign out")
	require.True(t, visitedPath(b.visited, djangoAddr, "/oidc/callback"), "through the callback: %v", b.visited)

	// Single sign-on: ums's browser session signs the next sign-in in at once.
	again := b.get(site + "/oidc/login")
	require.True(t, djangoHost(again), "no form while signed in at ums: %s", again.URL)
	require.Contains(t, again.Body, "ada@example.com")

	// A callback Django did not start is refused before any code is redeemed.
	forged := b.get(site + "/oidc/callback?code=made-up&state=forged")
	assert.Equal(t, http.StatusBadRequest, forged.Status, forged.Body)
	assert.True(t, djangoHost(forged))

	// /oidc/logout → ums's end_session (id_token_hint, registered
	// post_logout_redirect_uri) → back on the Django site, signed out.
	b.visited = nil
	bye := b.get(site + "/oidc/logout")
	require.Equal(t, http.StatusOK, bye.Status, bye.Body)
	require.True(t, djangoHost(bye), "back on Django after logout: %s", bye.URL)
	require.Equal(t, "/", bye.URL.Path)
	require.Contains(t, bye.Body, "Not signed in")
	require.True(t, visitedPath(b.visited, umsAddr, "/oauth/end_session"), "through ums's end_session: %v", b.visited)

	// ums's browser session ended too: the next sign-in shows the form again.
	form = b.get(site + "/oidc/login")
	require.True(t, umsHost(form), "on ums: %s", form.URL)
	require.Equal(t, "/ui/login", form.URL.Path)
	require.Contains(t, form.Body, `name="password"`)
	home = b.submit(form, map[string]string{"login": "ada@example.com", "password": password})
	require.True(t, djangoHost(home), "%s", home.URL)
	require.Contains(t, home.Body, "ada@example.com")
}

// startDjango runs the example under Django's development server (no
// autoreloader) and waits until /health answers; it is killed, with its
// process group, when t ends.
func startDjango(t *testing.T, dir, addr string, env map[string]string) {
	t.Helper()
	full := map[string]string{"PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1"}
	for k, v := range env {
		full[k] = v
	}
	logs := &lockedBuffer{}
	cmd := exec.Command(debianPython, "manage.py", "runserver", "--noreload", "--nothreading", addr)
	cmd.Dir = dir
	cmd.Env = environ(full)
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("django logs (%s):\n%s", addr, logs.String())
		}
	})
	c := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := c.Get("http://" + addr + "/health")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-done:
			t.Fatalf("django exited before it was ready:\n%s", logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("django not ready within 30s:\n%s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// browser is a cookie-keeping client that follows redirects and submits
// forms as a person would; visited lists every URL it requested.
type browser struct {
	t       *testing.T
	c       *http.Client
	visited []string
}

type page struct {
	URL    *url.URL
	Status int
	Body   string
}

func newBrowser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	b := &browser{t: t}
	b.c = &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 10 {
				return fmt.Errorf("stopped after 10 redirects")
			}
			b.visited = append(b.visited, req.URL.String())
			return nil
		}}
	return b
}

func (b *browser) read(res *http.Response, err error) page {
	b.t.Helper()
	require.NoError(b.t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	require.NoError(b.t, err)
	return page{URL: res.Request.URL, Status: res.StatusCode, Body: string(body)}
}

func (b *browser) get(u string) page {
	b.t.Helper()
	b.visited = append(b.visited, u)
	return b.read(b.c.Get(u))
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)

// submit posts p's sign-in form (action /ui/login) with its hidden inputs
// (csrf, auth_request) and fields; the ums_csrf cookie goes along from the jar.
func (b *browser) submit(p page, fields map[string]string) page {
	b.t.Helper()
	form := url.Values{}
	for _, m := range hiddenInput.FindAllStringSubmatch(p.Body, -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	require.NotEmpty(b.t, form.Get("csrf"), "hidden csrf input:\n%s", p.Body)
	require.NotEmpty(b.t, form.Get("auth_request"), "hidden auth_request input:\n%s", p.Body)
	require.Contains(b.t, p.Body, `<form method="post" action="/ui/login"`)
	for k, v := range fields {
		form.Set(k, v)
	}
	target := p.URL.ResolveReference(&url.URL{Path: "/ui/login"}).String()
	b.visited = append(b.visited, target)
	return b.read(b.c.PostForm(target, form))
}

func visitedPath(visited []string, host, path string) bool {
	for _, v := range visited {
		if u, err := url.Parse(v); err == nil && u.Host == host && u.Path == path {
			return true
		}
	}
	return false
}

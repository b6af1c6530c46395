package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/test/dbtest"
)

// hook is one request a receiver got.
type hook struct {
	Path   string
	Header http.Header
	Body   []byte
	At     time.Time
	// Payload is the decoded body.
	Payload struct {
		Type      string         `json:"type"`
		Timestamp string         `json:"timestamp"`
		Data      map[string]any `json:"data"`
	}
}

// data is a payload field as a string ("" when absent or null).
func (h hook) data(key string) string {
	s, _ := h.Payload.Data[key].(string)
	return s
}

// receiver is a webhook receiver on 127.0.0.1 that records every request
// and answers as respond says.
type receiver struct {
	srv   *httptest.Server
	mu    sync.Mutex
	got   []hook
	conns int
	// respond picks the status (and a delay before answering) of the
	// n-th request (from 0) with that webhook-id.
	respond func(h hook, n int) (int, time.Duration)
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	r := &receiver{respond: func(hook, int) (int, time.Duration) { return http.StatusNoContent, 0 }}
	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(r.serve))
	r.srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			r.mu.Lock()
			r.conns++
			r.mu.Unlock()
		}
	}
	r.srv.Start()
	t.Cleanup(r.srv.Close)
	return r
}

// url is the receiver's URL for path.
func (r *receiver) url(path string) string { return r.srv.URL + path }

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	h := hook{Path: req.URL.Path, Header: req.Header.Clone(), Body: b, At: time.Now()}
	_ = json.Unmarshal(b, &h.Payload)
	r.mu.Lock()
	n := 0
	for _, g := range r.got {
		if g.Header.Get("webhook-id") == h.Header.Get("webhook-id") && g.Path == h.Path {
			n++
		}
	}
	r.got = append(r.got, h)
	respond := r.respond
	r.mu.Unlock()
	status, delay := respond(h, n)
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-req.Context().Done():
			return
		}
	}
	w.WriteHeader(status)
}

func (r *receiver) setRespond(f func(h hook, n int) (int, time.Duration)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.respond = f
}

// all is every request so far.
func (r *receiver) all() []hook {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]hook(nil), r.got...)
}

func (r *receiver) connections() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.conns
}

// waitFor returns the first request match accepts, waiting up to timeout.
func (r *receiver) waitFor(t *testing.T, what string, timeout time.Duration, match func(h hook) bool) hook {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, h := range r.all() {
			if match(h) {
				return h
			}
		}
		if time.Now().After(deadline) {
			var seen []string
			for _, h := range r.all() {
				seen = append(seen, h.Path+" "+h.Payload.Type)
			}
			t.Fatalf("no webhook %s within %s; got %v", what, timeout, seen)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// event matches a request to path of eventType about user (any user when
// "").
func event(path, eventType, user string) func(h hook) bool {
	return func(h hook) bool {
		return h.Path == path && h.Payload.Type == eventType && (user == "" || h.data("user_id") == user)
	}
}

// verifier checks signatures with the standardwebhooks npm package, run
// by node: an implementation independent of the Go one that signs.
type verifier struct {
	mu  sync.Mutex
	in  io.WriteCloser
	out *bufio.Scanner
}

// standardWebhooksVersion is the npm package the verifier runs.
const standardWebhooksVersion = "1.1.1"

var npmInstall struct {
	once sync.Once
	dir  string
	err  error
}

// newVerifier starts the node verifier. Without node or npm the test is
// skipped, unless CI=true, where that is a failure.
func newVerifier(t *testing.T) *verifier {
	t.Helper()
	node, nodeErr := exec.LookPath("node")
	_, npmErr := exec.LookPath("npm")
	if nodeErr != nil || npmErr != nil {
		if dbtest.Required() {
			t.Fatalf("node and npm are needed to verify webhook signatures independently (CI=true): %v %v", nodeErr, npmErr)
		}
		t.Skip("node or npm missing: the independent signature check cannot run")
	}
	npmInstall.once.Do(func() { npmInstall.dir, npmInstall.err = installStandardWebhooks() })
	require.NoError(t, npmInstall.err, "npm install standardwebhooks@"+standardWebhooksVersion)
	script, err := filepath.Abs(filepath.Join("testdata", "webhook_verify.js"))
	require.NoError(t, err)
	cmd := exec.Command(node, script)
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(npmInstall.dir, "node_modules"))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	require.NoError(t, err)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = in.Close()
		_ = cmd.Wait()
	})
	return &verifier{in: in, out: bufio.NewScanner(out)}
}

// installStandardWebhooks installs the package once per machine, in the
// user's cache directory, and reuses it afterwards.
func installStandardWebhooks() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	dir := filepath.Join(base, "ums-e2e", "standardwebhooks-"+standardWebhooksVersion)
	pkg := filepath.Join(dir, "node_modules", "standardwebhooks", "package.json")
	if b, err := os.ReadFile(pkg); err == nil && strings.Contains(string(b), `"version": "`+standardWebhooksVersion+`"`) {
		return dir, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	cmd := exec.Command("npm", "install", "--no-audit", "--no-fund", "--no-save", "--prefix", dir,
		"standardwebhooks@"+standardWebhooksVersion)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%w: %s", err, out)
	}
	return dir, nil
}

// check verifies h's signature with secret; nil when it holds.
func (v *verifier) check(t *testing.T, secret string, h hook) error {
	t.Helper()
	headers := map[string]string{}
	for k := range h.Header {
		headers[strings.ToLower(k)] = h.Header.Get(k)
	}
	line, err := json.Marshal(map[string]any{"secret": secret, "headers": headers, "body": string(h.Body)})
	require.NoError(t, err)
	v.mu.Lock()
	defer v.mu.Unlock()
	_, err = v.in.Write(append(line, '\n'))
	require.NoError(t, err)
	require.True(t, v.out.Scan(), "the node verifier answers: %v", v.out.Err())
	var answer struct {
		OK    bool   `json:"ok"`
		Type  string `json:"type"`
		Error string `json:"error"`
	}
	require.NoError(t, json.Unmarshal(v.out.Bytes(), &answer))
	if !answer.OK {
		return fmt.Errorf("standardwebhooks: %s", answer.Error)
	}
	require.Equal(t, h.Payload.Type, answer.Type, "the verifier parsed the same payload")
	return nil
}

// requireVerified fails unless h verifies with secret.
func (v *verifier) requireVerified(t *testing.T, secret string, h hook) {
	t.Helper()
	require.NoError(t, v.check(t, secret, h), "signature of %s %s", h.Payload.Type, h.Header.Get("webhook-id"))
}

// Package e2e drives a real UMS server on a loopback port, on SQLite and on
// Postgres, and validates every response it receives against the OpenAPI
// document the server serves.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/stretchr/testify/require"
	"go.uber.org/fx"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	httpadapter "github.com/ums-project/ums/adapters/http"
	"github.com/ums-project/ums/adapters/sqlstore"
	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/bootstrap"
	"github.com/ums-project/ums/test/dbtest"
)

// server is one running UMS instance.
type server struct {
	base   string
	db     *sqlstore.DB
	app    *fx.App
	dbURL  string
	cfg    bootstrap.Config
	client *http.Client
	keys   *application.KeyRing
	srv    *httpadapter.Server
}

// dialects lists the stores every e2e test runs on.
var dialects = map[string]func(t *testing.T) string{
	"sqlite":   func(t *testing.T) string { return dbtest.SQLiteURL(t) },
	"postgres": func(t *testing.T) string { return dbtest.PostgresURL(t) },
}

// forEachDialect runs fn against a fresh server on each store.
func forEachDialect(t *testing.T, fn func(t *testing.T, s *server)) {
	for name, url := range dialects {
		t.Run(name, func(t *testing.T) {
			fn(t, startServer(t, url(t), nil))
		})
	}
}

// startServer starts UMS on 127.0.0.1 with a random port; env overrides
// the test defaults.
func startServer(t testing.TB, dbURL string, env map[string]string) *server {
	t.Helper()
	return startServerWith(t, dbURL, env, nil)
}

// startServerWith is startServer logging to log (nil: the test's log) with
// extra fx options (fx.Replace to swap a part, say).
func startServerWith(t testing.TB, dbURL string, env map[string]string, log *zap.Logger, extra ...fx.Option) *server {
	t.Helper()
	vars := map[string]string{
		"ENV": "test", "DATABASE_URL": dbURL, "HTTP_ADDR": "127.0.0.1:0",
		// Cheap hashes keep the suite fast under -race; cost is tested in
		// the crypto adapter.
		"ARGON2_MEMORY_KIB": "8192", "ARGON2_ITERATIONS": "1",
		// Every test client is 127.0.0.1; the limits have tests of their own.
		"RATE_LIMIT_ENABLED": "false",
		"SHUTDOWN_TIMEOUT":   "5s",
		// Never the repository's ./data: each test keeps its own key file.
		"KEY_ENCRYPTION_KEY_FILE": filepath.Join(t.TempDir(), "kek"),
	}
	for k, v := range env {
		vars[k] = v
	}
	cfg, err := bootstrap.ParseConfig(vars)
	require.NoError(t, err)
	var (
		srv  *httpadapter.Server
		db   *sqlstore.DB
		keys *application.KeyRing
	)
	if log == nil {
		log = zap.NewExample()
		if tt, ok := t.(*testing.T); ok {
			log = zaptest.NewLogger(tt)
		}
	}
	app := bootstrap.ServerApp(cfg, log, bootstrap.MigrationPolicy{Apply: true}, append(extra, fx.Populate(&srv, &db, &keys))...)
	require.NoError(t, app.Err())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, app.Start(ctx))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = app.Stop(ctx)
	})
	return &server{base: "http://" + srv.Addr(), db: db, app: app, dbURL: dbURL, cfg: cfg,
		client: &http.Client{Timeout: 30 * time.Second}, keys: keys, srv: srv}
}

// response is a received, contract-checked response.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a map.
func (r response) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &m), string(r.Body))
	return m
}

// request sends a request and validates the response against the OpenAPI
// document; a response the contract does not allow fails the test.
func (s *server) request(t *testing.T, method, path, contentType string, body io.Reader, hdr map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, s.base+path, body)
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := s.client.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	if res.StatusCode >= 500 {
		require.Equal(t, http.StatusServiceUnavailable, res.StatusCode, "no request may cause a 5xx other than 503: %s", b)
	}
	validateResponse(t, req, res, b)
	return response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// postJSON sends v as a JSON body.
func (s *server) postJSON(t *testing.T, path string, v any) response {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return s.request(t, http.MethodPost, path, "application/json", bytes.NewReader(b), nil)
}

func init() {
	openapi3filter.RegisterBodyDecoder("application/problem+json", openapi3filter.JSONBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.PlainBodyDecoder)
	openapi3filter.RegisterBodyDecoder("text/plain", openapi3filter.PlainBodyDecoder)
}

var (
	contractOnce   sync.Once
	contractDoc    *openapi3.T
	contractRouter routers.Router
	contractErr    error
)

// contract is the OpenAPI document, loaded and validated once, and its
// router.
func contract(t *testing.T) (*openapi3.T, routers.Router) {
	t.Helper()
	contractOnce.Do(func() {
		spec, err := httpadapter.OpenAPIJSON()
		if err != nil {
			contractErr = err
			return
		}
		doc, err := openapi3.NewLoader().LoadFromData(spec)
		if err != nil {
			contractErr = err
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			contractErr = err
			return
		}
		contractDoc = doc
		contractRouter, contractErr = gorillamux.NewRouter(doc)
	})
	require.NoError(t, contractErr, "the OpenAPI document must load and validate")
	return contractDoc, contractRouter
}

func validateResponse(t *testing.T, req *http.Request, res *http.Response, body []byte) {
	t.Helper()
	_, contractRouter := contract(t)

	// Route matching needs the server-relative URL the document describes.
	matchReq := req.Clone(context.Background())
	matchReq.URL.Scheme, matchReq.URL.Host, matchReq.Host = "", "", ""
	route, params, err := contractRouter.FindRoute(matchReq)
	if err != nil {
		if res.StatusCode == http.StatusNotFound || res.StatusCode == http.StatusMethodNotAllowed {
			require.True(t, strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json"),
				"unknown routes answer with a problem")
			return
		}
		t.Fatalf("%s %s is not in the OpenAPI document: %v", req.Method, req.URL.Path, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: matchReq, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
		},
		Status:  res.StatusCode,
		Header:  res.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	in.SetBodyBytes(body)
	require.NoError(t, openapi3filter.ValidateResponse(context.Background(), in),
		"response to %s %s (status %d) breaks the contract: %s", req.Method, req.URL.Path, res.StatusCode, body)
}

package e2e

import (
	"context"
	"database/sql"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/test/dbtest"
)

func TestHealthAndReadiness(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *server) {
		res := s.request(t, http.MethodGet, "/healthz", "", nil, nil)
		assert.Equal(t, http.StatusOK, res.Status)

		res = s.request(t, http.MethodGet, "/readyz", "", nil, nil)
		require.Equal(t, http.StatusOK, res.Status, string(res.Body))
		assert.Equal(t, "ok", res.JSON(t)["checks"].(map[string]any)["database"])

		for _, h := range []string{"X-Content-Type-Options", "X-Frame-Options", "Content-Security-Policy", "X-Request-ID"} {
			assert.NotEmpty(t, res.Header.Get(h), h)
		}
	})
}

func TestReadinessFailsWhenDatabaseIsGone(t *testing.T) {
	t.Run("postgres_database_dropped", func(t *testing.T) {
		s := startServer(t, dbtest.PostgresURL(t), nil)
		require.Equal(t, http.StatusOK, s.request(t, http.MethodGet, "/readyz", "", nil, nil).Status)

		admin, err := sql.Open("pgx", dbtest.AdminURL())
		require.NoError(t, err)
		defer admin.Close()
		name := s.dbURL[strings.LastIndexByte(s.dbURL, '/')+1 : strings.IndexByte(s.dbURL, '?')]
		_, err = admin.ExecContext(context.Background(), "DROP DATABASE "+name+" WITH (FORCE)")
		require.NoError(t, err)

		assertNotReady(t, s)
		// Liveness is not readiness: the process is still alive.
		assert.Equal(t, http.StatusOK, s.request(t, http.MethodGet, "/healthz", "", nil, nil).Status)
	})
	t.Run("sqlite_pool_closed", func(t *testing.T) {
		s := startServer(t, dbtest.SQLiteURL(t), nil)
		require.NoError(t, s.db.Close())
		assertNotReady(t, s)
	})
}

func assertNotReady(t *testing.T, s *server) {
	t.Helper()
	res := s.request(t, http.MethodGet, "/readyz", "", nil, nil)
	require.Equal(t, http.StatusServiceUnavailable, res.Status, string(res.Body))
	p := res.JSON(t)
	assert.Equal(t, "not_ready", p["code"])
	assert.Equal(t, "down", p["checks"].(map[string]any)["database"])
	assert.NotEmpty(t, res.Header.Get("Retry-After"))
}

func TestOpenAPIAndDocsAreServed(t *testing.T) {
	s := startServer(t, dbtest.SQLiteURL(t), nil)
	res := s.request(t, http.MethodGet, "/openapi.json", "", nil, nil)
	require.Equal(t, http.StatusOK, res.Status)
	doc := res.JSON(t)
	assert.Equal(t, "3.1.0", doc["openapi"])
	assert.Contains(t, doc["paths"], "/api/v1/auth/register")

	res = s.request(t, http.MethodGet, "/docs", "", nil, nil)
	require.Equal(t, http.StatusOK, res.Status)
	assert.Contains(t, string(res.Body), "/docs/assets/swagger-ui-bundle.js", "assets are local, not from a CDN")
	assert.NotContains(t, string(res.Body), "https://")
	assert.Contains(t, res.Header.Get("Content-Security-Policy"), "script-src 'self'")
}

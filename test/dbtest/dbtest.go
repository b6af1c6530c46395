// Package dbtest gives each test package a database of its own: a fresh
// Postgres database (dropped at the end) or a SQLite file in a temp dir.
// Postgres tests run whenever Postgres is reachable; with CI=true they are
// required, so a missing server fails the run instead of skipping it.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/redis/go-redis/v9"
)

// AdminURL is the Postgres server used to create test databases; override
// with TEST_POSTGRES_URL.
func AdminURL() string {
	if u := os.Getenv("TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// RedisURL is the Redis server tests use; override with TEST_REDIS_URL.
func RedisURL() string {
	if u := os.Getenv("TEST_REDIS_URL"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/0"
}

// Required reports whether external services must be present (CI=true).
func Required() bool { return os.Getenv("CI") == "true" }

// SQLiteURL returns the URL of a new SQLite file that lives as long as t.
func SQLiteURL(t testing.TB) string {
	t.Helper()
	return "sqlite://" + filepath.Join(t.TempDir(), "ums.db")
}

// PostgresAvailable reports whether PostgresURL would give a test a database
// rather than skip it: the server answers, or it is Required (and a missing
// server then fails the test). A test that runs on several stores uses it
// to keep the others when Postgres is absent.
func PostgresAvailable() bool {
	if Required() {
		return true
	}
	admin, err := openAdmin()
	if err != nil {
		return false
	}
	_ = admin.Close()
	return true
}

// openAdmin connects to the admin database and checks that it answers.
func openAdmin() (*sql.DB, error) {
	admin, err := sql.Open("pgx", AdminURL())
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		_ = admin.Close()
		return nil, err
	}
	return admin, nil
}

// PostgresURL creates a fresh database and returns its URL; the database is
// dropped when t ends. Without a reachable server it skips t, or fails it
// when Required.
func PostgresURL(t testing.TB) string {
	t.Helper()
	admin, err := openAdmin()
	if err != nil {
		if Required() {
			t.Fatalf("postgres is required (CI=true) but unreachable at %s: %v", AdminURL(), err)
		}
		t.Skipf("postgres unreachable, skipping: %v", err)
	}
	name := "ums_test_" + randomSuffix()
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		_ = admin.Close()
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		_, _ = admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		_ = admin.Close()
	})
	return replaceDBName(AdminURL(), name)
}

// RequireRedis skips t (or fails it when Required) unless Redis answers, and
// returns its URL.
func RequireRedis(t testing.TB) string {
	t.Helper()
	opt, err := redis.ParseURL(RedisURL())
	if err != nil {
		t.Fatalf("TEST_REDIS_URL: %v", err)
	}
	c := redis.NewClient(opt)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		if Required() {
			t.Fatalf("redis is required (CI=true) but unreachable at %s: %v", RedisURL(), err)
		}
		t.Skipf("redis unreachable, skipping: %v", err)
	}
	return RedisURL()
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func replaceDBName(u, name string) string {
	q := ""
	if i := strings.IndexByte(u, '?'); i >= 0 {
		u, q = u[:i], u[i:]
	}
	return u[:strings.LastIndexByte(u, '/')+1] + name + q
}

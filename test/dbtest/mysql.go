package dbtest

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// MySQLAdminURL is the MySQL/MariaDB server the Flask import tests read old
// databases from (UMS itself never stores in MySQL); override with
// TEST_MYSQL_URL.
func MySQLAdminURL() string {
	if u := os.Getenv("TEST_MYSQL_URL"); u != "" {
		return u
	}
	return "mysql://root@127.0.0.1:3306/"
}

// MySQLURL creates a fresh utf8mb4 database and returns its
// mysql://…/name URL; it is dropped when t ends. Without a reachable
// server it skips t, or fails it when Required.
func MySQLURL(t testing.TB) string {
	t.Helper()
	u, err := url.Parse(MySQLAdminURL())
	if err != nil {
		t.Fatalf("TEST_MYSQL_URL: %v", err)
	}
	cfg := mysql.NewConfig()
	cfg.User = u.User.Username()
	cfg.Passwd, _ = u.User.Password()
	cfg.Net, cfg.Addr, cfg.Timeout = "tcp", u.Host, 3*time.Second
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		err = admin.PingContext(ctx)
		cancel()
	}
	if err != nil {
		if admin != nil {
			_ = admin.Close()
		}
		if Required() {
			t.Fatalf("mysql is required (CI=true) but unreachable at %s: %v", u.Redacted(), err)
		}
		t.Skipf("mysql unreachable, skipping: %v", err)
	}
	name := "ums_flask_" + randomSuffix()
	if _, err := admin.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4"); err != nil {
		_ = admin.Close()
		t.Fatalf("create mysql test database: %v", err)
	}
	t.Cleanup(func() {
		_, _ = admin.Exec("DROP DATABASE IF EXISTS " + name)
		_ = admin.Close()
	})
	u.Path = "/" + name
	return strings.TrimSuffix(u.String(), "?")
}

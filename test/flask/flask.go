// Package flask loads the committed fixtures of the old Flask service
// (made by make_fixture.py, on its real schema) into a fresh SQLite,
// Postgres or MySQL/MariaDB database, for the import tests.
package flask

import (
	"database/sql"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // Postgres sources
	_ "modernc.org/sqlite"             // SQLite sources

	"github.com/ums-project/ums/test/dbtest"
)

// Engines are the database engines the old service ran on.
var Engines = []string{"sqlite", "postgres", "mysql"}

// Testdata is the folder of the committed fixtures.
func Testdata() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "testdata")
}

// Source is an old database of one engine.
type Source struct {
	// DSN is what `ums import flask --from` takes.
	DSN    string
	engine string
	db     *sql.DB
}

// New creates a database of engine with the old schema and the old rows
// (flask_data.sql) and returns it; it lives as long as t.
func New(t testing.TB, engine string) *Source {
	t.Helper()
	s := &Source{engine: engine}
	var err error
	switch engine {
	case "sqlite":
		path := filepath.Join(t.TempDir(), "flask.db")
		s.DSN = "sqlite://" + path
		s.db, err = sql.Open("sqlite", "file:"+path)
	case "postgres":
		s.DSN = dbtest.PostgresURL(t)
		s.db, err = sql.Open("pgx", s.DSN)
	case "mysql":
		s.DSN = dbtest.MySQLURL(t)
		var cfg *mysql.Config
		if cfg, err = mysqlConfig(s.DSN); err == nil {
			s.db, err = sql.Open("mysql", cfg.FormatDSN())
		}
	default:
		t.Fatalf("unknown engine %q", engine)
	}
	if err != nil {
		t.Fatalf("open %s source: %v", engine, err)
	}
	t.Cleanup(func() { _ = s.db.Close() })
	s.Exec(t, "flask_schema_"+engine+".sql")
	s.Exec(t, "flask_data.sql")
	return s
}

// Exec runs a fixture file of testdata, one statement at a time.
func (s *Source) Exec(t testing.TB, file string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(Testdata(), file))
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range strings.Split(string(b), ";\n") {
		if stmt = strings.TrimSpace(stmt); stmt == "" || onlyComments(stmt) {
			continue
		}
		if _, err := s.db.Exec(stmt); err != nil {
			t.Fatalf("%s on %s: %v\n%s", file, s.engine, err, stmt)
		}
	}
}

// DB is the old database, for a test that changes rows by hand.
func (s *Source) DB() *sql.DB { return s.db }

func onlyComments(stmt string) bool {
	for _, line := range strings.Split(stmt, "\n") {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "--") {
			return false
		}
	}
	return true
}

func mysqlConfig(dsn string) (*mysql.Config, error) {
	rest := strings.TrimPrefix(dsn, "mysql://")
	at := strings.LastIndexByte(rest, '@')
	cfg := mysql.NewConfig()
	userinfo, hostpath := rest[:at], rest[at+1:]
	cfg.User, cfg.Passwd, _ = strings.Cut(userinfo, ":")
	cfg.Addr, cfg.DBName, _ = strings.Cut(hostpath, "/")
	cfg.Net, cfg.ParseTime = "tcp", true
	return cfg, nil
}

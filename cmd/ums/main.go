// Command ums is the User Management Service: serve the API, manage the
// schema and create the first administrator.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"go.uber.org/zap"

	"github.com/ums-project/ums/bootstrap"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `ums — User Management Service

Usage:
  ums serve [--migrate]        start the HTTP API (migrates automatically outside production)
  ums migrate up|down|status   apply, roll back (last group) or list schema migrations
  ums admin create --email E --username U --password-stdin [--first-name F] [--last-name L]
                               create a system administrator
  ums keys rotate              make a new active token signing key (the old one stays
                               published until its tokens expire)
  ums clients create --name NAME --redirect-uri URI [--public] [--first-party]
                     [--grant authorization_code|client_credentials|refresh_token]...
                               register an OpenID Connect client; prints {client_id, client_secret}
  ums clients list|rotate-secret ID|delete ID
                               manage OpenID Connect clients
  ums backup --to FILE         copy the SQLite database to FILE while it runs (Postgres: use pg_dump,
                               see deploy/backup.sh)
  ums healthcheck [--url U]    exit 0 if the local server's /healthz answers 200, else 1
  ums import flask --from DSN [--dry-run]
                               import the old Flask service's database (sqlite://… or
                               postgres://…); repeatable, imports only new rows
  ums import users --from FILE.jsonl [--dry-run]
                               import users with bcrypt, PBKDF2, scrypt or Werkzeug hashes
  ums version                  print the version

Configuration is read from the environment (and .env outside production);
see .env.example for every variable.
`

func main() {
	bootstrap.Version = version
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(ctx, args[1:], stderr)
	case "migrate":
		err = migrate(ctx, args[1:], stdout)
	case "admin":
		err = admin(ctx, args[1:], stdin, stdout)
	case "keys":
		err = keys(ctx, args[1:], stdout)
	case "clients":
		err = clients(ctx, args[1:], stdout, stderr)
	case "import":
		err = importCmd(ctx, args[1:], stdout)
	case "backup":
		err = backup(ctx, args[1:], stdout)
	case "healthcheck":
		err = healthcheck(ctx, args[1:], stdout)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "ums", version)
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 1
	}
	return 0
}

// configAndLogger loads and validates the configuration and builds the
// logger every long-running command uses.
func configAndLogger() (bootstrap.Config, *zap.Logger, error) {
	cfg, err := bootstrap.LoadConfig()
	if err != nil {
		return cfg, nil, fmt.Errorf("configuration:\n%w", err)
	}
	log, err := bootstrap.NewLogger(cfg)
	return cfg, log, err
}

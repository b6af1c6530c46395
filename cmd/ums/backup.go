package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/ums-project/ums/bootstrap"
)

// backup copies the embedded SQLite database to a new file while servers
// may keep running. Postgres deployments use pg_dump (deploy/backup.sh):
// for them the command says so and fails rather than pretending.
func backup(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	fs.SetOutput(stdout)
	to := fs.String("to", "", "file to write the copy to; must not exist (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *to == "" || fs.NArg() != 0 {
		return errors.New("usage: ums backup --to FILE")
	}
	cfg, err := bootstrap.LoadConfig()
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	size, err := bootstrap.BackupSQLite(ctx, cfg, *to)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backed up to %s (%d bytes, integrity ok); keep KEY_ENCRYPTION_KEY too: without it the signing keys in the copy cannot be opened\n", *to, size)
	return nil
}

package main

import (
	"context"
	"fmt"
	"io"

	"github.com/ums-project/ums/bootstrap"
)

func migrate(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: ums migrate up|down|status")
	}
	cfg, err := bootstrap.LoadConfig()
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	switch args[0] {
	case "up":
		applied, err := bootstrap.MigrateUp(ctx, cfg)
		if err != nil {
			return err
		}
		if len(applied) == 0 {
			fmt.Fprintln(stdout, "nothing to apply: the schema is up to date")
		}
		for _, n := range applied {
			fmt.Fprintln(stdout, "applied", n)
		}
	case "down":
		rolled, err := bootstrap.MigrateDown(ctx, cfg)
		if err != nil {
			return err
		}
		if len(rolled) == 0 {
			fmt.Fprintln(stdout, "nothing to roll back")
		}
		for _, n := range rolled {
			fmt.Fprintln(stdout, "rolled back", n)
		}
	case "status":
		st, err := bootstrap.MigrationStatus(ctx, cfg)
		if err != nil {
			return err
		}
		for _, s := range st {
			state := "pending"
			if s.Applied {
				state = "applied"
			}
			fmt.Fprintf(stdout, "%-8s %s\n", state, s.Name)
		}
	default:
		return fmt.Errorf("unknown migrate command %q: want up, down or status", args[0])
	}
	return nil
}

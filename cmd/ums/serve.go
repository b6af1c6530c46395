package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"go.uber.org/zap"

	"github.com/ums-project/ums/bootstrap"
)

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	applyMigrations := fs.Bool("migrate", false, "apply pending migrations before serving (implied outside production)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, log, err := configAndLogger()
	if err != nil {
		return err
	}
	defer func() { _ = log.Sync() }()

	app := bootstrap.ServerApp(cfg, log, bootstrap.MigrationPolicy{Apply: *applyMigrations || !cfg.IsProduction()})
	if err := app.Start(ctx); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	log.Info("ums started", zap.String("version", version), zap.String("env", cfg.Env),
		zap.String("addr", cfg.HTTPAddr), zap.String("docs", "/docs"))
	if !cfg.IsProduction() {
		log.Info("create the first administrator with: " +
			"echo 'a-long-passphrase' | ums admin create --email admin@example.com --username admin --password-stdin")
	}
	<-ctx.Done()
	log.Info("shutting down; draining in-flight requests", zap.Duration("timeout", cfg.ShutdownTimeout))
	stopCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout+5*time.Second)
	defer cancel()
	if err := app.Stop(stopCtx); err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	log.Info("stopped")
	return nil
}

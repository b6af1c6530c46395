package bootstrap

import (
	"context"
	"time"

	"go.uber.org/fx"
)

// inBackground runs loop in a goroutine while the app runs: it starts with
// the app and, at stop, its context is cancelled and stop waits for it to
// return (so nothing outlives the database it uses).
func inBackground(lc fx.Lifecycle, loop func(ctx context.Context)) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	lc.Append(fx.Hook{
		OnStart: func(context.Context) error {
			go func() { defer close(done); loop(ctx) }()
			return nil
		},
		OnStop: func(context.Context) error {
			cancel()
			<-done
			return nil
		},
	})
}

// everyUntilDone calls fn at once and then every d until ctx ends.
func everyUntilDone(ctx context.Context, d time.Duration, fn func()) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		fn()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

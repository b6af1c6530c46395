package bootstrap

import (
	"context"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"
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

// pruneEvery runs prune every d while the app runs (not at once: a start
// has other work), logging what it removed; what names the rows for the
// log ("expired passkey ceremonies").
func pruneEvery(lc fx.Lifecycle, log *zap.Logger, what string, d time.Duration, prune func(ctx context.Context) (int, error)) {
	inBackground(lc, func(ctx context.Context) {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if n, err := prune(ctx); err != nil && ctx.Err() == nil {
					log.Warn("pruning failed", zap.String("what", what), zap.Error(err))
				} else if n > 0 {
					log.Debug("pruned", zap.String("what", what), zap.Int("count", n))
				}
			}
		}
	})
}

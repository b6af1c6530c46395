package sqlstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/adapters/sqlstore"
	"github.com/ums-project/ums/ports"
	"github.com/ums-project/ums/ports/porttest"
)

func TestLoginThrottleContract(t *testing.T) {
	for name, url := range stores() {
		t.Run(name, func(t *testing.T) {
			// One database for the suite: its subtests use keys of their own.
			db := openMigrated(t, url(t))
			porttest.RunLoginThrottle(t, func(t *testing.T, p ports.ThrottlePolicy) ports.LoginThrottle {
				return sqlstore.NewLoginThrottle(db, p)
			})
		})
	}
}

// Instances share the counter only through the database: two pools on one
// database must together admit no more than the threshold.
func TestLoginThrottleIsAtomicAcrossInstances(t *testing.T) {
	for name, url := range stores() {
		t.Run(name, func(t *testing.T) {
			u := url(t)
			p := ports.ThrottlePolicy{MaxFailures: 5, Window: time.Minute, Lockout: time.Hour}
			first := sqlstore.NewLoginThrottle(openMigrated(t, u), p)
			second := sqlstore.NewLoginThrottle(openMigrated(t, u), p)
			now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

			const n = 40
			var wg sync.WaitGroup
			start := make(chan struct{})
			oks := make([]bool, n)
			errs := make([]error, n)
			for i := range n {
				th := first
				if i%2 == 1 {
					th = second
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					oks[i], _, errs[i] = th.Reserve(context.Background(), "shared@example.com", now)
				}()
			}
			close(start)
			wg.Wait()
			admitted := 0
			for i := range n {
				require.NoError(t, errs[i])
				if oks[i] {
					admitted++
				}
			}
			assert.Equal(t, p.MaxFailures, admitted)
		})
	}
}

// Reserve now and then deletes rows a Reserve would start afresh, so
// identifiers tried once do not pile up; live counters and locks stay.
func TestLoginThrottlePrunesStaleRows(t *testing.T) {
	for name, url := range stores() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db := openMigrated(t, url(t))
			p := ports.ThrottlePolicy{MaxFailures: 1, Window: time.Minute, Lockout: time.Hour}
			th := sqlstore.NewLoginThrottle(db, p)
			base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

			_, _, err := th.Reserve(ctx, "stale", base)
			require.NoError(t, err)
			_, _, err = th.Reserve(ctx, "locked", base)
			require.NoError(t, err)
			locked, err := th.Fail(ctx, "locked", base)
			require.NoError(t, err)
			require.True(t, locked)

			// Enough calls for at least one prune (every 1000).
			later := base.Add(p.Window)
			for i := range 1000 {
				_, _, err := th.Reserve(ctx, "live", later.Add(time.Duration(i)*time.Millisecond))
				require.NoError(t, err)
			}
			var left []string
			require.NoError(t, db.NewSelect().Table("login_attempts").Column("identifier").
				OrderExpr("identifier").Scan(ctx, &left))
			assert.Equal(t, []string{"live", "locked"}, left)
		})
	}
}

// A success's reset commits or rolls back with the caller's transaction;
// a reservation made inside one stands whatever the caller does.
func TestLoginThrottleResetJoinsTheCallersTransactionAndReserveDoesNot(t *testing.T) {
	for name, url := range stores() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db := openMigrated(t, url(t))
			th := sqlstore.NewLoginThrottle(db, ports.ThrottlePolicy{MaxFailures: 2, Window: time.Minute, Lockout: time.Hour})
			txm := sqlstore.NewTxManager(db)
			now := time.Now()
			keys := func() []string {
				var left []string
				require.NoError(t, db.NewSelect().Table("login_attempts").Column("identifier").OrderExpr("identifier").Scan(ctx, &left))
				return left
			}

			ok, _, err := th.Reserve(ctx, "kept", now)
			require.NoError(t, err)
			require.True(t, ok)
			err = txm.WithinTx(ctx, func(ctx context.Context) error {
				require.NoError(t, th.Reset(ctx, "kept"))
				return assert.AnError
			})
			require.ErrorIs(t, err, assert.AnError)
			assert.Equal(t, []string{"kept"}, keys(), "the reset rolled back with the transaction")

			if name == "postgres" { // SQLite's single writer: the inner write would wait on the outer one
				err = txm.WithinTx(ctx, func(ctx context.Context) error {
					ok, _, err := th.Reserve(ctx, "reserved", now)
					require.NoError(t, err)
					require.True(t, ok)
					return assert.AnError
				})
				require.ErrorIs(t, err, assert.AnError)
				assert.Equal(t, []string{"kept", "reserved"}, keys(), "the reservation stands")
			}

			require.NoError(t, txm.WithinTx(ctx, func(ctx context.Context) error { return th.Reset(ctx, "kept") }))
			assert.NotContains(t, keys(), "kept")
		})
	}
}

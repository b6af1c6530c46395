package sqlstore_test

import (
	"context"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/adapters/sqlstore"
	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/migrations"
	"github.com/ums-project/ums/ports"
	"github.com/ums-project/ums/ports/porttest"
)

// TestWebhookPendingReplaysMigration: pending duplicates that replays made
// before the unique index are closed, the oldest kept, so the index can be
// built on a live database; then the index refuses a second pending one.
func TestWebhookPendingReplaysMigration(t *testing.T) {
	ctx := context.Background()
	base := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	const name = "20261127000016_webhook_pending_replays.tx"
	for dialect, url := range stores() {
		t.Run(dialect, func(t *testing.T) {
			db := openMigrated(t, url(t))
			files := migrations.SQLite()
			if db.Dialect == sqlstore.Postgres {
				files = migrations.Postgres()
			}
			run := func(file string) {
				b, err := fs.ReadFile(files, file)
				require.NoError(t, err)
				for _, stmt := range strings.Split(string(b), "--bun:split") {
					_, err := db.ExecContext(ctx, stmt)
					require.NoError(t, err, stmt)
				}
			}
			run(name + ".down.sql")

			s := webhookStore(t, db, newOutboxTestBox(t))
			e := porttest.NewTestEndpoint(t, s, nil, "s", base)
			other := porttest.NewTestEndpoint(t, s, nil, "s", base)
			m := ports.WebhookMessage{ID: uuid.New(), EventType: domain.WebhookUserCreated, Payload: []byte(`{}`), CreatedAt: base}
			require.NoError(t, s.Outbox.Enqueue(ctx, m))
			var ds []domain.WebhookDelivery
			for i, ep := range []uuid.UUID{e.ID, e.ID, e.ID, other.ID} {
				at := base.Add(time.Duration(i) * time.Second)
				ds = append(ds, domain.WebhookDelivery{ID: uuid.New(), EndpointID: ep, MessageID: m.ID,
					EventType: m.EventType, Status: domain.DeliveryPending, NextAttemptAt: &at, CreatedAt: at})
			}
			require.NoError(t, s.Outbox.AddDeliveries(ctx, ds), "no index yet: duplicates get in")

			run(name + ".up.sql")
			status := func(d domain.WebhookDelivery) domain.WebhookDelivery {
				got, err := s.Outbox.Delivery(ctx, d.EndpointID, d.ID)
				require.NoError(t, err)
				return got
			}
			assert.Equal(t, domain.DeliveryPending, status(ds[0]).Status, "the oldest still sends the message")
			for _, d := range ds[1:3] {
				got := status(d)
				assert.Equal(t, domain.DeliveryFailed, got.Status)
				assert.Contains(t, got.LastError, "superseded")
				require.NotNil(t, got.FinishedAt)
				assert.Equal(t, d.CreatedAt, *got.FinishedAt)
			}
			assert.Equal(t, domain.DeliveryPending, status(ds[3]).Status, "another endpoint's")

			again := ds[0]
			again.ID = uuid.New()
			assert.ErrorIs(t, s.Outbox.AddDeliveries(ctx, []domain.WebhookDelivery{again}), domain.ErrReplayPending)
		})
	}
}

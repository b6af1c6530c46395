package sqlstore_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/adapters/sqlstore"
	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
	"github.com/ums-project/ums/ports/porttest"
)

func webhookStore(t *testing.T, db *sqlstore.DB, box ports.SecretBox) porttest.WebhookStore {
	t.Helper()
	return porttest.WebhookStore{
		Endpoints: sqlstore.NewWebhookEndpointRepository(db, box),
		Outbox:    sqlstore.NewWebhookOutbox(db, box),
		Orgs:      sqlstore.NewOrgRepository(db),
		Tx:        sqlstore.NewTxManager(db),
	}
}

func TestWebhookStoresContract(t *testing.T) {
	for name, url := range stores() {
		t.Run(name, func(t *testing.T) {
			porttest.RunWebhooks(t, func(t *testing.T) porttest.WebhookStore {
				return webhookStore(t, openMigrated(t, url(t)), newOutboxTestBox(t))
			})
		})
	}
}

// TestWebhookSecretsAtRest: the signing secrets are stored sealed, bound
// to their endpoint, and a sealed secret copied into another endpoint's
// row does not sign for it.
func TestWebhookSecretsAtRest(t *testing.T) {
	ctx := context.Background()
	base := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	for name, url := range stores() {
		t.Run(name, func(t *testing.T) {
			db := openMigrated(t, url(t))
			s := webhookStore(t, db, newOutboxTestBox(t))
			const secret = "whsec_dGhpcyBpcyB0aGUgc2VjcmV0IG9mIGEgd2ViaG9vaw=="
			a := porttest.NewTestEndpoint(t, s, nil, secret, base)
			b := porttest.NewTestEndpoint(t, s, nil, "whsec_b3RoZXI=", base)

			var stored []string
			require.NoError(t, db.NewRaw("SELECT secret FROM webhook_endpoints").Scan(ctx, &stored))
			require.Len(t, stored, 2)
			for _, v := range stored {
				assert.NotContains(t, v, "dGhpcyBpcyB0aGUg")
				assert.NotContains(t, v, "whsec_")
			}

			_, err := db.NewRaw("UPDATE webhook_endpoints SET secret = (SELECT secret FROM webhook_endpoints WHERE id = ?) WHERE id = ?",
				a.ID, b.ID).Exec(ctx)
			require.NoError(t, err)
			m := ports.WebhookMessage{ID: uuid.New(), EventType: domain.WebhookUserCreated, Payload: []byte(`{}`), CreatedAt: base}
			require.NoError(t, s.Outbox.Enqueue(ctx, m))
			d := domain.WebhookDelivery{ID: uuid.New(), EndpointID: b.ID, MessageID: m.ID, EventType: m.EventType,
				Status: domain.DeliveryPending, NextAttemptAt: &base, CreatedAt: base}
			require.NoError(t, s.Outbox.AddDeliveries(ctx, []domain.WebhookDelivery{d}))
			got, err := s.Outbox.ClaimDeliveries(ctx, base, time.Minute, 10)
			require.NoError(t, err)
			assert.Empty(t, got, "a moved secret does not open")
			failed, err := s.Outbox.Delivery(ctx, b.ID, d.ID)
			require.NoError(t, err)
			assert.Equal(t, domain.DeliveryFailed, failed.Status)
			assert.True(t, strings.Contains(failed.LastError, "secret"), failed.LastError)
			assert.NotContains(t, failed.LastError, secret)
		})
	}
}

// TestWebhookMigrationRollsBackAndReapplies: the migration's down undoes
// its up (rolled back with the rest of its group).
func TestWebhookMigrationRollsBackAndReapplies(t *testing.T) {
	ctx := context.Background()
	for name, url := range stores() {
		t.Run(name, func(t *testing.T) {
			db := openMigrated(t, url(t))
			m, err := sqlstore.NewMigrator(db)
			require.NoError(t, err)
			rolledBack, err := m.Down(ctx)
			require.NoError(t, err)
			require.Contains(t, rolledBack, "20261127000014_webhooks")
			_, err = db.NewRaw("SELECT count(*) FROM webhook_endpoints").Exec(ctx)
			require.Error(t, err, "the tables are gone")
			_, err = m.Up(ctx)
			require.NoError(t, err)
			s := webhookStore(t, db, newOutboxTestBox(t))
			porttest.NewTestEndpoint(t, s, nil, "whsec_eA==", time.Now().UTC())
		})
	}
}

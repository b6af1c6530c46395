package sqlstore_test

import (
	"testing"

	"github.com/ums-project/ums/adapters/sqlstore"
	"github.com/ums-project/ums/ports/porttest"
)

func TestLegacyIDsContract(t *testing.T) {
	for name, url := range stores() {
		t.Run(name, func(t *testing.T) {
			porttest.RunLegacyIDs(t, func(t *testing.T) porttest.LegacyIDStore {
				db := openMigrated(t, url(t))
				return porttest.LegacyIDStore{IDs: sqlstore.NewLegacyIDs(db), Ledger: sqlstore.NewImportLedger(db)}
			})
		})
	}
}

func TestLegacySessionLinksContract(t *testing.T) {
	for name, url := range stores() {
		t.Run(name, func(t *testing.T) {
			porttest.RunLegacySessionLinks(t, func(t *testing.T) porttest.LegacySessionLinkStore {
				db := openMigrated(t, url(t))
				return porttest.LegacySessionLinkStore{
					Links:    sqlstore.NewLegacySessionLinks(db),
					Sessions: sqlstore.NewSessionRepository(db),
					Users:    sqlstore.NewUserRepository(db),
				}
			})
		})
	}
}

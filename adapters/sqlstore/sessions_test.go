package sqlstore_test

import (
	"testing"

	"github.com/ums-project/ums/adapters/sqlstore"
	"github.com/ums-project/ums/ports/porttest"
)

func TestSessionRepositoryContract(t *testing.T) {
	for name, url := range stores() {
		t.Run(name, func(t *testing.T) {
			porttest.RunSessionRepository(t, func(t *testing.T) porttest.SessionStore {
				db := openMigrated(t, url(t))
				return porttest.SessionStore{
					Sessions: sqlstore.NewSessionRepository(db),
					Users:    sqlstore.NewUserRepository(db),
					Tx:       sqlstore.NewTxManager(db),
				}
			})
		})
	}
}

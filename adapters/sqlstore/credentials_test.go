package sqlstore_test

import (
	"testing"

	"github.com/ums-project/ums/adapters/sqlstore"
	"github.com/ums-project/ums/ports/porttest"
)

func TestCredentialStoresContract(t *testing.T) {
	for name, url := range stores() {
		t.Run(name, func(t *testing.T) {
			porttest.RunCredentialStores(t, func(t *testing.T) porttest.CredentialStore {
				db := openMigrated(t, url(t))
				return porttest.CredentialStore{
					Users:   sqlstore.NewUserRepository(db),
					Tx:      sqlstore.NewTxManager(db),
					Tokens:  sqlstore.NewOneTimeTokenRepository(db),
					History: sqlstore.NewPasswordHistory(db),
					Codes:   sqlstore.NewRecoveryCodes(db),
				}
			})
		})
	}
}

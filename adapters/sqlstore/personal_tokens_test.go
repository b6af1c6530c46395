package sqlstore_test

import (
	"testing"

	"github.com/ums-project/ums/adapters/sqlstore"
	"github.com/ums-project/ums/ports/porttest"
)

func TestPersonalTokenRepositoryContract(t *testing.T) {
	for name, url := range stores() {
		t.Run(name, func(t *testing.T) {
			porttest.RunPersonalTokens(t, func(t *testing.T) porttest.PersonalTokenStore {
				db := openMigrated(t, url(t))
				return porttest.PersonalTokenStore{Tokens: sqlstore.NewPersonalTokenRepository(db),
					Users: sqlstore.NewUserRepository(db), Orgs: sqlstore.NewOrgRepository(db), Tx: sqlstore.NewTxManager(db)}
			})
		})
	}
}

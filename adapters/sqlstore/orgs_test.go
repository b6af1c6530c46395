package sqlstore_test

import (
	"testing"

	"github.com/ums-project/ums/adapters/sqlstore"
	"github.com/ums-project/ums/ports/porttest"
)

func TestOrgStoresContract(t *testing.T) {
	for name, url := range stores() {
		t.Run(name, func(t *testing.T) {
			porttest.RunOrgStores(t, func(t *testing.T) porttest.OrgStore {
				db := openMigrated(t, url(t))
				access := sqlstore.NewAccessQuery(db)
				return porttest.OrgStore{
					Users:   sqlstore.NewUserRepository(db),
					Tx:      sqlstore.NewTxManager(db),
					Orgs:    sqlstore.NewOrgRepository(db),
					Members: sqlstore.NewMembershipRepository(db),
					Perms:   sqlstore.NewPermissionRepository(db),
					Access:  access,
					Stamps:  access,
				}
			})
		})
	}
}

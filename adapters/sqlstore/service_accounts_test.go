package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/adapters/sqlstore"
	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports/porttest"
)

func serviceAccountStore(db *sqlstore.DB) porttest.ServiceAccountStore {
	return porttest.ServiceAccountStore{
		Accounts: sqlstore.NewServiceAccountRepository(db),
		Keys:     sqlstore.NewServiceAccountKeyRepository(db),
		Ledger:   sqlstore.NewAssertionLedger(db),
		Users:    sqlstore.NewUserRepository(db),
		Orgs:     sqlstore.NewOrgRepository(db),
		Members:  sqlstore.NewMembershipRepository(db),
		Clients:  sqlstore.NewOAuthClientRepository(db),
		Sessions: sqlstore.NewSessionRepository(db),
		Tx:       sqlstore.NewTxManager(db),
	}
}

func TestServiceAccountStoresContract(t *testing.T) {
	for name, url := range stores() {
		t.Run(name, func(t *testing.T) {
			porttest.RunServiceAccounts(t, func(t *testing.T) porttest.ServiceAccountStore {
				return serviceAccountStore(openMigrated(t, url(t)))
			})
		})
	}
}

// TestServiceAccountMigrationRollsBackAndReapplies rolls the schema back
// and up again: the service accounts migration's down undoes its up, and
// takes the accounts with it rather than leave them passing for people.
func TestServiceAccountMigrationRollsBackAndReapplies(t *testing.T) {
	ctx := context.Background()
	for name, url := range stores() {
		t.Run(name, func(t *testing.T) {
			db := openMigrated(t, url(t))
			m, err := sqlstore.NewMigrator(db)
			require.NoError(t, err)
			s := serviceAccountStore(db)
			org := porttest.NewOrg("before", time.Now().UTC())
			require.NoError(t, s.Orgs.Create(ctx, org))
			porttest.NewTestServiceAccount(t, s, org.ID, "before", domain.RoleMember, time.Now().UTC())
			_, err = m.Down(ctx)
			require.NoError(t, err)
			for _, table := range []string{"service_accounts", "service_account_keys", "client_assertions"} {
				_, err = db.NewSelect().TableExpr(table).ColumnExpr("count(*)").Exec(ctx)
				require.Error(t, err, "%s is gone", table)
			}
			_, err = m.Up(ctx)
			require.NoError(t, err)
			org = porttest.NewOrg("again", time.Now().UTC())
			require.NoError(t, s.Orgs.Create(ctx, org))
			porttest.NewTestServiceAccount(t, s, org.ID, "again", domain.RoleMember, time.Now().UTC())
		})
	}
}

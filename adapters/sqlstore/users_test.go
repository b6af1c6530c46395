package sqlstore_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/adapters/sqlstore"
	"github.com/ums-project/ums/ports/porttest"
	"github.com/ums-project/ums/test/dbtest"
)

// openMigrated opens a fresh, fully migrated database of the URL's dialect.
func openMigrated(t *testing.T, url string) *sqlstore.DB {
	t.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, url, sqlstore.PoolConfig{MaxOpenConns: 10, PingOnOpen: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	m, err := sqlstore.NewMigrator(db)
	require.NoError(t, err)
	_, err = m.Up(ctx)
	require.NoError(t, err)
	return db
}

func stores() map[string]func(t *testing.T) string {
	return map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return dbtest.SQLiteURL(t) },
		"postgres": func(t *testing.T) string { return dbtest.PostgresURL(t) },
	}
}

func TestUserRepositoryContract(t *testing.T) {
	for name, url := range stores() {
		t.Run(name, func(t *testing.T) {
			porttest.UserRepository(t, func(t *testing.T) porttest.UserStore {
				db := openMigrated(t, url(t))
				return porttest.UserStore{Users: sqlstore.NewUserRepository(db), Tx: sqlstore.NewTxManager(db)}
			})
		})
	}
}

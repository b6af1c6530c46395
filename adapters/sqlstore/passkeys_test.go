package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/adapters/sqlstore"
	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports/porttest"
)

func passkeyStore(db *sqlstore.DB) porttest.PasskeyStore {
	return porttest.PasskeyStore{
		Passkeys:     sqlstore.NewPasskeyRepository(db),
		Ceremonies:   sqlstore.NewCeremonyStore(db),
		Users:        sqlstore.NewUserRepository(db),
		PersonalData: sqlstore.NewPersonalData(db),
		Tx:           sqlstore.NewTxManager(db),
	}
}

func TestPasskeyStoresContract(t *testing.T) {
	for name, url := range stores() {
		t.Run(name, func(t *testing.T) {
			porttest.RunPasskeyStores(t, func(t *testing.T) porttest.PasskeyStore {
				return passkeyStore(openMigrated(t, url(t)))
			})
		})
	}
}

// TestPasskeysGoWithTheirUser deletes a user row directly, the way any
// erasure ends, and expects the foreign key to take the passkeys with it.
func TestPasskeysGoWithTheirUser(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2030, 7, 8, 9, 10, 11, 0, time.UTC)
	for name, url := range stores() {
		t.Run(name, func(t *testing.T) {
			db := openMigrated(t, url(t))
			s := passkeyStore(db)
			u := porttest.NewUser("passkeygone")
			require.NoError(t, s.Users.Create(ctx, u))
			p := porttest.NewTestPasskey(u.ID(), at)
			require.NoError(t, s.Passkeys.Create(ctx, p))

			_, err := db.NewDelete().TableExpr("users").Where("id = ?", u.ID()).Exec(ctx)
			require.NoError(t, err)

			_, err = s.Passkeys.ByCredentialID(ctx, p.CredentialID)
			assert.ErrorIs(t, err, domain.ErrPasskeyNotFound)
			assert.ErrorIs(t, s.Passkeys.RecordUse(ctx, p.ID, domain.PasskeyUse{From: p.SignCount, To: p.SignCount + 1, At: at}),
				domain.ErrPasskeyNotFound)
		})
	}
}

// TestPasskeyMigrationRollsBackAndReapplies rolls the schema back and up
// again: the passkeys migration's down undoes its up.
func TestPasskeyMigrationRollsBackAndReapplies(t *testing.T) {
	ctx := context.Background()
	for name, url := range stores() {
		t.Run(name, func(t *testing.T) {
			db := openMigrated(t, url(t))
			m, err := sqlstore.NewMigrator(db)
			require.NoError(t, err)
			_, err = m.Down(ctx)
			require.NoError(t, err)
			for _, table := range []string{"passkeys", "webauthn_ceremonies"} {
				_, err = db.NewSelect().TableExpr(table).ColumnExpr("count(*)").Exec(ctx)
				require.Error(t, err, "%s is gone", table)
			}
			_, err = m.Up(ctx)
			require.NoError(t, err)
			s := passkeyStore(db)
			u := porttest.NewUser("passkeyagain")
			require.NoError(t, s.Users.Create(ctx, u))
			require.NoError(t, s.Passkeys.Create(ctx, porttest.NewTestPasskey(u.ID(), time.Now())))
			require.NoError(t, s.Ceremonies.Put(ctx, uuid.NewString(), []byte("session"), time.Now().Add(time.Minute)))
		})
	}
}

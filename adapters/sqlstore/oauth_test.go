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

func oauthStore(db *sqlstore.DB) porttest.OAuthStore {
	return porttest.OAuthStore{
		Clients:  sqlstore.NewOAuthClientRepository(db),
		Requests: sqlstore.NewAuthRequestRepository(db),
		Grants:   sqlstore.NewOAuthGrantRepository(db),
		Consents: sqlstore.NewConsentRepository(db),
		Users:    sqlstore.NewUserRepository(db),
		Sessions: sqlstore.NewSessionRepository(db),
		Tx:       sqlstore.NewTxManager(db),
	}
}

func TestOAuthStoresContract(t *testing.T) {
	for name, url := range stores() {
		t.Run(name, func(t *testing.T) {
			porttest.RunOAuthStores(t, func(t *testing.T) porttest.OAuthStore {
				return oauthStore(openMigrated(t, url(t)))
			})
		})
	}
}

// TestOAuthRowsGoWithTheirUser deletes a user row the way erasure does
// and expects the foreign keys to take the user's requests, consents and
// (through the sessions) grants with it.
func TestOAuthRowsGoWithTheirUser(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
	for name, url := range stores() {
		t.Run(name, func(t *testing.T) {
			db := openMigrated(t, url(t))
			s := oauthStore(db)
			u := porttest.NewUser("oauthgone")
			require.NoError(t, s.Users.Create(ctx, u))
			c := porttest.NewOAuthTestClient("app", at)
			require.NoError(t, s.Clients.Create(ctx, c))
			req := domain.AuthRequest{ID: uuid.New(), ClientID: c.ID, RedirectURI: c.RedirectURIs[0],
				Scopes: []string{"openid"}, ResponseType: "code", CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
			require.NoError(t, s.Requests.Create(ctx, req))
			require.NoError(t, s.Requests.Complete(ctx, req.ID, u.ID(), at, []string{"pwd"}))
			require.NoError(t, s.Consents.Grant(ctx, domain.Consent{UserID: u.ID(), ClientID: c.ID, Scopes: []string{"openid"}, GrantedAt: at}))
			sess := domain.Session{ID: uuid.New(), UserID: u.ID(), CreatedAt: at, LastUsedAt: at, ExpiresAt: at.Add(time.Hour)}
			tok := domain.RefreshToken{ID: uuid.New(), SessionID: sess.ID, Hash: []byte("oauth-gone-token-hash"), CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
			require.NoError(t, s.Sessions.Create(ctx, sess, tok))
			require.NoError(t, s.Grants.Create(ctx, domain.OAuthGrant{SessionID: sess.ID, ClientID: c.ID, AuthTime: at}))

			_, err := db.NewDelete().TableExpr("users").Where("id = ?", u.ID()).Exec(ctx)
			require.NoError(t, err)

			_, err = s.Requests.ByID(ctx, req.ID, at)
			assert.ErrorIs(t, err, domain.ErrAuthRequestNotFound)
			_, err = s.Consents.Get(ctx, u.ID(), c.ID)
			assert.ErrorIs(t, err, domain.ErrConsentNotFound)
			_, err = s.Grants.BySession(ctx, sess.ID)
			assert.ErrorIs(t, err, domain.ErrSessionNotFound)
			_, err = s.Clients.ByID(ctx, c.ID)
			assert.NoError(t, err, "the client stays")
		})
	}
}

// TestOAuthMigrationRollsBackAndReapplies rolls the schema back and up
// again: the OAuth migration's down undoes its up.
func TestOAuthMigrationRollsBackAndReapplies(t *testing.T) {
	ctx := context.Background()
	for name, url := range stores() {
		t.Run(name, func(t *testing.T) {
			db := openMigrated(t, url(t))
			m, err := sqlstore.NewMigrator(db)
			require.NoError(t, err)
			_, err = m.Down(ctx)
			require.NoError(t, err)
			_, err = db.NewSelect().TableExpr("oauth_clients").ColumnExpr("count(*)").Exec(ctx)
			require.Error(t, err, "the oauth tables are gone")
			_, err = m.Up(ctx)
			require.NoError(t, err)
			require.NoError(t, sqlstore.NewOAuthClientRepository(db).Create(ctx, porttest.NewOAuthTestClient("again", time.Now())))
		})
	}
}

package sqlstore_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/adapters/sqlstore"
	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// closedPostgresURL is a postgres:// URL of a loopback port nothing listens
// on: every connection attempt is refused.
func closedPostgresURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return "postgres://ums:secret@" + addr + "/ums?sslmode=disable&connect_timeout=2"
}

// hangUpPostgresURL is a postgres:// URL of a loopback server that accepts
// each connection and closes it at once, as a database that is restarting
// or a proxy that lost its backend does.
func hangUpPostgresURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			_ = c.Close()
		}
	}()
	return "postgres://ums:secret@" + l.Addr().String() + "/ums?sslmode=disable&connect_timeout=2"
}

func openUnreachable(t *testing.T, url string) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), url, sqlstore.PoolConfig{PingOnOpen: false})
	require.NoError(t, err, "without PingOnOpen, Open does not connect")
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func requireUnavailable(t *testing.T, err error, what string) {
	t.Helper()
	require.Error(t, err, what)
	assert.Equal(t, domain.KindUnavailable, domain.KindOf(err), "%s: %v", what, err)
	assert.ErrorIs(t, err, sqlstore.ErrDatabaseDown, what)
	assert.NotContains(t, err.Error(), "secret", what)
}

// A database that cannot be reached is the domain's "unavailable" whatever
// the repository: driving adapters need not know database/sql or pgx.
func TestUnreachableDatabaseIsUnavailable(t *testing.T) {
	for name, url := range map[string]func(*testing.T) string{
		"refused": closedPostgresURL,
		"hang_up": hangUpPostgresURL,
	} {
		t.Run(name, func(t *testing.T) {
			db := openUnreachable(t, url(t))
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			now := time.Now()
			id := uuid.New()

			_, err := sqlstore.NewUserRepository(db).ByID(ctx, id)
			requireUnavailable(t, err, "users ByID")
			assert.NotErrorIs(t, err, domain.ErrUserNotFound)

			_, err = sqlstore.NewSessionRepository(db).ByID(ctx, id)
			requireUnavailable(t, err, "sessions ByID")

			_, err = sqlstore.NewOrgRepository(db).ByID(ctx, id)
			requireUnavailable(t, err, "orgs ByID")

			called := false
			err = sqlstore.NewTxManager(db).WithinTx(ctx, func(context.Context) error {
				called = true
				return nil
			})
			requireUnavailable(t, err, "WithinTx")
			assert.False(t, called, "fn runs only in a transaction that began")

			err = sqlstore.NewAuditLog(db).Record(ctx, domain.AuditEvent{
				ID: id, OccurredAt: now, Action: "test.unavailable", Outcome: domain.Outcome("success"),
			})
			requireUnavailable(t, err, "audit Record")

			th := sqlstore.NewLoginThrottle(db, ports.ThrottlePolicy{MaxFailures: 5, Window: time.Minute, Lockout: time.Minute})
			_, _, err = th.Reserve(ctx, "login:someone@example.com", now)
			requireUnavailable(t, err, "login throttle Reserve")

			requireUnavailable(t, sqlstore.NewHealthCheck(db).Check(ctx), "health Check")
		})
	}
}

// Open with PingOnOpen reports an unreachable database as unavailable too,
// without the password of the URL.
func TestOpenWithPingReportsUnavailable(t *testing.T) {
	_, err := sqlstore.Open(context.Background(), closedPostgresURL(t), sqlstore.PoolConfig{PingOnOpen: true})
	requireUnavailable(t, err, "Open")
}

// Domain errors pass the adapter untouched: a missing user is not found,
// not unavailable.
func TestDomainErrorsStayDomainErrors(t *testing.T) {
	for name, url := range stores() {
		t.Run(name, func(t *testing.T) {
			db := openMigrated(t, url(t))
			ctx := context.Background()

			_, err := sqlstore.NewUserRepository(db).ByID(ctx, uuid.New())
			require.ErrorIs(t, err, domain.ErrUserNotFound)
			assert.Equal(t, domain.KindNotFound, domain.KindOf(err))
			assert.NotErrorIs(t, err, sqlstore.ErrDatabaseDown)

			_, err = sqlstore.NewOrgRepository(db).ByID(ctx, uuid.New())
			require.ErrorIs(t, err, domain.ErrOrgNotFound)
			assert.NotErrorIs(t, err, sqlstore.ErrDatabaseDown)
		})
	}
}

// WithinTx hands back fn's error as fn returned it, and rolls back.
func TestWithinTxReturnsTheErrorOfFnUnchanged(t *testing.T) {
	for name, url := range stores() {
		t.Run(name, func(t *testing.T) {
			db := openMigrated(t, url(t))
			ctx := context.Background()
			users := sqlstore.NewUserRepository(db)

			err := sqlstore.NewTxManager(db).WithinTx(ctx, func(ctx context.Context) error {
				_, err := users.ByID(ctx, uuid.New())
				return err
			})
			assert.Same(t, domain.ErrUserNotFound, err, "the sentinel itself, not a wrapper: %v", err)

			custom := errors.New("use case refused")
			err = sqlstore.NewTxManager(db).WithinTx(ctx, func(context.Context) error { return custom })
			assert.Same(t, custom, err)
			assert.Equal(t, domain.KindInternal, domain.KindOf(err))
		})
	}
}

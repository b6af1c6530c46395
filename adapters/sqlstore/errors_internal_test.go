package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/test/dbtest"
)

func TestDBErrorKeepsNilNil(t *testing.T) {
	assert.NoError(t, dbError("select user", nil))
	assert.NoError(t, dbErrorSanitized("connect", nil))
}

// An error that says nothing about the connection stays internal, with
// its cause and the operation in the message.
func TestDBErrorOfOtherErrorsIsInternal(t *testing.T) {
	cause := errors.New("column \"nope\" does not exist")
	err := dbError("select user", cause)
	require.Error(t, err)
	assert.Equal(t, domain.KindInternal, domain.KindOf(err))
	assert.ErrorIs(t, err, cause)
	assert.NotErrorIs(t, err, ErrDatabaseDown)
	assert.Equal(t, "select user: column \"nope\" does not exist", err.Error())
}

// A real driver error of a bad statement is internal on both engines, and
// the driver's typed error is still reachable with errors.As.
func TestDBErrorOfDriverErrorIsInternal(t *testing.T) {
	for name, url := range map[string]func(testing.TB) string{
		"sqlite": dbtest.SQLiteURL, "postgres": dbtest.PostgresURL,
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			db, err := Open(ctx, url(t), PoolConfig{PingOnOpen: true})
			require.NoError(t, err)
			t.Cleanup(func() { _ = db.Close() })
			var n int
			raw := db.NewRaw("SELECT nope FROM no_such_table").Scan(ctx, &n)
			require.Error(t, raw)
			err = dbError("select nope", raw)
			assert.Equal(t, domain.KindInternal, domain.KindOf(err), "%v", err)
			assert.ErrorIs(t, err, raw)
			assert.NotErrorIs(t, err, ErrDatabaseDown)
		})
	}
}

func TestDBErrorOfConnectionErrorsIsUnavailable(t *testing.T) {
	for name, cause := range map[string]error{
		"refused": &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED},
		"reset":   fmt.Errorf("read: %w", syscall.ECONNRESET),
		"timeout": context.DeadlineExceeded,
	} {
		err := dbError("select user", cause)
		assert.Equal(t, domain.KindUnavailable, domain.KindOf(err), name)
		assert.ErrorIs(t, err, ErrDatabaseDown, name)
		assert.ErrorIs(t, err, cause, name)
	}
}

// The sanitized variant judges the cause before the message loses its
// connection string, and keeps the password out.
func TestDBErrorSanitizedJudgesBeforeSanitizing(t *testing.T) {
	cause := fmt.Errorf("connect to postgres://u:pw-secret@db/x: %w",
		&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED})
	err := dbErrorSanitized("connect", cause)
	assert.Equal(t, domain.KindUnavailable, domain.KindOf(err))
	assert.NotContains(t, err.Error(), "pw-secret")

	err = dbErrorSanitized("connect", errors.New("bad postgres://u:pw-secret@db/x"))
	assert.Equal(t, domain.KindInternal, domain.KindOf(err))
	assert.NotContains(t, err.Error(), "pw-secret")
}

// A deadlock or serialization failure is the concurrent-change conflict a
// client may retry, not an internal error.
func TestDBErrorOfATransactionConflictIsConcurrentChange(t *testing.T) {
	for _, code := range []string{"40P01", "40001"} {
		err := dbError("bump access stamp", &pgconn.PgError{Code: code, Message: "deadlock detected"})
		assert.ErrorIs(t, err, domain.ErrConcurrentChange, code)
		assert.Equal(t, domain.KindConflict, domain.KindOf(err), code)
	}
}

package sqlstore

import (
	"context"
	"database/sql"

	"github.com/uptrace/bun"

	"github.com/ums-project/ums/ports"
)

type txKey struct{}

// TxManager runs use-case transactions; repositories pick the transaction up
// from the context.
type TxManager struct{ db *DB }

var _ ports.TxManager = (*TxManager)(nil)

// NewTxManager returns a TxManager on db.
func NewTxManager(db *DB) *TxManager { return &TxManager{db: db} }

// WithinTx implements ports.TxManager. A nested call joins the outer
// transaction. fn's error comes back as fn returned it; only failures to
// begin or commit the transaction are the store's own, and go through
// dbError.
func (m *TxManager) WithinTx(ctx context.Context, fn func(ctx context.Context) error) error {
	if _, ok := ctx.Value(txKey{}).(bun.Tx); ok {
		return fn(ctx)
	}
	var fnErr error
	err := m.db.RunInTx(ctx, &sql.TxOptions{}, func(ctx context.Context, tx bun.Tx) error {
		fnErr = fn(context.WithValue(ctx, txKey{}, tx))
		return fnErr
	})
	if fnErr != nil {
		return fnErr
	}
	return dbError("transaction", err)
}

// withoutTx hides the transaction in ctx from conn and query: for writes
// that must commit on their own.
func withoutTx(ctx context.Context) context.Context { return context.WithValue(ctx, txKey{}, nil) }

// conn returns the transaction in ctx, or the pool.
func conn(ctx context.Context, db *DB) bun.IDB {
	if tx, ok := ctx.Value(txKey{}).(bun.Tx); ok {
		return tx
	}
	return db.DB
}

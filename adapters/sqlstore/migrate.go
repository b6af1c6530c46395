package sqlstore

import (
	"context"
	"fmt"

	"github.com/uptrace/bun/migrate"

	"github.com/ums-project/ums/migrations"
)

// MigrationStatus is one migration and whether it is applied.
type MigrationStatus struct {
	Name    string
	Applied bool
}

// Migrator applies the embedded migrations of the database's dialect.
type Migrator struct{ m *migrate.Migrator }

// NewMigrator loads the migrations for db's dialect.
func NewMigrator(db *DB) (*Migrator, error) {
	fsys := migrations.SQLite()
	if db.Dialect == Postgres {
		fsys = migrations.Postgres()
	}
	ms := migrate.NewMigrations()
	if err := ms.Discover(fsys); err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	m := migrate.NewMigrator(db.DB, ms,
		migrate.WithTableName("schema_migrations"),
		migrate.WithLocksTableName("schema_migration_locks"),
		migrate.WithMarkAppliedOnSuccess(true))
	return &Migrator{m: m}, nil
}

// Up applies every pending migration and returns their names. Concurrent
// callers (several instances starting at once) are serialised by a lock row.
func (m *Migrator) Up(ctx context.Context) ([]string, error) {
	if err := m.m.Init(ctx); err != nil {
		return nil, dbError("init migrations", err)
	}
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.unlock()
	g, err := m.m.Migrate(ctx)
	if err != nil {
		return nil, dbError("migrate up", err)
	}
	return names(g), nil
}

// Down rolls back the last applied group of migrations.
func (m *Migrator) Down(ctx context.Context) ([]string, error) {
	if err := m.m.Init(ctx); err != nil {
		return nil, dbError("init migrations", err)
	}
	if err := m.lock(ctx); err != nil {
		return nil, err
	}
	defer m.unlock()
	g, err := m.m.Rollback(ctx)
	if err != nil {
		return nil, dbError("migrate down", err)
	}
	return names(g), nil
}

// Status lists every migration in order with its state.
func (m *Migrator) Status(ctx context.Context) ([]MigrationStatus, error) {
	if err := m.m.Init(ctx); err != nil {
		return nil, dbError("init migrations", err)
	}
	ms, err := m.m.MigrationsWithStatus(ctx)
	if err != nil {
		return nil, dbError("migration status", err)
	}
	out := make([]MigrationStatus, len(ms))
	for i, mg := range ms {
		out[i] = MigrationStatus{Name: mg.Name + "_" + mg.Comment, Applied: mg.IsApplied()}
	}
	return out, nil
}

// Pending counts migrations not yet applied.
func (m *Migrator) Pending(ctx context.Context) (int, error) {
	st, err := m.Status(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range st {
		if !s.Applied {
			n++
		}
	}
	return n, nil
}

func (m *Migrator) lock(ctx context.Context) error {
	if err := m.m.Lock(ctx); err != nil {
		if databaseDown(err) {
			return dbError("lock migrations", err)
		}
		return fmt.Errorf("another process is migrating (lock held): %w", err)
	}
	return nil
}

func (m *Migrator) unlock() { _ = m.m.Unlock(context.Background()) }

func names(g *migrate.MigrationGroup) []string {
	if g == nil {
		return nil
	}
	out := make([]string, len(g.Migrations))
	for i, mg := range g.Migrations {
		out[i] = mg.Name + "_" + mg.Comment
	}
	return out
}

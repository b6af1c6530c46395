package bootstrap

import (
	"context"
	"fmt"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/ums-project/ums/adapters/sqlstore"
	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/domain"
)

// MigrationState is one migration and whether it is applied.
type MigrationState = sqlstore.MigrationStatus

func withMigrator(ctx context.Context, c Config, fn func(*sqlstore.Migrator) error) error {
	db, err := sqlstore.Open(ctx, c.DatabaseURL, sqlstore.PoolConfig{MaxOpenConns: 2, PingOnOpen: true})
	if err != nil {
		return err
	}
	defer db.Close()
	m, err := sqlstore.NewMigrator(db)
	if err != nil {
		return err
	}
	return fn(m)
}

// MigrateUp applies pending migrations and returns their names.
func MigrateUp(ctx context.Context, c Config) (applied []string, err error) {
	err = withMigrator(ctx, c, func(m *sqlstore.Migrator) error { applied, err = m.Up(ctx); return err })
	return applied, err
}

// MigrateDown rolls back the last group of migrations.
func MigrateDown(ctx context.Context, c Config) (rolledBack []string, err error) {
	err = withMigrator(ctx, c, func(m *sqlstore.Migrator) error { rolledBack, err = m.Down(ctx); return err })
	return rolledBack, err
}

// MigrationStatus lists the migrations and their state.
func MigrationStatus(ctx context.Context, c Config) (st []MigrationState, err error) {
	err = withMigrator(ctx, c, func(m *sqlstore.Migrator) error { st, err = m.Status(ctx); return err })
	return st, err
}

// CreateAdmin creates a system administrator. Outside production pending
// migrations are applied first, as serve does.
func CreateAdmin(ctx context.Context, c Config, log *zap.Logger, in application.RegisterInput) (*domain.User, error) {
	var reg *application.Registration
	app := NewApp(c, log, MigrationPolicy{Apply: !c.IsProduction()}, fx.Populate(&reg))
	if err := app.Err(); err != nil {
		return nil, err
	}
	if err := app.Start(ctx); err != nil {
		return nil, err
	}
	defer func() { _ = app.Stop(context.Background()) }()
	u, err := reg.CreateAdmin(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("create admin: %w", err)
	}
	return u, nil
}

// RotateKeys makes a new active signing key; the previous one stays in the
// JWKS until its tokens have expired.
func RotateKeys(ctx context.Context, c Config, log *zap.Logger) (domain.SigningKey, error) {
	key, _, err := rotateKeys(ctx, c, log, false)
	return key, err
}

// RotateAllKeys rotates the API's Ed25519 key and the OpenID Connect
// provider's RSA key together (`ums keys rotate`).
func RotateAllKeys(ctx context.Context, c Config, log *zap.Logger) (domain.SigningKey, domain.RSASigningKey, error) {
	return rotateKeys(ctx, c, log, true)
}

func rotateKeys(ctx context.Context, c Config, log *zap.Logger, withRSA bool) (domain.SigningKey, domain.RSASigningKey, error) {
	var (
		keys *application.Keys
		rsa  *application.OIDCKeys
	)
	app := NewApp(c, log, MigrationPolicy{Apply: !c.IsProduction()}, fx.Populate(&keys, &rsa))
	if err := app.Err(); err != nil {
		return domain.SigningKey{}, domain.RSASigningKey{}, err
	}
	if err := app.Start(ctx); err != nil {
		return domain.SigningKey{}, domain.RSASigningKey{}, err
	}
	defer func() { _ = app.Stop(context.Background()) }()
	ed, err := keys.Rotate(ctx)
	if err != nil || !withRSA {
		return ed, domain.RSASigningKey{}, err
	}
	r, err := rsa.Rotate(ctx)
	return ed, r, err
}

// WithOAuthClients runs fn with the client registry on a started app (the
// CLI's `ums clients`).
func WithOAuthClients(ctx context.Context, c Config, log *zap.Logger, fn func(*application.OAuthClients) error) error {
	var clients *application.OAuthClients
	app := NewApp(c, log, MigrationPolicy{Apply: !c.IsProduction()}, fx.Populate(&clients))
	if err := app.Err(); err != nil {
		return err
	}
	if err := app.Start(ctx); err != nil {
		return err
	}
	defer func() { _ = app.Stop(context.Background()) }()
	return fn(clients)
}

package bootstrap

import (
	"context"
	"errors"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/ums-project/ums/adapters/crypto"
	"github.com/ums-project/ums/adapters/sqlstore"
	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/ports"
)

// ImportModule provides the importer of `ums import`: the legacy-id ledger
// and the hasher as judge of imported hashes. Only the import commands
// include it.
var ImportModule = fx.Module("import",
	fx.Provide(
		fx.Annotate(sqlstore.NewImportLedger, fx.As(new(ports.ImportLedger))),
		fx.Annotate(func(h *crypto.Hasher) *crypto.Hasher { return h }, fx.As(new(ports.ImportedHashes))),
		newImporter,
	),
)

type importerParams struct {
	fx.In
	Users    ports.UserRepository
	Orgs     ports.OrgRepository
	Members  ports.MembershipRepository
	Perms    ports.PermissionRepository
	Ledger   ports.ImportLedger
	Hashes   ports.ImportedHashes
	Audit    ports.AuditLog
	History  ports.PasswordHistory
	Box      ports.SecretBox
	TOTP     ports.TOTP
	Tx       ports.TxManager
	Clock    ports.Clock
	IDs      ports.IDGenerator
	Password application.PasswordConfig
}

func newImporter(p importerParams) *application.Importer {
	return application.NewImporter(application.ImporterDeps{Users: p.Users, Orgs: p.Orgs, Members: p.Members,
		Perms: p.Perms, Ledger: p.Ledger, Hashes: p.Hashes, Audit: p.Audit, History: p.History, Box: p.Box, TOTP: p.TOTP,
		Tx: p.Tx, Clock: p.Clock, IDs: p.IDs, Password: p.Password})
}

// withImporter starts the core (applying pending migrations outside
// production, as serve does) and runs fn with the importer.
func withImporter(ctx context.Context, c Config, log *zap.Logger, fn func(*application.Importer) error) error {
	var imp *application.Importer
	app := NewApp(c, log, MigrationPolicy{Apply: !c.IsProduction()}, ImportModule, fx.Populate(&imp))
	if err := app.Err(); err != nil {
		return err
	}
	if err := app.Start(ctx); err != nil {
		return err
	}
	defer func() { _ = app.Stop(context.Background()) }()
	return fn(imp)
}

// ImportFlask imports the old Flask service's database at dsn into
// DATABASE_URL; with dryRun everything is checked and rolled back.
func ImportFlask(ctx context.Context, c Config, log *zap.Logger, dsn string, dryRun bool) (rep application.ImportReport, err error) {
	src, err := sqlstore.OpenFlaskSource(ctx, dsn)
	if err != nil {
		return rep, err
	}
	defer func() { err = errors.Join(err, src.Close()) }()
	err = withImporter(ctx, c, log, func(imp *application.Importer) error {
		rep, err = imp.ImportFlask(ctx, src, dryRun)
		return err
	})
	return rep, err
}

// ImportUsers creates the accounts of recs with their password hashes.
func ImportUsers(ctx context.Context, c Config, log *zap.Logger, recs []application.UserRecord, dryRun bool) (rep application.ImportReport, err error) {
	err = withImporter(ctx, c, log, func(imp *application.Importer) error {
		rep, err = imp.ImportUsers(ctx, recs, dryRun)
		return err
	})
	return rep, err
}

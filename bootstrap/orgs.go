package bootstrap

import (
	"context"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/ums-project/ums/adapters/memory"
	"github.com/ums-project/ums/adapters/sqlstore"
	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/ports"
)

// OrgModule provides organizations, permissions, the authorize API, user
// administration, the audit listing and personal-data export and erasure.
var OrgModule = fx.Module("orgs",
	fx.Provide(
		fx.Annotate(sqlstore.NewOrgRepository, fx.As(new(ports.OrgRepository))),
		fx.Annotate(sqlstore.NewMembershipRepository, fx.As(new(ports.MembershipRepository))),
		fx.Annotate(sqlstore.NewPermissionRepository, fx.As(new(ports.PermissionRepository))),
		sqlstore.NewAccessQuery,
		newAccessQuery,
		fx.Annotate(sqlstore.NewUserDirectory, fx.As(new(ports.UserDirectory))),
		fx.Annotate(sqlstore.NewAuditQuery, fx.As(new(ports.AuditQuery))),
		fx.Annotate(sqlstore.NewPersonalData, fx.As(new(ports.PersonalData))),
		application.NewPolicy,
		application.NewOrgs,
		application.NewPermissions,
		newDirectory,
	),
)

// newAccessQuery is the store's access query behind the in-memory cache
// (unless AUTHZ_CACHE_SIZE is 0). Only the authorization reads use it,
// never a transaction.
func newAccessQuery(c Config, store *sqlstore.AccessQuery, clock ports.Clock) (ports.AccessQuery, *memory.AccessCache, error) {
	if c.AuthzCacheSize == 0 {
		return store, nil, nil
	}
	cache, err := memory.NewAccessCache(store, store, c.AuthzCacheSize, c.AuthzCacheTTL, clock.Now)
	return cache, cache, err
}

type directoryParams struct {
	fx.In
	Policy       *application.Policy
	Registration *application.Registration
	Users        ports.UserRepository
	Dir          ports.UserDirectory
	Members      ports.MembershipRepository
	Orgs         ports.OrgRepository
	Personal     ports.PersonalData
	AuditQuery   ports.AuditQuery
	Tx           ports.TxManager
	Audit        ports.AuditLog
	Clock        ports.Clock
	IDs          ports.IDGenerator
	Credentials  *application.Credentials
	Revoker      *application.Revoker
	Passkeys     ports.PasskeyRepository
}

func newDirectory(p directoryParams) *application.Directory {
	return application.NewDirectory(application.DirectoryDeps{Policy: p.Policy, Registration: p.Registration,
		Users: p.Users, Dir: p.Dir, Members: p.Members, Orgs: p.Orgs, Personal: p.Personal, AuditQuery: p.AuditQuery,
		Tx: p.Tx, Audit: p.Audit, Clock: p.Clock, IDs: p.IDs, Credentials: p.Credentials, Revoker: p.Revoker,
		Passkeys: p.Passkeys})
}

// auditRetentionEvery is how often the retention job looks for old events.
const auditRetentionEvery = time.Hour

// AuditRetentionModule drops audit events older than AUDIT_RETENTION while
// the server runs; with AUDIT_RETENTION=0 (the default) it does nothing.
var AuditRetentionModule = fx.Module("auditretention",
	fx.Invoke(func(lc fx.Lifecycle, c Config, dir *application.Directory, log *zap.Logger) {
		if c.AuditRetention <= 0 {
			return
		}
		inBackground(lc, func(ctx context.Context) {
			everyUntilDone(ctx, auditRetentionEvery, func() {
				n, err := dir.AuditRetention(ctx, c.AuditRetention)
				switch {
				case err != nil && ctx.Err() == nil:
					log.Warn("audit retention failed", zap.Error(err))
				case n > 0:
					log.Info("audit retention dropped old events", zap.Int64("events", n), zap.Duration("older_than", c.AuditRetention))
				}
			})
		})
	}),
)

package bootstrap

import (
	"crypto/rand"

	"go.uber.org/fx"

	"github.com/ums-project/ums/adapters/sqlstore"
	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/ports"
)

// PersonalTokensModule provides personal access tokens: their store, the
// use cases and their bearer scheme (group "bearer", which the HTTP server
// checks besides session tokens). The revoker ends them with all of their
// owner's sessions.
var PersonalTokensModule = fx.Module("personal_tokens",
	fx.Provide(
		fx.Annotate(sqlstore.NewPersonalTokenRepository, fx.As(new(ports.PersonalTokenRepository))),
		newPersonalTokens,
		fx.Annotate(func(t *application.PersonalTokens) application.BearerScheme { return t },
			fx.ResultTags(`group:"bearer"`)),
	),
)

// newRevoker is application.NewRevoker ending personal access tokens with
// all of their owner's sessions.
func newRevoker(sessions ports.SessionRepository, tx ports.TxManager, audit ports.AuditLog, clock ports.Clock,
	ids ports.IDGenerator, list *application.RevocationList, bus ports.RevocationBus, tokens ports.PersonalTokenRepository,
) *application.Revoker {
	r := application.NewRevoker(sessions, tx, audit, clock, ids, list, bus)
	r.EndPersonalTokensToo(tokens)
	return r
}

type personalTokenParams struct {
	fx.In
	Store    ports.PersonalTokenRepository
	Sessions ports.SessionRepository
	Users    ports.UserRepository
	Members  ports.MembershipRepository
	Perms    ports.PermissionRepository
	Access   ports.AccessQuery
	Tx       ports.TxManager
	Audit    ports.AuditLog
	Clock    ports.Clock
	IDs      ports.IDGenerator
	Config   Config
}

func newPersonalTokens(p personalTokenParams) *application.PersonalTokens {
	return application.NewPersonalTokens(application.PersonalTokenDeps{Store: p.Store, Sessions: p.Sessions, Users: p.Users,
		Members: p.Members, Perms: p.Perms, Access: p.Access, Tx: p.Tx, Audit: p.Audit, Clock: p.Clock,
		IDs: p.IDs, Random: rand.Reader, ReauthAfter: p.Config.UIReauthAfter})
}

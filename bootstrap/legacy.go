package bootstrap

import (
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/ums-project/ums/adapters/crypto"
	"github.com/ums-project/ums/adapters/legacyapi"
	"github.com/ums-project/ums/adapters/sqlstore"
	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/ports"
)

// LegacyModule serves the old Flask service's API beside /api/v1
// (LEGACY_API=true), honouring its tokens when LEGACY_JWT_SECRET is set.
var LegacyModule = fx.Module("legacy",
	fx.Provide(
		fx.Annotate(sqlstore.NewLegacyIDs, fx.As(new(ports.LegacyIDs))),
		fx.Annotate(sqlstore.NewLegacySessionLinks, fx.As(new(ports.LegacySessionLinks))),
		newLegacyAuth,
		newLegacyAPI,
	),
)

func newLegacyAuth(c Config, ids ports.LegacyIDs, links ports.LegacySessionLinks, users ports.UserRepository,
	sessions *application.Sessions, revoker *application.Revoker, clock ports.Clock,
) (*application.LegacyAuth, error) {
	var verifier ports.LegacyTokenVerifier
	if c.LegacyJWTSecret != "" {
		v, err := crypto.NewLegacyJWT(c.LegacyJWTSecret)
		if err != nil {
			return nil, err
		}
		verifier = v
	}
	return application.NewLegacyAuth(verifier, ids, links, users, sessions, revoker, clock), nil
}

type legacyParams struct {
	fx.In
	Config       Config
	Log          *zap.Logger
	Registration *application.Registration
	Login        *application.Login
	Sessions     *application.Sessions
	LegacyAuth   *application.LegacyAuth
	Profiles     *application.Profiles
	Account      *application.Account
	Directory    *application.Directory
	Orgs         *application.Orgs
	Permissions  *application.Permissions
	Policy       *application.Policy
	IDs          ports.LegacyIDs
}

func newLegacyAPI(p legacyParams) *legacyapi.API {
	return legacyapi.New(legacyapi.Services{Registration: p.Registration, Login: p.Login, Sessions: p.Sessions,
		LegacyAuth: p.LegacyAuth, Profiles: p.Profiles, Account: p.Account, Directory: p.Directory, Orgs: p.Orgs,
		Permissions: p.Permissions, Policy: p.Policy, IDs: p.IDs}, p.Config.HTTPBodyLimit, p.Log.Named("legacy"))
}

package bootstrap

import (
	"crypto/rand"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/ums-project/ums/adapters/sqlstore"
	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/ports"
)

// InvitationsModule provides invitations into organizations: the stored
// invitations and the use cases, which mail through the account's outbox
// and count what is sent against RATE_LIMIT_INVITE per inviter and per
// organization (unless RATE_LIMIT_ENABLED is false).
var InvitationsModule = fx.Module("invitations",
	fx.Provide(
		fx.Annotate(sqlstore.NewInvitationRepository, fx.As(new(ports.InvitationRepository))),
		newInvitations,
	),
)

type invitationsParams struct {
	fx.In
	Config       Config
	Log          *zap.Logger
	Policy       *application.Policy
	Repo         ports.InvitationRepository
	Orgs         ports.OrgRepository
	Members      ports.MembershipRepository
	Users        ports.UserRepository
	Registration *application.Registration
	Mailbox      *application.Mailbox
	Tx           ports.TxManager
	Audit        ports.AuditLog
	Clock        ports.Clock
	IDs          ports.IDGenerator
	Limiter      ports.RateLimiter
}

func newInvitations(p invitationsParams) *application.Invitations {
	d := application.InvitationsDeps{Policy: p.Policy, Repo: p.Repo, Orgs: p.Orgs, Members: p.Members, Users: p.Users,
		Registration: p.Registration, Mailbox: p.Mailbox, Tx: p.Tx, Audit: p.Audit, Clock: p.Clock, IDs: p.IDs,
		Random: rand.Reader}
	if p.Config.RateLimitEnabled {
		// Validate already refused a malformed value.
		d.Limiter = p.Limiter
		d.Limit, _ = ParseRateLimit(p.Config.RateLimitInvite)
		log := p.Log.Named("invitations")
		d.OnLimiterError = func(err error) {
			log.Warn("invitation rate limiter failed; sending anyway", zap.Error(err))
		}
	}
	return application.NewInvitations(d)
}

package bootstrap

import (
	"context"
	"crypto/rand"
	"time"

	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/ums-project/ums/adapters/sqlstore"
	webauthnadapter "github.com/ums-project/ums/adapters/webauthn"
	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/ports"
)

// passkeyCeremonyTTL bounds the time between a WebAuthn ceremony's two
// requests: the browser's timeout hint and how long its state is kept.
const passkeyCeremonyTTL = 5 * time.Minute

// ceremonyPrune is how often expired ceremony states are deleted; taking
// one refuses it when expired anyway, so this only keeps the table small.
const ceremonyPrune = 10 * time.Minute

// PasskeysModule provides passkeys (WebAuthn): the stored credentials, the
// ceremonies' state in the database (so any instance finishes what another
// began), the protocol library bound to the relying party of the
// configuration, and the use cases (nil when passkeys are off, see
// Config.PasskeysEnabled).
var PasskeysModule = fx.Module("passkeys",
	fx.Provide(
		fx.Annotate(sqlstore.NewPasskeyRepository, fx.As(new(ports.PasskeyRepository))),
		fx.Annotate(sqlstore.NewCeremonyStore, fx.As(new(ports.CeremonyStore))),
		newWebAuthn,
		newPasskeys,
	),
)

// PasskeyJobsModule deletes expired ceremony states while the server runs;
// CLI commands leave it out.
var PasskeyJobsModule = fx.Module("passkeyjobs",
	fx.Invoke(pruneCeremonies),
)

// newWebAuthn binds the protocol library to the relying party; nil when
// passkeys are off (PUBLIC_URL's host is an IP address and no
// WEBAUTHN_RP_ID is set).
func newWebAuthn(c Config, log *zap.Logger) (ports.WebAuthn, error) {
	if !c.PasskeysEnabled() {
		log.Info("passkeys are off: the host of PUBLIC_URL is an IP address, which cannot be a WebAuthn relying party; " +
			"set WEBAUTHN_RP_ID (and WEBAUTHN_RP_ORIGINS) to a domain name to turn them on")
		return nil, nil
	}
	w, err := webauthnadapter.New(webauthnadapter.Config{RPID: c.WebAuthnRPID, RPOrigins: c.WebAuthnRPOrigins,
		RPDisplayName: c.WebAuthnRPName, Timeout: passkeyCeremonyTTL})
	if err != nil {
		return nil, err
	}
	return w, nil
}

type passkeysParams struct {
	fx.In
	Repo       ports.PasskeyRepository
	Ceremonies ports.CeremonyStore
	WebAuthn   ports.WebAuthn
	Users      ports.UserRepository
	Login      *application.Login
	Sessions   *application.Sessions
	Tx         ports.TxManager
	Audit      ports.AuditLog
	Clock      ports.Clock
	IDs        ports.IDGenerator
}

// newPasskeys is nil when passkeys are off: the routes and pages that
// use them are then left out.
func newPasskeys(p passkeysParams) *application.Passkeys {
	if p.WebAuthn == nil {
		return nil
	}
	return application.NewPasskeys(application.PasskeysDeps{Repo: p.Repo, Ceremonies: p.Ceremonies,
		WebAuthn: p.WebAuthn, Users: p.Users, Login: p.Login, Sessions: p.Sessions, Tx: p.Tx, Audit: p.Audit,
		Clock: p.Clock, IDs: p.IDs, Random: rand.Reader, CeremonyTTL: passkeyCeremonyTTL})
}

func pruneCeremonies(lc fx.Lifecycle, store ports.CeremonyStore, clock ports.Clock, log *zap.Logger) {
	pruneEvery(lc, log, "expired passkey ceremonies", ceremonyPrune, func(ctx context.Context) (int, error) {
		return store.DeleteExpired(ctx, clock.Now())
	})
}

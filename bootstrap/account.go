package bootstrap

import (
	"context"
	"crypto/rand"
	"strings"

	"github.com/google/uuid"
	"go.uber.org/fx"
	"go.uber.org/zap"

	"github.com/ums-project/ums/adapters/crypto"
	"github.com/ums-project/ums/adapters/mail"
	"github.com/ums-project/ums/adapters/sqlstore"
	"github.com/ums-project/ums/adapters/web"
	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/ports"
)

// AccountModule provides the account lifecycle: mailed tokens, the mail
// outbox and its worker, password history, TOTP and recovery codes.
var AccountModule = fx.Module("account",
	fx.Provide(
		fx.Annotate(sqlstore.NewOneTimeTokenRepository, fx.As(new(ports.OneTimeTokenRepository))),
		fx.Annotate(sqlstore.NewPasswordHistory, fx.As(new(ports.PasswordHistory))),
		fx.Annotate(sqlstore.NewRecoveryCodes, fx.As(new(ports.RecoveryCodes))),
		fx.Annotate(sqlstore.NewMailOutbox, fx.As(new(ports.MailOutbox))),
		fx.Annotate(func(r *sqlstore.UserRepository) *sqlstore.UserRepository { return r }, fx.As(new(ports.MFASteps))),
		fx.Annotate(crypto.NewTOTP, fx.As(new(ports.TOTP))),
		fx.Annotate(func(c Config) (*mail.Composer, error) { return mail.NewComposer(c.AppName) }, fx.As(new(ports.MailComposer))),
		newMailer,
		func(tokens ports.OneTimeTokenRepository, outbox ports.MailOutbox, composer ports.MailComposer,
			clock ports.Clock, ids ports.IDGenerator, c Config) *application.Mailbox {
			return application.NewMailbox(tokens, outbox, composer, clock, ids, rand.Reader, mailConfig(c))
		},
		newAccount,
	),
)

// mailConfig says where the mailed links point: by default at the
// console's own pages (PUBLIC_URL/ui/reset, /ui/verify,
// /ui/invitations/accept); with MAIL_LINK_BASE_URL, at the pages of that
// web app (/reset-password, /verify-email, /accept-invitation), which POST
// the token to the API.
func mailConfig(c Config) application.MailConfig {
	cfg := application.MailConfig{LinkBase: c.MailLinkBaseURL, LinkPaths: application.PortalLinkPaths,
		ResetTTL: c.PasswordResetTTL, VerificationTTL: c.EmailVerificationTTL}
	if mailLinksToConsole(c) {
		cfg.LinkBase, cfg.LinkPaths = c.PublicURL, application.LinkPaths{Reset: web.PathReset, Verify: web.PathVerify, Invite: web.PathInvitation}
	}
	return cfg
}

// mailLinksToConsole reports MAIL_LINK_BASE_URL unset. The configuration
// fills an unset one in with PUBLIC_URL, so that value counts as unset
// too: UMS itself serves no /reset-password page.
func mailLinksToConsole(c Config) bool {
	base := strings.TrimRight(c.MailLinkBaseURL, "/")
	return base == "" || base == strings.TrimRight(c.PublicURL, "/")
}

// ServerJobsModule runs the background work of a serving instance: the
// queue of "forgot password" requests and the measure of the costliest
// stored hashes that failed logins are padded to. CLI commands leave them
// out.
var ServerJobsModule = fx.Module("serverjobs",
	fx.Invoke(runResetRequests, measureOutdatedHashes),
)

type accountParams struct {
	fx.In
	Users       ports.UserRepository
	History     ports.PasswordHistory
	Hasher      ports.PasswordHasher
	Tx          ports.TxManager
	Audit       ports.AuditLog
	Clock       ports.Clock
	IDs         ports.IDGenerator
	Credentials *application.Credentials
	Revoker     *application.Revoker
	Mailbox     *application.Mailbox
	Passwords   application.PasswordConfig
}

func newAccount(p accountParams) *application.Account {
	return application.NewAccount(application.AccountDeps{Users: p.Users, History: p.History, Hasher: p.Hasher,
		Tx: p.Tx, Audit: p.Audit, Clock: p.Clock, IDs: p.IDs, Credentials: p.Credentials, Revoker: p.Revoker,
		Mailbox: p.Mailbox, Passwords: p.Passwords})
}

// runResetRequests works the queue of "forgot password" requests while the
// app runs.
func runResetRequests(lc fx.Lifecycle, account *application.Account, log *zap.Logger) {
	plog := log.Named("password_reset")
	inBackground(lc, func(ctx context.Context) {
		account.RunResetRequests(ctx, func(err error) { plog.Warn("password reset request failed", zap.Error(err)) })
	})
}

// newMailer picks SMTP or, outside production only (config refuses it
// there), the log mailer.
func newMailer(c Config, log *zap.Logger) (ports.Mailer, error) {
	if c.MailDriver == "smtp" {
		return mail.NewSMTPMailer(mail.SMTPConfig{
			Host: c.SMTPHost, Port: c.SMTPPort, Username: c.SMTPUsername, Password: c.SMTPPassword,
			From: c.MailFrom, TLS: c.SMTPTLS, Timeout: c.SMTPTimeout,
		})
	}
	return mail.NewLogMailer(log.Named("mail")), nil
}

// MailWorkerModule drains the outbox while the server runs; it stops
// before the database closes.
var MailWorkerModule = fx.Module("mailworker",
	fx.Invoke(func(lc fx.Lifecycle, c Config, outbox ports.MailOutbox, mailer ports.Mailer, clock ports.Clock, log *zap.Logger) {
		w := application.NewMailWorker(outbox, mailer, clock)
		w.Permanent = mail.IsPermanent
		mlog := log.Named("mail")
		// The error text is the mail server's reply; it never holds the
		// message, which may carry a token.
		w.OnError = func(id uuid.UUID, attempt int, err error) {
			mlog.Warn("mail delivery failed", zap.Stringer("mail_id", id), zap.Int("attempt", attempt), zap.Error(err))
		}
		inBackground(lc, func(ctx context.Context) { w.Run(ctx, c.MailPollInterval) })
	}),
)

package bootstrap

import (
	"time"

	"go.uber.org/fx"
	"go.uber.org/fx/fxevent"
	"go.uber.org/zap"
)

// CoreModules are everything but the HTTP server: what the CLI commands use.
// fx builds only what is asked for, so a CLI command never connects to what
// it does not need.
func CoreModules(c Config) fx.Option {
	opts := []fx.Option{SQLStoreModule, CryptoModule, SystemModule, ApplicationModule, AuthModule, AccountModule, OrgModule, OIDCModule, PasskeysModule, PersonalTokensModule, ServiceAccountsModule, InvitationsModule, ObservabilityModule, TracingModule, WebhooksModule}
	if c.RedisURL != "" {
		opts = append(opts, RedisModule)
	}
	return fx.Options(opts...)
}

// NewApp composes UMS. extra options let commands and tests add invokes or
// populate targets.
func NewApp(c Config, log *zap.Logger, policy MigrationPolicy, extra ...fx.Option) *fx.App {
	return fx.New(
		fx.Supply(c, policy, log),
		fx.WithLogger(func() fxevent.Logger {
			l := &fxevent.ZapLogger{Logger: log.Named("fx")}
			l.UseLogLevel(zap.DebugLevel)
			return l
		}),
		fx.StartTimeout(c.ShutdownTimeout+30*time.Second),
		fx.StopTimeout(c.ShutdownTimeout+5*time.Second),
		CoreModules(c),
		fx.Options(extra...),
	)
}

// ServerApp is NewApp with the HTTP server.
func ServerApp(c Config, log *zap.Logger, policy MigrationPolicy, extra ...fx.Option) *fx.App {
	server := []fx.Option{HTTPModule, PagesModule, MailWorkerModule, AuditRetentionModule, ServerJobsModule, PasskeyJobsModule, ServiceAccountJobsModule, PprofModule, GCModule, WebhookWorkerModule}
	if c.LegacyAPI {
		server = append(server, LegacyModule)
	}
	return NewApp(c, log, policy, append(server, extra...)...)
}

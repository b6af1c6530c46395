package http

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/ports"
)

// Config is what the HTTP adapter needs from the deployment.
type Config struct {
	Addr              string
	BodyLimit         int64
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	// Issuer is the public base URL of the service, the tokens' iss.
	Issuer string
	// ShutdownTimeout bounds how long in-flight requests may finish.
	ShutdownTimeout time.Duration
	// TrustedProxies are the peers whose X-Forwarded-For and
	// X-Forwarded-Proto are believed.
	TrustedProxies []*net.IPNet
	// AllowedOrigins may call the API from a browser (CORS).
	AllowedOrigins []string
	CORSMaxAge     time.Duration
	// TLSCertFile and TLSKeyFile, when set, make the server speak HTTPS
	// itself (TLS 1.2+).
	TLSCertFile string
	TLSKeyFile  string
	// RedirectAddr, when set with TLS, listens for plain HTTP and
	// redirects it to PublicURL.
	RedirectAddr string
	PublicURL    string
	RateLimits   RateLimits
	// MetricsAddr, when set, serves /metrics on a listener of its own (to
	// keep it off the public port); otherwise /metrics is on Addr.
	MetricsAddr string
	// MetricsBearerToken, when set, must be presented as
	// "Authorization: Bearer <token>" to read /metrics, on either listener.
	MetricsBearerToken string
}

// Observability is what the metrics adapter gives the HTTP server.
type Observability struct {
	// Middleware records request counts and latencies.
	Middleware echo.MiddlewareFunc
	// Handler serves /metrics.
	Handler http.Handler
	// RateLimited counts a rejection by scope.
	RateLimited func(scope string)
}

// Services are the use cases the routes call.
type Services struct {
	Registration *application.Registration
	Keys         *application.Keys
	Login        *application.Login
	Sessions     *application.Sessions
	// Bearer checks the API's bearer credentials (session tokens and
	// the other schemes wired into it).
	Bearer       *application.Bearer
	MFA          *application.MFA
	Profiles     *application.Profiles
	Account      *application.Account
	Orgs         *application.Orgs
	Permissions  *application.Permissions
	Directory    *application.Directory
	HealthChecks []ports.HealthCheck
	RateLimiter  ports.RateLimiter
	Metrics      Observability
	// Legacy, when set, is another API served on the same server (the
	// old service's, under /api/ beside /api/v1).
	Legacy Mounted
	// Pages, when set, are the browser pages (/ui/) and the OpenID
	// Connect provider's endpoints.
	Pages Mounted
	// OAuthClients and Consents serve the client registry and users'
	// consents; nil leaves those routes out.
	OAuthClients *application.OAuthClients
	// Passkeys serves passkey registration and sign-in; nil leaves those
	// routes out.
	Passkeys *application.Passkeys
	// Invitations serves invitations into organizations; nil leaves
	// those routes out.
	Invitations *application.Invitations
	// PersonalTokens serves personal access tokens; nil leaves those
	// routes out.
	PersonalTokens *application.PersonalTokens
	// ServiceAccounts serves organizations' service accounts; nil leaves
	// those routes out.
	ServiceAccounts *application.ServiceAccounts
	// Webhooks serves webhook endpoints and their deliveries; nil leaves
	// those routes out.
	Webhooks *application.Webhooks
	// Tracing, when its Provider is set, traces every request.
	Tracing Tracing
}

// Mounted is another API served beside /api/v1 on the same server, behind
// the same hardening (request ids, access log, metrics, limits, headers),
// that answers in its own shapes, errors included.
type Mounted interface {
	// Register adds its routes to e.
	Register(e *echo.Echo)
	// Owns reports whether a request path is in its namespace, so errors
	// met there (a rate limit, a 404) are written its way.
	Owns(path string) bool
	// WriteError writes err as its clients expect it.
	WriteError(c echo.Context, err error)
}

// Server is the API's HTTP server.
type Server struct {
	echo  *echo.Echo
	srv   *http.Server
	ln    net.Listener
	log   *zap.Logger
	done  chan struct{}
	drain time.Duration
	// side are the redirect and metrics listeners, when configured.
	side []*sideServer
}

// sideServer is a small extra listener that lives and dies with the API.
type sideServer struct {
	name string
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
}

// NewServer builds the routes and middleware.
func NewServer(cfg Config, svc Services, log *zap.Logger) (*Server, error) {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler(log, svc.Legacy, svc.Pages)
	e.IPExtractor = ipExtractor(cfg.TrustedProxies)
	mw := []echo.MiddlewareFunc{withRequestID(), accessLog(log, svc.Tracing.enabled())}
	if svc.Tracing.enabled() {
		mw = append(mw, routeSpan())
	}
	if svc.Metrics.Middleware != nil {
		mw = append(mw, svc.Metrics.Middleware)
	}
	lim := &limiter{rl: svc.RateLimiter, limits: cfg.RateLimits, log: log.Named("ratelimit"), rejected: svc.Metrics.RateLimited}
	// Control characters are refused after the global limit (garbage still
	// counts against the client) and before authentication and the route's
	// own limits, so no handler or store ever sees them.
	mw = append(mw, recoverPanics(log), securityHeaders(cfg.TrustedProxies), corsMiddleware(cfg.AllowedOrigins, cfg.CORSMaxAge),
		noStore(), apiOnly(lim.middleware("global")), apiOnly(refuseControlChars()), refuseBadFormText())
	e.Use(mw...)
	if cfg.MetricsAddr == "" && svc.Metrics.Handler != nil {
		e.GET("/metrics", metricsHandler(svc.Metrics.Handler, cfg.MetricsBearerToken))
	}

	h := &healthHandlers{checks: svc.HealthChecks, log: log}
	e.GET("/healthz", h.healthz)
	e.GET("/readyz", h.readyz)
	if svc.Pages == nil {
		// Without the provider, the key set and a minimal discovery
		// document are still published for API token verifiers.
		wk := &wellKnownHandlers{keys: svc.Keys, issuer: cfg.Issuer}
		e.GET("/.well-known/jwks.json", wk.jwks)
		e.GET("/.well-known/openid-configuration", wk.openIDConfiguration)
	}
	if err := registerDocs(e); err != nil {
		return nil, err
	}

	api := e.Group("/api/v1")
	limitLogin, limitRegister, limitRefresh := lim.middleware(ScopeLogin), lim.middleware(ScopeRegister), lim.middleware(ScopeRefresh)
	limitPassword, limitEmail := lim.middleware(ScopePassword), lim.middleware(ScopeEmail)
	// bearer admits people's session tokens and service accounts;
	// person only people's session tokens (their own credentials,
	// sessions and data); pending, people whose password change is
	// pending (the routes out of that state); readers also personal
	// access tokens (the routes such a token exists for).
	bearer := requireBearer(svc.Bearer, bearerRule{serviceAccounts: true})
	person := requireBearer(svc.Bearer, bearerRule{})
	pending := requireBearer(svc.Bearer, bearerRule{pending: true})
	readers := requireBearer(svc.Bearer, bearerRule{personalTokens: true, serviceAccounts: true})
	readersPending := requireBearer(svc.Bearer, bearerRule{pending: true, personalTokens: true, serviceAccounts: true})
	auth := &authHandlers{registration: svc.Registration, signIn: svc.Login, sessions: svc.Sessions, bodyLimit: cfg.BodyLimit}
	api.POST("/auth/register", auth.register, limitRegister)
	api.POST("/auth/login", auth.login, limitLogin)
	api.POST("/auth/refresh", auth.refresh, limitRefresh)
	api.POST("/auth/logout", auth.logout, pending)
	api.POST("/auth/logout-all", auth.logoutAll, pending)

	acct := &accountHandlers{account: svc.Account, mfa: svc.MFA, bodyLimit: cfg.BodyLimit}
	api.POST("/auth/password/change", acct.changePassword, pending)
	api.POST("/auth/password/forgot", acct.forgotPassword, limitPassword)
	api.POST("/auth/password/reset", acct.resetPassword, limitPassword)
	api.GET("/auth/password/status", acct.passwordStatus, pending)
	api.POST("/auth/email/change", acct.changeEmail, limitEmail, person)
	api.POST("/auth/email/verify", acct.verifyEmail, limitEmail)
	api.POST("/auth/email/verify/resend", acct.resendVerification, limitEmail, person)
	api.POST("/auth/mfa/totp/setup", acct.setupTOTP, person)
	api.POST("/auth/mfa/totp/activate", acct.activateTOTP, person)
	api.POST("/auth/mfa/totp/disable", acct.disableTOTP, person)

	admin := &adminHandlers{dir: svc.Directory, mfa: svc.MFA}
	dir := &directoryHandlers{dir: svc.Directory, bodyLimit: cfg.BodyLimit}
	api.GET("/users", dir.list, bearer)
	api.POST("/users", dir.create, bearer)
	api.GET("/users/:id", dir.get, bearer)
	api.PATCH("/users/:id", dir.update, bearer)
	api.DELETE("/users/:id", dir.erase, bearer)
	api.POST("/users/:id/unlock", dir.unlock, bearer)
	api.POST("/users/:id/require-password-change", admin.requirePasswordChange, bearer)
	api.POST("/users/:id/revoke-sessions", dir.revokeSessions, bearer)
	api.POST("/users/:id/mfa/reset", admin.resetMFA, bearer)
	api.GET("/users/:id/organizations", dir.organizations, bearer)
	api.GET("/audit-events", dir.auditEvents, bearer)

	orgs := &orgHandlers{orgs: svc.Orgs, perms: svc.Permissions, bodyLimit: cfg.BodyLimit}
	api.GET("/orgs", orgs.list, bearer)
	api.POST("/orgs", orgs.create, bearer)
	api.GET("/orgs/:id", orgs.get, bearer)
	api.PATCH("/orgs/:id", orgs.update, bearer)
	api.DELETE("/orgs/:id", orgs.delete, bearer)
	api.GET("/orgs/:id/members", orgs.members, bearer)
	api.POST("/orgs/:id/members", orgs.addMember, bearer)
	api.PATCH("/orgs/:id/members/:user_id", orgs.setMemberRole, bearer)
	api.DELETE("/orgs/:id/members/:user_id", orgs.removeMember, bearer)
	api.GET("/orgs/:id/role-permissions/:role", orgs.rolePermissions, bearer)
	api.PUT("/orgs/:id/role-permissions/:role", orgs.setRolePermissions, bearer)
	api.GET("/orgs/:id/grants", orgs.grants, bearer)
	api.POST("/orgs/:id/grants", orgs.addGrant, bearer)
	api.DELETE("/orgs/:id/grants/:grant_id", orgs.deleteGrant, bearer)

	perms := &permissionHandlers{perms: svc.Permissions, bodyLimit: cfg.BodyLimit}
	api.GET("/permissions", perms.catalog, bearer)
	api.POST("/permissions", perms.create, bearer)
	api.DELETE("/permissions/:name", perms.deactivate, bearer)
	api.GET("/role-permissions/:role", perms.globalRolePermissions, bearer)
	api.PUT("/role-permissions/:role", perms.setGlobalRolePermissions, bearer)
	api.POST("/authorize", perms.authorize, readers)
	api.POST("/authorize/batch", perms.authorizeBatch, readers)
	api.GET("/me/permissions", perms.myPermissions, readers)
	api.GET("/me/export", dir.export, person)
	api.DELETE("/me", dir.eraseMe, pending)

	if svc.Pages != nil {
		if l, ok := svc.Pages.(interface{ UseLoginLimit(echo.MiddlewareFunc) }); ok {
			l.UseLoginLimit(limitLogin)
		}
		svc.Pages.Register(e)
	}
	if svc.Legacy != nil {
		svc.Legacy.Register(e)
	}

	me := &meHandlers{profiles: svc.Profiles, bodyLimit: cfg.BodyLimit}
	api.GET("/me", me.get, readersPending)
	api.PATCH("/me", me.patch, person)
	api.GET("/me/sessions", auth.listSessions, person)
	api.DELETE("/me/sessions/:id", auth.revokeSession, person)

	if svc.Passkeys != nil {
		pk := &passkeyHandlers{passkeys: svc.Passkeys, signIn: svc.Login, bodyLimit: cfg.BodyLimit}
		api.POST("/auth/passkeys/login/options", pk.loginOptions, limitLogin)
		api.POST("/auth/passkeys/login", pk.login, limitLogin)
		api.POST("/me/passkeys/register/options", pk.registerOptions, person)
		api.POST("/me/passkeys/register", pk.register, person)
		api.GET("/me/passkeys", pk.list, person)
		api.PATCH("/me/passkeys/:id", pk.rename, person)
		api.DELETE("/me/passkeys/:id", pk.delete, person)
	}

	if svc.Invitations != nil {
		inv := &invitationHandlers{invitations: svc.Invitations, bodyLimit: cfg.BodyLimit}
		api.GET("/orgs/:id/invitations", inv.list, bearer)
		api.POST("/orgs/:id/invitations", inv.create, bearer)
		api.POST("/orgs/:id/invitations/:invitation_id/resend", inv.resend, bearer)
		api.DELETE("/orgs/:id/invitations/:invitation_id", inv.revoke, bearer)
		// Accepting may create an account: the sign-up's limit applies.
		api.POST("/invitations/accept", inv.accept, limitRegister, optionalBearer(person))
	}

	if svc.OAuthClients != nil {
		oc := &oauthHandlers{clients: svc.OAuthClients, bodyLimit: cfg.BodyLimit}
		api.GET("/oauth/clients", oc.list, bearer)
		api.POST("/oauth/clients", oc.create, bearer)
		api.GET("/oauth/clients/:id", oc.get, bearer)
		api.PATCH("/oauth/clients/:id", oc.update, bearer)
		api.DELETE("/oauth/clients/:id", oc.delete, bearer)
		api.POST("/oauth/clients/:id/rotate-secret", oc.rotateSecret, bearer)
		api.GET("/me/consents", oc.consents, person)
		api.DELETE("/me/consents/:client_id", oc.revokeConsent, person)
	}

	if svc.PersonalTokens != nil {
		pt := &personalTokenHandlers{tokens: svc.PersonalTokens, bodyLimit: cfg.BodyLimit}
		api.POST("/me/tokens", pt.create, person)
		api.GET("/me/tokens", pt.list, person)
		api.DELETE("/me/tokens/:id", pt.revoke, person)
	}
	if svc.ServiceAccounts != nil {
		// Reads admit service accounts (the policy decides); changes are
		// people's only, so no machine credential mints another.
		sa := &serviceAccountHandlers{accounts: svc.ServiceAccounts, bodyLimit: cfg.BodyLimit}
		api.GET("/service-accounts", sa.listAll, bearer)
		api.GET("/orgs/:id/service-accounts", sa.list, bearer)
		api.POST("/orgs/:id/service-accounts", sa.create, person)
		api.GET("/orgs/:id/service-accounts/:sa_id", sa.get, bearer)
		api.PATCH("/orgs/:id/service-accounts/:sa_id", sa.update, person)
		api.DELETE("/orgs/:id/service-accounts/:sa_id", sa.delete, person)
		api.POST("/orgs/:id/service-accounts/:sa_id/secret", sa.rotateSecret, person)
		api.GET("/orgs/:id/service-accounts/:sa_id/keys", sa.keys, bearer)
		api.POST("/orgs/:id/service-accounts/:sa_id/keys", sa.addKey, person)
		api.DELETE("/orgs/:id/service-accounts/:sa_id/keys/:kid", sa.deleteKey, person)
	}
	if svc.Webhooks != nil {
		registerWebhooks(api, svc.Webhooks, cfg.BodyLimit, bearer, person)
	}

	var handler http.Handler = e
	if svc.Tracing.enabled() {
		handler = traceHandler(e, svc.Tracing)
	}
	srv := &http.Server{
		Addr:              cfg.Addr,
		Handler:           handler,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          zap.NewStdLog(log.Named("http")),
	}
	s := &Server{echo: e, srv: srv, log: log, done: make(chan struct{}), drain: cfg.ShutdownTimeout}
	if cfg.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCertFile, cfg.TLSKeyFile)
		if err != nil {
			return nil, fmt.Errorf("TLS_CERT_FILE/TLS_KEY_FILE: %w", err)
		}
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
		if cfg.RedirectAddr != "" {
			s.side = append(s.side, newSideServer("https-redirect", cfg.RedirectAddr, redirectToHTTPS(cfg.PublicURL), cfg))
		}
	}
	if cfg.MetricsAddr != "" && svc.Metrics.Handler != nil {
		s.side = append(s.side, newSideServer("metrics", cfg.MetricsAddr,
			metricsServer(svc.Metrics.Handler, cfg.MetricsBearerToken, log), cfg))
	}
	return s, nil
}

func newSideServer(name, addr string, h http.Handler, cfg Config) *sideServer {
	return &sideServer{name: name, done: make(chan struct{}), srv: &http.Server{
		Addr: addr, Handler: h, ReadHeaderTimeout: cfg.ReadHeaderTimeout, ReadTimeout: cfg.ReadTimeout,
		WriteTimeout: cfg.WriteTimeout, IdleTimeout: cfg.IdleTimeout, MaxHeaderBytes: 16 << 10,
	}}
}

// Handler returns the routed handler, for in-process tests.
func (s *Server) Handler() http.Handler { return s.echo }

// Start binds the address (so a taken port fails startup) and serves in the
// background.
func (s *Server) Start(context.Context) error {
	ln, err := net.Listen("tcp", s.srv.Addr)
	if err != nil {
		return err
	}
	for _, side := range s.side {
		if side.ln, err = net.Listen("tcp", side.srv.Addr); err != nil {
			_ = ln.Close()
			return fmt.Errorf("%s listener: %w", side.name, err)
		}
		s.log.Info("listening", zap.String("addr", side.ln.Addr().String()), zap.String("for", side.name))
		go func() {
			defer close(side.done)
			if err := side.srv.Serve(side.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.log.Error(side.name+" server stopped", zap.Error(err))
			}
		}()
	}
	if s.srv.TLSConfig != nil {
		ln = tls.NewListener(ln, s.srv.TLSConfig)
	}
	s.ln = ln
	s.log.Info("listening", zap.String("addr", ln.Addr().String()), zap.Bool("tls", s.srv.TLSConfig != nil))
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server stopped", zap.Error(err))
		}
	}()
	return nil
}

// Addr is the address the server listens on, once started.
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Shutdown stops accepting connections and waits, at most ShutdownTimeout
// (or until ctx ends), for in-flight requests to finish.
func (s *Server) Shutdown(ctx context.Context) error {
	if s.ln == nil {
		return nil
	}
	if s.drain > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.drain)
		defer cancel()
	}
	for _, side := range s.side {
		if side.ln != nil {
			_ = side.srv.Shutdown(ctx)
			<-side.done
		}
	}
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		s.log.Warn("shutdown deadline passed; closing remaining connections")
		err = s.srv.Close()
	}
	<-s.done
	return err
}

// SideAddr is the address of the named extra listener ("metrics",
// "https-redirect") once started, or "".
func (s *Server) SideAddr(name string) string {
	for _, side := range s.side {
		if side.name == name && side.ln != nil {
			return side.ln.Addr().String()
		}
	}
	return ""
}

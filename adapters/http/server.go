package http

import (
	"context"
	"errors"
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
}

// Services are the use cases the routes call.
type Services struct {
	Registration *application.Registration
	Keys         *application.Keys
	Auth         *application.Auth
	Profiles     *application.Profiles
	Account      *application.Account
	Orgs         *application.Orgs
	Permissions  *application.Permissions
	Directory    *application.Directory
	HealthChecks []ports.HealthCheck
}

// Server is the API's HTTP server.
type Server struct {
	echo  *echo.Echo
	srv   *http.Server
	ln    net.Listener
	log   *zap.Logger
	done  chan struct{}
	drain time.Duration
}

// NewServer builds the routes and middleware.
func NewServer(cfg Config, svc Services, log *zap.Logger) (*Server, error) {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler(log)
	// The peer address, until trusted proxies are configured: a client
	// cannot choose the IP we audit and rate-limit by.
	e.IPExtractor = echo.ExtractIPDirect()
	e.Use(withRequestID(), accessLog(log), recoverPanics(log), securityHeaders(), noStore())

	h := &healthHandlers{checks: svc.HealthChecks, log: log}
	e.GET("/healthz", h.healthz)
	e.GET("/readyz", h.readyz)
	wk := &wellKnownHandlers{keys: svc.Keys, issuer: cfg.Issuer}
	e.GET("/.well-known/jwks.json", wk.jwks)
	e.GET("/.well-known/openid-configuration", wk.openIDConfiguration)
	if err := registerDocs(e); err != nil {
		return nil, err
	}

	api := e.Group("/api/v1")
	bearer := requireBearer(svc.Auth, false)
	// Routes a user with a pending password change may still use.
	pending := requireBearer(svc.Auth, true)
	auth := &authHandlers{registration: svc.Registration, auth: svc.Auth, bodyLimit: cfg.BodyLimit}
	api.POST("/auth/register", auth.register)
	api.POST("/auth/login", auth.login)
	api.POST("/auth/refresh", auth.refresh)
	api.POST("/auth/logout", auth.logout, pending)
	api.POST("/auth/logout-all", auth.logoutAll, pending)

	acct := &accountHandlers{account: svc.Account, auth: svc.Auth, bodyLimit: cfg.BodyLimit}
	api.POST("/auth/password/change", acct.changePassword, pending)
	api.POST("/auth/password/forgot", acct.forgotPassword)
	api.POST("/auth/password/reset", acct.resetPassword)
	api.GET("/auth/password/status", acct.passwordStatus, pending)
	api.POST("/auth/email/change", acct.changeEmail, bearer)
	api.POST("/auth/email/verify", acct.verifyEmail)
	api.POST("/auth/email/verify/resend", acct.resendVerification, bearer)
	api.POST("/auth/mfa/totp/setup", acct.setupTOTP, bearer)
	api.POST("/auth/mfa/totp/activate", acct.activateTOTP, bearer)
	api.POST("/auth/mfa/totp/disable", acct.disableTOTP, bearer)

	admin := &adminHandlers{auth: svc.Auth}
	dir := &directoryHandlers{dir: svc.Directory, bodyLimit: cfg.BodyLimit}
	api.GET("/users", dir.list, bearer)
	api.POST("/users", dir.create, bearer)
	api.GET("/users/:id", dir.get, bearer)
	api.PATCH("/users/:id", dir.update, bearer)
	api.DELETE("/users/:id", dir.erase, bearer)
	api.POST("/users/:id/unlock", dir.unlock, bearer)
	api.POST("/users/:id/require-password-change", admin.requirePasswordChange, bearer)
	api.POST("/users/:id/revoke-sessions", dir.revokeSessions, bearer)
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
	api.POST("/authorize", perms.authorize, bearer)
	api.POST("/authorize/batch", perms.authorizeBatch, bearer)
	api.GET("/me/permissions", perms.myPermissions, bearer)
	api.GET("/me/export", dir.export, bearer)
	api.DELETE("/me", dir.eraseMe, pending)

	me := &meHandlers{profiles: svc.Profiles, bodyLimit: cfg.BodyLimit}
	api.GET("/me", me.get, pending)
	api.PATCH("/me", me.patch, bearer)
	api.GET("/me/sessions", auth.listSessions, bearer)
	api.DELETE("/me/sessions/:id", auth.revokeSession, bearer)

	srv := &http.Server{
		Addr:              cfg.Addr,
		Handler:           e,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          zap.NewStdLog(log.Named("http")),
	}
	return &Server{echo: e, srv: srv, log: log, done: make(chan struct{}), drain: cfg.ShutdownTimeout}, nil
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
	s.ln = ln
	s.log.Info("listening", zap.String("addr", ln.Addr().String()))
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
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		s.log.Warn("shutdown deadline passed; closing remaining connections")
		err = s.srv.Close()
	}
	<-s.done
	return err
}

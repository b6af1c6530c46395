package legacyapi

import (
	"strings"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// Services are the application's use cases the old routes call: the same
// ones (and the one Policy) as the main API's.
type Services struct {
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

// API is the old service's API on UMS. It implements the main HTTP
// adapter's Mounted interface, so it shares that server's hardening.
type API struct {
	svc       Services
	ids       *ids
	log       *zap.Logger
	bodyLimit int64
}

// New returns the old API over svc.
func New(svc Services, bodyLimit int64, log *zap.Logger) *API {
	return &API{svc: svc, ids: newIDs(svc.IDs), log: log, bodyLimit: bodyLimit}
}

// via marks what the old API does in the audit trail.
const via = "legacy_api"

// Owns implements the Mounted interface: the old API's three namespaces,
// and never /api/v1.
func (a *API) Owns(path string) bool {
	for _, p := range []string{"/api/auth", "/api/users", "/api/labs"} {
		if path == p || strings.HasPrefix(path, p+"/") {
			return true
		}
	}
	return false
}

// Register implements the Mounted interface: the 30 method+path pairs of
// the old service.
func (a *API) Register(e *echo.Echo) {
	// Each route carries markLegacy itself: a group middleware would make
	// Echo answer 404 instead of 405 under /api/v1 too.
	g := routes{e: e}
	access := a.requireAccess(false)
	// Routes a user whose password must be changed may still use.
	pending := a.requireAccess(true)

	g.POST("/auth/register", a.register)
	g.POST("/auth/login", a.login)
	g.POST("/auth/refresh", a.refresh)
	g.GET("/auth/me", a.me, pending)
	g.POST("/auth/forgot-password", a.forgotPassword)
	g.POST("/auth/reset-password", a.resetPassword)
	g.POST("/auth/change-password", a.changePassword, pending)
	g.POST("/auth/change-email", a.changeEmail, access)
	g.POST("/auth/verify-email", a.verifyEmail)
	g.GET("/auth/password-status", a.passwordStatus, pending)
	g.POST("/auth/authorize", a.authorize, access)
	g.POST("/auth/user-attributes", a.userAttributes, access)

	g.GET("/users", a.listUsers, access)
	g.GET("/users/:id", a.getUser, access)
	g.PUT("/users/:id", a.updateUser, access)
	g.PATCH("/users/:id", a.updateUser, access)
	g.DELETE("/users/:id", a.deleteUser, access)
	g.GET("/users/:id/labs", a.userLabs, access)
	g.POST("/users/:id/force-password-change", a.forcePasswordChange, access)
	g.POST("/users/:id/unlock", a.unlockUser, access)

	g.GET("/labs", a.listLabs, access)
	g.POST("/labs", a.createLab, access)
	g.GET("/labs/:id", a.getLab, access)
	g.PUT("/labs/:id", a.updateLab, access)
	g.PATCH("/labs/:id", a.updateLab, access)
	g.DELETE("/labs/:id", a.deleteLab, access)
	g.GET("/labs/:id/members", a.labMembers, access)
	g.POST("/labs/:id/members", a.addMember, access)
	g.DELETE("/labs/:id/members/:user_id", a.removeMember, access)
	g.PATCH("/labs/:id/members/:user_id/role", a.setMemberRole, access)
}

// routes adds routes under /api, each marked as the old API's.
type routes struct{ e *echo.Echo }

func (r routes) add(method, path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) {
	r.e.Add(method, "/api"+path, h, append([]echo.MiddlewareFunc{markLegacy}, m...)...)
}

func (r routes) GET(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) {
	r.add("GET", path, h, m...)
}

func (r routes) POST(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) {
	r.add("POST", path, h, m...)
}

func (r routes) PUT(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) {
	r.add("PUT", path, h, m...)
}

func (r routes) PATCH(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) {
	r.add("PATCH", path, h, m...)
}

func (r routes) DELETE(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) {
	r.add("DELETE", path, h, m...)
}

// markLegacy records in the request's facts that it came through the old
// API, so its audit events say so.
func markLegacy(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		ri := domain.RequestInfoFrom(req.Context())
		ri.Via = via
		c.SetRequest(req.WithContext(domain.WithRequestInfo(req.Context(), ri)))
		return next(c)
	}
}

// Package web serves the pages of UMS under /ui/ (server-rendered, no
// JavaScript needed): the hosted sign-in page of the OpenID Connect
// provider first, the console next to it.
package web

import (
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"go.uber.org/zap"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/domain"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// csp lets pages load their own stylesheet and script only: no inline
// script or style, no framing. htmx is told not to inject its indicator
// style (htmx-config meta), which would need 'unsafe-inline'.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'"

// Provider is the OpenID Connect provider the pages sign users in for.
type Provider interface {
	// Handler serves the provider's endpoints, at Paths.
	Handler() http.Handler
	Paths() []string
	EndSessionPath() string
	// CheckEndSession reports a logout request that cannot be parsed.
	CheckEndSession(r *http.Request) error
	// CallbackURL is where an approved request goes for its code.
	CallbackURL(requestID string) string
	// RedirectError sends the browser back to the client with an OAuth
	// error code.
	RedirectError(w http.ResponseWriter, r *http.Request, req domain.AuthRequest, code, desc string)
}

// Where the pages live.
const (
	// PathLogin is the hosted sign-in page.
	PathLogin = "/ui/login"
	// PathLoggedOut is where a sign-out lands.
	PathLoggedOut = "/ui/logged-out"
	// PathHome is the console's first page.
	PathHome = "/ui/"
)

// Deps are what the pages need: the provider's sign-in, and the use cases
// the console calls exactly as the API does (same policy, same audit).
type Deps struct {
	Login    *application.Login
	SignOn   *application.SignOn
	Provider Provider

	Registration *application.Registration
	Account      *application.Account
	MFA          *application.MFA
	Profiles     *application.Profiles
	Sessions     *application.Sessions
	Directory    *application.Directory
	Orgs         *application.Orgs
	Permissions  *application.Permissions
	OAuthClients *application.OAuthClients
	// Passkeys, when set, lets people register passkeys on their
	// account and sign in with them.
	Passkeys *application.Passkeys
	// Tokens, when set, lets people make personal access tokens.
	Tokens *application.PersonalTokens
	// Invitations, when set, lets org admins invite people by email and
	// serves the page the mailed link opens.
	Invitations *application.Invitations
	// ServiceAccounts, when set, lists and manages organizations'
	// service accounts on their pages.
	ServiceAccounts *application.ServiceAccounts

	// Secure marks cookies Secure and gives them the __Host- prefix
	// (production, behind HTTPS).
	Secure bool
	// IdleTimeout signs a browser out after this long without a page
	// (default 30 minutes).
	IdleTimeout time.Duration
	// ReauthAfter is how old a sign-in may be for a sensitive action
	// before the password is asked again (default 10 minutes).
	ReauthAfter time.Duration
	Log         *zap.Logger
	// Limit, when set, is the login rate limit applied to the sign-in
	// posts, as on the API.
	Limit echo.MiddlewareFunc
}

// Pages are the /ui/ routes and the provider's endpoints.
type Pages struct {
	d      Deps
	pages  map[string]*template.Template
	cookie string
	csrf   string
}

// New parses the templates: every templates/NAME.html but the layout is a
// page called NAME, rendered inside layout.html.
func New(d Deps) (*Pages, error) {
	if d.IdleTimeout <= 0 {
		d.IdleTimeout = 30 * time.Minute
	}
	if d.ReauthAfter <= 0 {
		d.ReauthAfter = 10 * time.Minute
	}
	if d.Log == nil {
		d.Log = zap.NewNop()
	}
	p := &Pages{d: d, pages: map[string]*template.Template{}, cookie: "ums_session", csrf: "ums_csrf"}
	if d.Secure {
		p.cookie, p.csrf = "__Host-ums_session", "__Host-ums_csrf"
	}
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.New(name).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", f)
		if err != nil {
			return nil, err
		}
		p.pages[name] = t
	}
	return p, nil
}

// timeTag shows an instant in UTC as a <time> element (kept on one line
// by the stylesheet). Its text is only the formatted instant, so it is
// safe as HTML.
func timeTag(t time.Time) template.HTML {
	u := t.UTC()
	return template.HTML(`<time datetime="` + u.Format(time.RFC3339) + `">` + u.Format("2006-01-02 15:04") + ` UTC</time>`)
}

// funcs are the helpers templates may call.
var funcs = template.FuncMap{
	"date": timeTag,
	"datep": func(t *time.Time) template.HTML {
		if t == nil {
			return "—"
		}
		return timeTag(*t)
	},
	"field": func(fields map[string]string, name string) string { return fields[name] },
}

// Owns reports whether errors on path are the pages' to write.
func (p *Pages) Owns(path string) bool { return strings.HasPrefix(path, "/ui/") || path == "/ui" }

// WriteError renders an error that reached the error handler as a page.
func (p *Pages) WriteError(c echo.Context, err error) {
	status := http.StatusInternalServerError
	msg := "Something went wrong on our side. Try again in a moment."
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		status = he.Code
		msg = http.StatusText(he.Code)
		if he.Code == http.StatusForbidden || he.Code == http.StatusBadRequest {
			// The CSRF check: a form posted from another site, or an
			// expired page.
			msg = "This form expired or did not come from this site. Go back, reload the page and try again."
		}
	default:
		if st, m, ok := kindPage(err); ok {
			status, msg = st, m
			var de *domain.Error
			if errors.As(err, &de) && de.RetryAfter > 0 {
				c.Response().Header().Set("Retry-After", strconv.Itoa(int(de.RetryAfter.Round(time.Second).Seconds())))
			}
		} else {
			p.d.Log.Error("page failed", zap.String("path", c.Request().URL.Path), zap.Error(err))
		}
	}
	_ = p.render(c, status, "message", view{Title: "Error", Error: msg})
}

// kindPage is the page of a client's error by kind.
func kindPage(err error) (int, string, bool) {
	switch domain.KindOf(err) {
	case domain.KindNotFound:
		return http.StatusNotFound, "Not found.", true
	case domain.KindRateLimited:
		return http.StatusTooManyRequests, "Too many attempts. Wait a while, then try again.", true
	case domain.KindUnavailable:
		return http.StatusServiceUnavailable, "The service is busy. Try again in a moment.", true
	case domain.KindUnauthorized:
		return http.StatusUnauthorized, "Sign in again.", true
	case domain.KindForbidden:
		return http.StatusForbidden, "You may not do that.", true
	case domain.KindInvalid:
		return http.StatusUnprocessableEntity, "Check what you entered and try again.", true
	}
	return 0, "", false
}

// UseLoginLimit applies the API's login rate limit to the sign-in posts;
// the server calls it before Register.
func (p *Pages) UseLoginLimit(mw echo.MiddlewareFunc) { p.d.Limit = mw }

// Register adds the pages and the provider's endpoints to e.
func (p *Pages) Register(e *echo.Echo) {
	op := echo.WrapHandler(p.d.Provider.Handler())
	for _, path := range p.d.Provider.Paths() {
		if path == p.d.Provider.EndSessionPath() {
			e.Any(path, p.endSession(p.d.Provider.Handler()))
			continue
		}
		e.Any(path, op)
	}
	sub, _ := fs.Sub(staticFS, "static")
	e.GET("/ui/static/*", echo.WrapHandler(http.StripPrefix("/ui/static/", http.FileServer(http.FS(sub)))))

	ui := e.Group("/ui", p.headers, middleware.CSRFWithConfig(middleware.CSRFConfig{
		TokenLookup: "form:csrf,header:X-CSRF-Token", CookieName: p.csrf, CookiePath: "/", CookieHTTPOnly: true,
		CookieSecure: p.d.Secure, CookieSameSite: http.SameSiteLaxMode, ContextKey: "csrf",
		Skipper: func(c echo.Context) bool { return strings.HasPrefix(c.Request().URL.Path, "/ui/static/") },
	}))
	limit := p.d.Limit
	if limit == nil {
		limit = func(next echo.HandlerFunc) echo.HandlerFunc { return next }
	}
	ui.GET("/login", p.loginPage)
	ui.POST("/login", p.login, limit)
	ui.POST("/login/mfa", p.loginMFA, limit)
	ui.POST("/consent", p.consent)
	ui.POST("/logout", p.logout)
	ui.GET("/logged-out", p.loggedOut)
	p.registerPublic(ui, limit)
	p.registerPasskeys(ui, limit)

	// Everything below needs a signed-in browser.
	in := ui.Group("", p.requireSession, p.passwordFirst)
	in.GET("", p.home)
	in.GET("/", p.home)
	in.GET("/logout", p.home)
	p.registerAccount(in)
	p.registerAdmin(in)
	p.registerInvitations(ui, in, limit)
}

func (p *Pages) headers(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", csp)
		h.Set(echo.HeaderCacheControl, "no-store")
		return next(c)
	}
}

// view is what a page template reads.
type view struct {
	Title   string
	CSRF    string
	Error   string
	Message string
	// Nav is the signed-in user, for the navigation bar; nil on public
	// pages.
	Nav *nav
	// Fields are error messages next to the named inputs.
	Fields map[string]string
	// Form is what was typed, for a page shown again with errors.
	Form map[string]string

	// The sign-in pages'.
	AuthRequest string
	Client      string
	Login       string
	Ticket      string
	User        string
	Scopes      []string
	Next        string

	// Data is the page's own.
	Data any
}

// nav is the signed-in user as the navigation bar shows them.
type nav struct {
	Email string
	Admin bool
}

func (p *Pages) render(c echo.Context, status int, page string, v view) error {
	if tok, ok := c.Get("csrf").(string); ok {
		v.CSRF = tok
	}
	if v.Nav == nil {
		v.Nav, _ = c.Get(navKey).(*nav)
	}
	if _, ok := p.pages[page]; !ok {
		return fmt.Errorf("no page %q", page)
	}
	var b strings.Builder
	if err := p.pages[page].ExecuteTemplate(&b, "layout", v); err != nil {
		return err
	}
	return c.HTML(status, b.String())
}

// request reads the pending authorization request a page carries ("" is
// none).
func (p *Pages) request(c echo.Context, raw string) (*domain.AuthRequest, error) {
	if raw == "" {
		return nil, nil
	}
	id, err := uuid.Parse(raw)
	if err != nil {
		return nil, domain.ErrAuthRequestNotFound
	}
	r, err := p.d.SignOn.Request(c.Request().Context(), id)
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// requestGone answers a page whose sign-in request is unknown or expired.
func (p *Pages) requestGone(c echo.Context) error {
	return p.render(c, http.StatusBadRequest, "message", view{Title: "Sign in",
		Error: "This sign-in link expired or was already used. Go back to the application and start again."})
}

func (p *Pages) clientName(c echo.Context, r *domain.AuthRequest) string {
	if r == nil {
		return ""
	}
	cl, err := p.d.SignOn.Client(c.Request().Context(), r.ClientID)
	if err != nil {
		return ""
	}
	return cl.Name
}

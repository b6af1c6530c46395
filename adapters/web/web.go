// Package web serves the pages of UMS under /ui/ (server-rendered, no
// JavaScript needed): the hosted sign-in page of the OpenID Connect
// provider first, the console next to it.
package web

import (
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
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

// csp lets pages load only their own stylesheet: no script at all, no
// framing.
const csp = "default-src 'none'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'"

// Provider is the OpenID Connect provider the pages sign users in for.
type Provider interface {
	// Handler serves the provider's endpoints, at Paths.
	Handler() http.Handler
	Paths() []string
	EndSessionPath() string
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
)

// Deps are what the pages need.
type Deps struct {
	Login    *application.Login
	SignOn   *application.SignOn
	Provider Provider
	// Secure marks cookies Secure and gives them the __Host- prefix
	// (production, behind HTTPS).
	Secure bool
	Log    *zap.Logger
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

// New parses the templates.
func New(d Deps) (*Pages, error) {
	p := &Pages{d: d, pages: map[string]*template.Template{}, cookie: "ums_session", csrf: "ums_csrf"}
	if d.Secure {
		p.cookie, p.csrf = "__Host-ums_session", "__Host-ums_csrf"
	}
	for _, name := range []string{"login", "mfa", "consent", "home", "message"} {
		t, err := template.ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		p.pages[name] = t
	}
	return p, nil
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
		TokenLookup: "form:csrf", CookieName: p.csrf, CookiePath: "/", CookieHTTPOnly: true,
		CookieSecure: p.d.Secure, CookieSameSite: http.SameSiteLaxMode, ContextKey: "csrf",
		Skipper: func(c echo.Context) bool { return strings.HasPrefix(c.Request().URL.Path, "/ui/static/") },
	}))
	limit := p.d.Limit
	if limit == nil {
		limit = func(next echo.HandlerFunc) echo.HandlerFunc { return next }
	}
	ui.GET("", p.home)
	ui.GET("/", p.home)
	ui.GET("/login", p.loginPage)
	ui.POST("/login", p.login, limit)
	ui.POST("/login/mfa", p.loginMFA, limit)
	ui.POST("/consent", p.consent)
	ui.GET("/logout", p.home)
	ui.POST("/logout", p.logout)
	ui.GET("/logged-out", p.loggedOut)
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
	Title       string
	CSRF        string
	AuthRequest string
	Client      string
	Login       string
	Error       string
	Message     string
	Ticket      string
	User        string
	Scopes      []string
}

func (p *Pages) render(c echo.Context, status int, page string, v view) error {
	if tok, ok := c.Get("csrf").(string); ok {
		v.CSRF = tok
	}
	var b strings.Builder
	if err := p.pages[page].ExecuteTemplate(&b, "layout", v); err != nil {
		return err
	}
	return c.HTML(status, b.String())
}

// session is the browser's signed-in session, if any.
func (p *Pages) session(c echo.Context) (application.BrowserSession, bool, error) {
	ck, err := c.Cookie(p.cookie)
	if err != nil {
		return application.BrowserSession{}, false, nil
	}
	return p.d.SignOn.BrowserSession(c.Request().Context(), ck.Value)
}

func (p *Pages) setSession(c echo.Context, value string, exp time.Time) {
	c.SetCookie(&http.Cookie{Name: p.cookie, Value: value, Path: "/", Expires: exp, MaxAge: int(time.Until(exp).Seconds()),
		HttpOnly: true, Secure: p.d.Secure, SameSite: http.SameSiteLaxMode})
}

func (p *Pages) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: p.cookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: p.d.Secure, SameSite: http.SameSiteLaxMode})
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

func (p *Pages) home(c echo.Context) error {
	bs, ok, err := p.session(c)
	if err != nil {
		return err
	}
	if !ok {
		return c.Redirect(http.StatusSeeOther, PathLogin)
	}
	claims, err := p.d.SignOn.Claims(c.Request().Context(), bs.UserID, false)
	if err != nil {
		return err
	}
	return p.render(c, http.StatusOK, "home", view{Title: "Your account", User: claims.Email})
}

func (p *Pages) loginPage(c echo.Context) error {
	raw := c.QueryParam("auth_request")
	r, err := p.request(c, raw)
	if err != nil {
		if domain.KindOf(err) == domain.KindNotFound {
			return p.requestGone(c)
		}
		return err
	}
	bs, ok, err := p.session(c)
	if err != nil {
		return err
	}
	if r == nil {
		if ok {
			return c.Redirect(http.StatusSeeOther, "/ui/")
		}
		return p.render(c, http.StatusOK, "login", view{Title: "Sign in"})
	}
	if ok && r.AcceptsSignIn(bs.AuthTime, time.Now()) {
		return p.proceed(c, *r, bs)
	}
	if r.PromptsFor("none") {
		p.d.Provider.RedirectError(c.Response(), c.Request(), *r, "login_required", "the user is not signed in")
		return nil
	}
	return p.render(c, http.StatusOK, "login", view{Title: "Sign in", AuthRequest: raw, Client: p.clientName(c, r), Login: r.LoginHint})
}

func (p *Pages) login(c echo.Context) error {
	raw := c.FormValue("auth_request")
	r, err := p.request(c, raw)
	if err != nil {
		if domain.KindOf(err) == domain.KindNotFound {
			return p.requestGone(c)
		}
		return err
	}
	login := c.FormValue("login")
	pair, ticket, err := p.d.Login.Begin(c.Request().Context(), application.LoginInput{Login: login, Password: c.FormValue("password")})
	if errors.Is(err, domain.ErrMFARequired) && ticket != "" {
		return p.render(c, http.StatusOK, "mfa", view{Title: "Two-step verification", AuthRequest: raw, Ticket: ticket})
	}
	if err != nil {
		status, msg, ferr := failure(c, err)
		if ferr != nil {
			return ferr
		}
		return p.render(c, status, "login", view{Title: "Sign in", AuthRequest: raw, Client: p.clientName(c, r), Login: login, Error: msg})
	}
	return p.signedIn(c, r, pair, application.AMRPassword)
}

func (p *Pages) loginMFA(c echo.Context) error {
	raw := c.FormValue("auth_request")
	r, err := p.request(c, raw)
	if err != nil {
		if domain.KindOf(err) == domain.KindNotFound {
			return p.requestGone(c)
		}
		return err
	}
	ticket := c.FormValue("mfa_ticket")
	pair, err := p.d.Login.Finish(c.Request().Context(), ticket, c.FormValue("mfa_code"))
	if err != nil {
		status, msg, ferr := failure(c, err)
		if ferr != nil {
			return ferr
		}
		if errors.Is(err, application.ErrMFATicketInvalid) {
			return p.render(c, status, "login", view{Title: "Sign in", AuthRequest: raw, Client: p.clientName(c, r), Error: msg})
		}
		return p.render(c, status, "mfa", view{Title: "Two-step verification", AuthRequest: raw, Ticket: ticket, Error: msg})
	}
	return p.signedIn(c, r, pair, application.AMRPasswordOTP)
}

// failure turns a refused sign-in into a status and a message that never
// tells whether the account exists; an error it does not know is returned
// for the error page.
func failure(c echo.Context, err error) (int, string, error) {
	var de *domain.Error
	errors.As(err, &de)
	if de != nil && de.RetryAfter > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(de.RetryAfter.Round(time.Second).Seconds())))
	}
	switch {
	case errors.Is(err, domain.ErrInvalidCredentials):
		return http.StatusUnauthorized, "The login or password is wrong.", nil
	case errors.Is(err, domain.ErrInvalidMFACode):
		return http.StatusUnauthorized, "That code is wrong or was already used.", nil
	case errors.Is(err, application.ErrMFATicketInvalid):
		return http.StatusUnauthorized, "The sign-in took too long or the account changed. Sign in again.", nil
	case errors.Is(err, domain.ErrEmailNotVerified):
		return http.StatusForbidden, "Verify your email address first: follow the link we mailed you.", nil
	case domain.KindOf(err) == domain.KindRateLimited:
		return http.StatusTooManyRequests, "Too many attempts. Wait a while, then try again.", nil
	case domain.KindOf(err) == domain.KindUnavailable:
		return http.StatusServiceUnavailable, "The service is busy. Try again in a moment.", nil
	case domain.KindOf(err) == domain.KindInvalid:
		return http.StatusUnprocessableEntity, "Enter your email or username and your password.", nil
	}
	return 0, "", err
}

func (p *Pages) signedIn(c echo.Context, r *domain.AuthRequest, pair application.TokenPair, amr []string) error {
	value, bs, err := p.d.SignOn.OpenBrowserSession(c.Request().Context(), pair, amr)
	if err != nil {
		return err
	}
	p.setSession(c, value, bs.ExpiresAt)
	if r == nil {
		return c.Redirect(http.StatusSeeOther, "/ui/")
	}
	return p.proceed(c, *r, bs)
}

// proceed finishes a request for a signed-in browser: consent when the
// client needs it, then back to the library for the code.
func (p *Pages) proceed(c echo.Context, r domain.AuthRequest, bs application.BrowserSession) error {
	ctx := c.Request().Context()
	need, err := p.d.SignOn.NeedsConsent(ctx, r, bs.UserID)
	if err != nil {
		return err
	}
	if need {
		if r.PromptsFor("none") {
			p.d.Provider.RedirectError(c.Response(), c.Request(), r, "consent_required", "the user has not consented")
			return nil
		}
		claims, err := p.d.SignOn.Claims(ctx, bs.UserID, false)
		if err != nil {
			return err
		}
		return p.render(c, http.StatusOK, "consent", view{Title: "Allow access?", AuthRequest: r.ID.String(),
			Client: p.clientName(c, &r), User: claims.Email, Scopes: describeScopes(r.Scopes)})
	}
	if err := p.d.SignOn.Approve(ctx, r, bs, false); err != nil {
		if domain.KindOf(err) == domain.KindNotFound {
			return p.requestGone(c)
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, p.d.Provider.CallbackURL(r.ID.String()))
}

func (p *Pages) consent(c echo.Context) error {
	r, err := p.request(c, c.FormValue("auth_request"))
	if err != nil || r == nil {
		if err == nil || domain.KindOf(err) == domain.KindNotFound {
			return p.requestGone(c)
		}
		return err
	}
	bs, ok, err := p.session(c)
	if err != nil {
		return err
	}
	if !ok {
		return c.Redirect(http.StatusSeeOther, PathLogin+"?auth_request="+r.ID.String())
	}
	if c.FormValue("decision") != "allow" {
		p.d.Provider.RedirectError(c.Response(), c.Request(), *r, "access_denied", "the user refused")
		return nil
	}
	if err := p.d.SignOn.Approve(c.Request().Context(), *r, bs, true); err != nil {
		if domain.KindOf(err) == domain.KindNotFound {
			return p.requestGone(c)
		}
		return err
	}
	return c.Redirect(http.StatusSeeOther, p.d.Provider.CallbackURL(r.ID.String()))
}

func (p *Pages) logout(c echo.Context) error {
	bs, ok, err := p.session(c)
	if err != nil {
		return err
	}
	if ok {
		if err := p.d.SignOn.SignOutBrowser(c.Request().Context(), bs); err != nil {
			return err
		}
	}
	p.clearSession(c.Response())
	return c.Redirect(http.StatusSeeOther, PathLoggedOut)
}

func (p *Pages) loggedOut(c echo.Context) error {
	return p.render(c, http.StatusOK, "message", view{Title: "Signed out", Message: "You are signed out."})
}

// endSession is the provider's RP-initiated logout, which also signs the
// browser out when the library accepted the request (it answers with a
// redirect).
func (p *Pages) endSession(next http.Handler) echo.HandlerFunc {
	return func(c echo.Context) error {
		bs, ok, err := p.session(c)
		if err != nil {
			return err
		}
		w := &logoutWriter{ResponseWriter: c.Response()}
		w.onRedirect = func() {
			p.clearSession(w.ResponseWriter)
			if ok {
				w.err = p.d.SignOn.SignOutBrowser(c.Request().Context(), bs)
			}
		}
		next.ServeHTTP(w, c.Request())
		if w.err != nil {
			p.d.Log.Error("end session: browser sign-out failed", zap.Error(w.err))
		}
		return nil
	}
}

type logoutWriter struct {
	http.ResponseWriter
	onRedirect func()
	wrote      bool
	err        error
}

func (w *logoutWriter) WriteHeader(code int) {
	if !w.wrote && code >= 300 && code < 400 {
		w.onRedirect()
	}
	w.wrote = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *logoutWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

var scopeText = map[string]string{
	"openid":         "Know who you are",
	"profile":        "See your name and username",
	"email":          "See your email address",
	"offline_access": "Stay signed in when you are away",
	"orgs":           "See your organizations and your roles in them",
}

func describeScopes(scopes []string) []string {
	out := make([]string, 0, len(scopes))
	for _, s := range scopes {
		if t, ok := scopeText[s]; ok {
			out = append(out, t)
		}
	}
	return out
}

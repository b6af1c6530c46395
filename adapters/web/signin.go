package web

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/domain"
)

func (p *Pages) home(c echo.Context) error {
	return p.render(c, http.StatusOK, "home", view{Title: "UMS console"})
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
	next := safeNext(c.QueryParam("next"))
	if r == nil {
		if ok && c.QueryParam("reauth") != "1" {
			return c.Redirect(http.StatusSeeOther, orHome(next))
		}
		v := view{Title: "Sign in", Next: next}
		if ok {
			v.Message = "Confirm it is you: enter your password again."
		}
		return p.render(c, http.StatusOK, "login", v)
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
	login, next := c.FormValue("login"), safeNext(c.FormValue("next"))
	pair, ticket, err := p.d.Login.Begin(c.Request().Context(), application.LoginInput{Login: login, Password: c.FormValue("password")})
	if errors.Is(err, domain.ErrMFARequired) && ticket != "" {
		return p.render(c, http.StatusOK, "mfa", view{Title: "Two-step verification", AuthRequest: raw, Ticket: ticket, Next: next})
	}
	if err != nil {
		status, msg, ferr := failure(c, err)
		if ferr != nil {
			return ferr
		}
		return p.render(c, status, "login", view{Title: "Sign in", AuthRequest: raw, Client: p.clientName(c, r), Login: login,
			Error: msg, Next: next})
	}
	return p.signedIn(c, r, pair, application.AMRPassword, next)
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
	ticket, next := c.FormValue("mfa_ticket"), safeNext(c.FormValue("next"))
	pair, err := p.d.Login.Finish(c.Request().Context(), ticket, c.FormValue("mfa_code"))
	if err != nil {
		status, msg, ferr := failure(c, err)
		if ferr != nil {
			return ferr
		}
		if errors.Is(err, application.ErrMFATicketInvalid) {
			return p.render(c, status, "login", view{Title: "Sign in", AuthRequest: raw, Client: p.clientName(c, r), Error: msg, Next: next})
		}
		return p.render(c, status, "mfa", view{Title: "Two-step verification", AuthRequest: raw, Ticket: ticket, Error: msg, Next: next})
	}
	return p.signedIn(c, r, pair, application.AMRPasswordOTP, next)
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

func (p *Pages) signedIn(c echo.Context, r *domain.AuthRequest, pair application.TokenPair, amr []string, next string) error {
	// A browser signing in again (re-authentication, another account)
	// leaves its earlier session behind: end it.
	if old, ok, err := p.session(c); err == nil && ok {
		if err := p.d.SignOn.SignOutBrowser(c.Request().Context(), old); err != nil {
			return err
		}
	}
	value, bs, err := p.d.SignOn.OpenBrowserSession(c.Request().Context(), pair, amr)
	if err != nil {
		return err
	}
	p.setSession(c, value, bs.ExpiresAt)
	if r == nil {
		return c.Redirect(http.StatusSeeOther, orHome(next))
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
		if err := p.d.Provider.CheckEndSession(c.Request()); err != nil {
			return domain.Invalid(domain.FieldError{Field: "request", Code: "malformed", Message: "the logout request could not be read"})
		}
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

// orHome is next, or the console's home page.
func orHome(next string) string {
	if next == "" {
		return PathHome
	}
	return next
}

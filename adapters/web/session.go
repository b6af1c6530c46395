package web

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/domain"
)

// Context keys the session middleware sets.
const (
	sessionKey = "ums.browser_session"
	navKey     = "ums.nav"
)

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

// requireSession lets only a signed-in browser through: it loads the
// session (unrevoked, account active, not idle for longer than the idle
// timeout), renews the cookie's idle clock, and sets what the pages read.
// Anyone else is sent to sign in and brought back afterwards.
func (p *Pages) requireSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		bs, ok, err := p.session(c)
		if err != nil {
			return err
		}
		now := time.Now()
		if ok && now.Sub(bs.SeenAt) > p.d.IdleTimeout {
			// Idle too long: the session ends, as if signed out.
			if err := p.d.SignOn.SignOutBrowser(c.Request().Context(), bs); err != nil {
				return err
			}
			ok = false
		}
		if !ok {
			p.clearSession(c.Response())
			return c.Redirect(http.StatusSeeOther, PathLogin+"?next="+url.QueryEscape(c.Request().URL.RequestURI()))
		}
		if now.Sub(bs.SeenAt) > time.Minute {
			value, renewed, err := p.d.SignOn.RenewBrowserSession(bs)
			if err != nil {
				return err
			}
			p.setSession(c, value, renewed.ExpiresAt)
			bs = renewed
		}
		u, err := p.d.Profiles.Me(c.Request().Context(), bs.UserID)
		if err != nil {
			return err
		}
		c.Set(sessionKey, bs)
		c.Set(navKey, &nav{Email: u.Email().String(), Admin: u.IsSystemAdmin()})
		return next(c)
	}
}

// browserSession is the session requireSession loaded.
func browserSession(c echo.Context) application.BrowserSession {
	bs, _ := c.Get(sessionKey).(application.BrowserSession)
	return bs
}

// principal is who the signed-in browser is, as the use cases take it.
func principal(c echo.Context) domain.Principal {
	bs := browserSession(c)
	return domain.Principal{UserID: bs.UserID, SessionID: bs.SessionID}
}

// recentSignIn reports whether the browser signed in recently enough for
// a sensitive action; otherwise it sends it to sign in again (the form
// asks for the password even though the browser has a session) and back.
func (p *Pages) recentSignIn(c echo.Context, back string) (bool, error) {
	if time.Since(browserSession(c).AuthTime) <= p.d.ReauthAfter {
		return true, nil
	}
	return false, c.Redirect(http.StatusSeeOther, PathLogin+"?reauth=1&next="+url.QueryEscape(back))
}

// safeNext keeps a return address only when it is one of the console's own
// pages: anything else would make sign-in an open redirect.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/ui/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.IsAbs() || u.Host != "" {
		return ""
	}
	return next
}

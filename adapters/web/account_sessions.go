package web

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/ums-project/ums/domain"
)

type sessionRow struct {
	ID         string
	Device     string
	UserAgent  string
	IP         string
	CreatedAt  time.Time
	LastUsedAt time.Time
	ExpiresAt  time.Time
	// This is the browser looking at the page.
	This bool
}

type sessionsData struct {
	accountPage
	Sessions []sessionRow
	// Others is whether any session but this browser's is open.
	Others bool
}

func (p *Pages) sessionsPage(c echo.Context) error {
	return p.showSessions(c, http.StatusOK, view{Message: okMessage(c, map[string]string{
		"revoked": "The session is signed out.",
		"others":  "Every other session is signed out.",
	})})
}

func (p *Pages) showSessions(c echo.Context, status int, v view) error {
	list, err := p.d.Sessions.List(c.Request().Context(), principal(c))
	if err != nil {
		return err
	}
	this := browserSession(c).SessionID
	d := sessionsData{accountPage: p.accountPage(PathAccount + "/sessions")}
	for _, s := range list {
		row := sessionRow{ID: s.ID.String(), Device: deviceName(s.UserAgent), UserAgent: s.UserAgent, IP: s.IP,
			CreatedAt: s.CreatedAt, LastUsedAt: s.LastUsedAt, ExpiresAt: s.ExpiresAt, This: s.ID == this}
		if row.This {
			// This browser first.
			d.Sessions = append([]sessionRow{row}, d.Sessions...)
			continue
		}
		d.Others = true
		d.Sessions = append(d.Sessions, row)
	}
	v.Title, v.Data = "Sessions", d
	return p.render(c, status, "account_sessions", v)
}

// sessionRevoke signs one session out, as the API's DELETE
// /me/sessions/{id}; this browser's own signs it out.
func (p *Pages) sessionRevoke(c echo.Context) error {
	id, err := uuid.Parse(c.FormValue("session"))
	if err != nil {
		return p.showSessions(c, http.StatusNotFound, view{Error: "That session is already signed out."})
	}
	err = p.d.Sessions.Revoke(c.Request().Context(), principal(c), id)
	if errors.Is(err, domain.ErrSessionNotFound) {
		return p.showSessions(c, http.StatusNotFound, view{Error: "That session is already signed out."})
	}
	if err != nil {
		return err
	}
	if id == browserSession(c).SessionID {
		p.clearSession(c.Response())
		return c.Redirect(http.StatusSeeOther, PathLoggedOut)
	}
	return seeOther(c, PathAccount+"/sessions", "revoked")
}

// sessionsRevokeOthers signs out every session but this browser's, one by
// one as the API's DELETE /me/sessions/{id} would (each audited).
func (p *Pages) sessionsRevokeOthers(c echo.Context) error {
	ctx, pr := c.Request().Context(), principal(c)
	list, err := p.d.Sessions.List(ctx, pr)
	if err != nil {
		return err
	}
	for _, s := range list {
		if s.ID == pr.SessionID {
			continue
		}
		// One that ended meanwhile is as good as revoked.
		if err := p.d.Sessions.Revoke(ctx, pr, s.ID); err != nil && !errors.Is(err, domain.ErrSessionNotFound) {
			return err
		}
	}
	return seeOther(c, PathAccount+"/sessions", "others")
}

// sessionsRevokeAll is the API's logout-all: every session ends, this
// browser's included.
func (p *Pages) sessionsRevokeAll(c echo.Context) error {
	if err := p.d.Sessions.LogoutAll(c.Request().Context(), principal(c)); err != nil {
		return err
	}
	p.clearSession(c.Response())
	return c.Redirect(http.StatusSeeOther, PathLoggedOut)
}

// deviceName is a person's name for the browser or program behind a
// user agent: "Firefox on Linux".
func deviceName(ua string) string {
	if strings.TrimSpace(ua) == "" {
		return "Unknown device"
	}
	browser := ""
	for _, b := range []struct{ token, name string }{
		{"Edg/", "Edge"}, {"OPR/", "Opera"}, {"Firefox/", "Firefox"}, {"Chromium/", "Chromium"}, {"Chrome/", "Chrome"},
		{"Safari/", "Safari"}, {"curl/", "curl"}, {"Go-http-client/", "Go program"}, {"python-requests/", "Python program"},
	} {
		if strings.Contains(ua, b.token) {
			browser = b.name
			break
		}
	}
	system := ""
	for _, s := range []struct{ token, name string }{
		{"Android", "Android"}, {"iPhone", "iOS"}, {"iPad", "iPadOS"}, {"CrOS", "ChromeOS"}, {"Windows", "Windows"},
		{"Macintosh", "macOS"}, {"Mac OS X", "macOS"}, {"Linux", "Linux"},
	} {
		if strings.Contains(ua, s.token) {
			system = s.name
			break
		}
	}
	switch {
	case browser != "" && system != "":
		return browser + " on " + system
	case browser != "":
		return browser
	case system != "":
		return "A browser on " + system
	}
	name, _, _ := strings.Cut(ua, "/")
	name, _, _ = strings.Cut(name, " ")
	return name
}

type consentRow struct {
	ClientID, ClientName string
	Scopes               []string
	GrantedAt            time.Time
}

type consentsData struct {
	accountPage
	Consents []consentRow
}

func (p *Pages) consentsPage(c echo.Context) error {
	return p.showConsents(c, http.StatusOK, view{Message: okMessage(c, map[string]string{
		"withdrawn": "Your consent is withdrawn: the application asks again at its next sign-in.",
	})})
}

func (p *Pages) showConsents(c echo.Context, status int, v view) error {
	list, err := p.d.OAuthClients.Consents(c.Request().Context(), principal(c))
	if err != nil {
		return err
	}
	d := consentsData{accountPage: p.accountPage(PathAccount + "/consents")}
	for _, cv := range list {
		name := cv.ClientName
		if name == "" {
			name = cv.ClientID
		}
		d.Consents = append(d.Consents, consentRow{ClientID: cv.ClientID, ClientName: name,
			Scopes: describeScopes(cv.Scopes), GrantedAt: cv.GrantedAt})
	}
	v.Title, v.Data = "Applications", d
	return p.render(c, status, "account_consents", v)
}

// consentWithdraw is the API's DELETE /me/consents/{client_id}.
func (p *Pages) consentWithdraw(c echo.Context) error {
	err := p.d.OAuthClients.RevokeConsent(c.Request().Context(), principal(c), c.FormValue("client_id"))
	if errors.Is(err, domain.ErrConsentNotFound) {
		return p.showConsents(c, http.StatusNotFound, view{Error: "That consent is already withdrawn."})
	}
	if err != nil {
		return err
	}
	return seeOther(c, PathAccount+"/consents", "withdrawn")
}

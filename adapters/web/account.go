package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// Where the signed-in user's own pages live.
const (
	PathAccount         = "/ui/account"
	PathAccountPassword = "/ui/account/password"
)

// registerAccount adds the signed-in user's own pages under /ui/account.
// Each calls the use case the API's /me, /auth/... and /me/... routes
// call, under the same policy and audit. A user whose password must be
// changed sees only the password page until it is.
func (p *Pages) registerAccount(in *echo.Group) {
	a := in.Group("/account", p.passwordFirst)
	a.GET("", p.accountOverview)
	a.GET("/", p.accountOverview)
	a.GET("/profile", p.profilePage)
	a.POST("/profile", p.profileSave)
	a.GET("/password", p.passwordPage)
	a.POST("/password", p.passwordChange)
	a.GET("/email", p.emailPage)
	a.POST("/email", p.emailChange, p.limitOrNone())
	a.POST("/email/resend", p.emailResend, p.limitOrNone())
	a.GET("/sessions", p.sessionsPage)
	a.POST("/sessions/revoke", p.sessionRevoke)
	a.POST("/sessions/revoke-others", p.sessionsRevokeOthers)
	a.POST("/sessions/revoke-all", p.sessionsRevokeAll)
	a.GET("/mfa", p.mfaPage)
	a.POST("/mfa/setup", p.mfaSetup)
	a.POST("/mfa/activate", p.mfaActivate)
	a.POST("/mfa/disable", p.mfaDisable)
	if p.d.Passkeys != nil {
		p.registerAccountPasskeys(a)
	}
	if p.d.Tokens != nil {
		p.registerAccountTokens(a)
	}
	a.GET("/export", p.exportPage)
	a.POST("/export", p.exportDownload)
	a.GET("/delete", p.deletePage)
	a.POST("/delete", p.deleteAccount)
	if p.d.OAuthClients != nil {
		a.GET("/consents", p.consentsPage)
		a.POST("/consents/withdraw", p.consentWithdraw)
	}
}

// limitOrNone is the API's login rate limit, for the account posts that
// mail (as the API limits them), or nothing when the server set none.
func (p *Pages) limitOrNone() echo.MiddlewareFunc {
	if p.d.Limit != nil {
		return p.d.Limit
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc { return next }
}

// passwordCheckedKey marks a request passwordFirst already let through.
const passwordCheckedKey = "ums.password_checked"

// passwordFirst sends a user whose password change is pending (an
// administrator asked for it, or the password expired) to the password
// page, as the API refuses such a user everything but the change. It is
// idempotent, so it may also guard the whole signed-in group.
func (p *Pages) passwordFirst(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Get(passwordCheckedKey) != nil || c.Request().URL.Path == PathAccountPassword {
			return next(c)
		}
		// The browser's principal carries no token flag: ask the use case
		// to read the account.
		pr := principal(c)
		pr.PasswordChangeRequired = true
		pending, err := p.d.Sessions.PasswordChangeStillRequired(c.Request().Context(), pr)
		if err != nil {
			return err
		}
		if pending {
			return c.Redirect(http.StatusSeeOther, PathAccountPassword)
		}
		c.Set(passwordCheckedKey, true)
		return next(c)
	}
}

// accountTab is one entry of the account pages' own navigation.
type accountTab struct {
	Href, Label string
	Current     bool
}

// accountPage is what every account page's data starts with.
type accountPage struct {
	Tabs []accountTab
}

func (p *Pages) accountPage(current string) accountPage {
	tabs := []accountTab{
		{Href: PathAccount, Label: "Overview"},
		{Href: PathAccount + "/profile", Label: "Profile"},
		{Href: PathAccountPassword, Label: "Password"},
		{Href: PathAccount + "/email", Label: "Email"},
		{Href: PathAccount + "/sessions", Label: "Sessions"},
		{Href: PathAccount + "/mfa", Label: "Two-step verification"},
	}
	if p.d.Passkeys != nil {
		tabs = append(tabs, accountTab{Href: pathPasskeys, Label: "Passkeys"})
	}
	if p.d.Tokens != nil {
		tabs = append(tabs, accountTab{Href: pathTokens, Label: "Access tokens"})
	}
	if p.d.OAuthClients != nil {
		tabs = append(tabs, accountTab{Href: PathAccount + "/consents", Label: "Applications"})
	}
	tabs = append(tabs, accountTab{Href: PathAccount + "/export", Label: "Your data"},
		accountTab{Href: PathAccount + "/delete", Label: "Delete account"})
	for i := range tabs {
		tabs[i].Current = tabs[i].Href == current
	}
	return accountPage{Tabs: tabs}
}

type overviewData struct {
	accountPage
	Email, Username, Name string
	EmailVerified         bool
	MFAEnabled            bool
	PasswordChangedAt     time.Time
	PasswordExpiresAt     *time.Time
	CreatedAt             time.Time
	LastLoginAt           *time.Time
}

func (p *Pages) accountOverview(c echo.Context) error {
	u, err := p.d.Profiles.Me(c.Request().Context(), principal(c).UserID)
	if err != nil {
		return err
	}
	return p.render(c, http.StatusOK, "account_overview", view{Title: "Your account",
		Data: overviewData{accountPage: p.accountPage(PathAccount), Email: u.Email().String(), Username: u.Username().String(),
			Name: strings.TrimSpace(u.FirstName() + " " + u.LastName()), EmailVerified: u.EmailVerified(), MFAEnabled: u.MFAEnabled(),
			PasswordChangedAt: u.PasswordChangedAt(), PasswordExpiresAt: u.PasswordExpiresAt(), CreatedAt: u.CreatedAt(),
			LastLoginAt: u.LastLoginAt()}})
}

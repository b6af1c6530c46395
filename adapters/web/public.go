package web

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/domain"
)

// The public pages. The mailed links open PathReset and PathVerify (with
// ?token=) unless MAIL_LINK_BASE_URL sends them to a web app of its own.
const (
	PathRegister = "/ui/register"
	PathForgot   = "/ui/forgot"
	PathReset    = "/ui/reset"
	PathVerify   = "/ui/verify"
)

// registerPublic adds the pages anyone may open: register, forgot and
// reset password, verify email. Their posts are under limit, the API's
// login rate limit.
func (p *Pages) registerPublic(ui *echo.Group, limit echo.MiddlewareFunc) {
	ui.GET("/register", p.registerPage)
	ui.POST("/register", p.register, limit)
	ui.GET("/forgot", p.forgotPage)
	ui.POST("/forgot", p.forgot, limit)
	ui.GET("/reset", p.resetPage)
	ui.POST("/reset", p.reset, limit)
	// Opening the link only shows a button: mail scanners that fetch
	// links must not spend the token.
	ui.GET("/verify", p.verifyPage)
	ui.POST("/verify", p.verify, limit)
}

var registerInputs = []string{"email", "username", "password", "first_name", "last_name"}

func (p *Pages) registerPage(c echo.Context) error {
	return p.render(c, http.StatusOK, "public_register", view{Title: "Create an account"})
}

// register signs up as the API's register does (same rules, same audit,
// the verification mail). The browser is not signed in: the address is
// proved first where the deployment requires it, and signing in is one
// link away otherwise.
func (p *Pages) register(c echo.Context) error {
	in := application.RegisterInput{Email: c.FormValue("email"), Username: c.FormValue("username"),
		Password: c.FormValue("password"), FirstName: c.FormValue("first_name"), LastName: c.FormValue("last_name")}
	form := map[string]string{"email": in.Email, "username": in.Username, "first_name": in.FirstName, "last_name": in.LastName}
	u, err := p.d.Registration.Register(c.Request().Context(), in)
	if err != nil {
		var f selfFailure
		switch {
		case errors.Is(err, domain.ErrEmailTaken):
			f = selfFailure{status: http.StatusConflict, msg: "Check the fields marked below.",
				fields: map[string]string{"email": "An account with this address already exists. Sign in, or reset its password."}}
		case errors.Is(err, domain.ErrUsernameTaken):
			f = selfFailure{status: http.StatusConflict, msg: "Check the fields marked below.",
				fields: map[string]string{"username": "This username is taken: choose another."}}
		default:
			if f, err = selfRefusal(c, err, registerInputs...); err != nil {
				return err
			}
		}
		return p.render(c, f.status, "public_register", view{Title: "Create an account", Error: f.msg, Fields: f.fields, Form: form})
	}
	return p.render(c, http.StatusOK, "public_notice", view{Title: "Check your mail",
		Message: "We sent a link to " + u.Email().String() + ". Follow it to verify your address, then sign in.",
		Data:    publicNotice{Links: []publicLink{{Href: PathLogin, Text: "Sign in"}}}})
}

func (p *Pages) forgotPage(c echo.Context) error {
	return p.render(c, http.StatusOK, "public_forgot", view{Title: "Forgot your password?"})
}

// forgotAnswer is the one answer to a reset request, whether or not the
// address belongs to an account.
const forgotAnswer = "If the address is registered, a link is on its way. It works once, for a limited time."

func (p *Pages) forgot(c echo.Context) error {
	email := c.FormValue("email")
	if err := p.d.Account.ForgotPassword(c.Request().Context(), email); err != nil {
		f, err := selfRefusal(c, err, "email")
		if err != nil {
			return err
		}
		return p.render(c, f.status, "public_forgot", view{Title: "Forgot your password?", Error: f.msg, Fields: f.fields,
			Form: map[string]string{"email": email}})
	}
	return p.render(c, http.StatusOK, "public_notice", view{Title: "Check your mail", Message: forgotAnswer,
		Data: publicNotice{Links: []publicLink{{Href: PathLogin, Text: "Back to sign in"}}}})
}

// tokenGone is the page of a mailed link that is unknown, used or expired.
func (p *Pages) tokenGone(c echo.Context, title, again string) error {
	links := []publicLink{{Href: PathLogin, Text: "Sign in"}}
	if again != "" {
		links = append([]publicLink{{Href: again, Text: "Ask for a new link"}}, links...)
	}
	return p.render(c, http.StatusBadRequest, "public_notice", view{Title: title,
		Error: "This link is not valid: it expired, was already used, or a newer one replaced it.", Data: publicNotice{Links: links}})
}

type tokenForm struct {
	Token string
}

func (p *Pages) resetPage(c echo.Context) error {
	token := c.QueryParam("token")
	if token == "" {
		return p.tokenGone(c, "Choose a new password", PathForgot)
	}
	return p.render(c, http.StatusOK, "public_reset", view{Title: "Choose a new password", Data: tokenForm{Token: token}})
}

// reset sets the new password with the mailed token. A password the
// policy refuses leaves the token usable, to try another.
func (p *Pages) reset(c echo.Context) error {
	token, next := c.FormValue("token"), c.FormValue("new_password")
	show := func(f selfFailure) error {
		return p.render(c, f.status, "public_reset", view{Title: "Choose a new password", Error: f.msg, Fields: f.fields,
			Data: tokenForm{Token: token}})
	}
	if next != c.FormValue("confirm_password") {
		return show(passwordsDiffer())
	}
	err := p.d.Account.ResetPassword(c.Request().Context(), token, next)
	if errors.Is(err, domain.ErrInvalidToken) {
		return p.tokenGone(c, "Choose a new password", PathForgot)
	}
	if err != nil {
		f, err := selfRefusal(c, err, "new_password")
		if err != nil {
			return err
		}
		return show(f)
	}
	return p.render(c, http.StatusOK, "public_notice", view{Title: "Password changed",
		Message: "Your password is changed and every session of the account is signed out. Sign in with the new password.",
		Data:    publicNotice{Links: []publicLink{{Href: PathLogin, Text: "Sign in"}}}})
}

func (p *Pages) verifyPage(c echo.Context) error {
	token := c.QueryParam("token")
	if token == "" {
		return p.tokenGone(c, "Verify your email address", "")
	}
	return p.render(c, http.StatusOK, "public_verify", view{Title: "Verify your email address", Data: tokenForm{Token: token}})
}

func (p *Pages) verify(c echo.Context) error {
	u, err := p.d.Account.VerifyEmail(c.Request().Context(), c.FormValue("token"))
	if errors.Is(err, domain.ErrInvalidToken) {
		return p.tokenGone(c, "Verify your email address", "")
	}
	if err != nil {
		f, err := selfRefusal(c, err)
		if err != nil {
			return err
		}
		return p.render(c, f.status, "public_notice", view{Title: "Verify your email address", Error: f.msg})
	}
	next := publicLink{Href: PathLogin, Text: "Sign in"}
	if _, ok, err := p.session(c); err == nil && ok {
		next = publicLink{Href: PathAccount, Text: "Back to your account"}
	}
	return p.render(c, http.StatusOK, "public_notice", view{Title: "Email verified",
		Message: u.Email().String() + " is verified.", Data: publicNotice{Links: []publicLink{next}}})
}

package web

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/domain"
)

// okMessage is the fixed confirmation of a page's ?ok= code: never what
// the URL carries.
func okMessage(c echo.Context, texts map[string]string) string { return texts[c.QueryParam("ok")] }

type profileData struct {
	accountPage
	Username string
}

func (p *Pages) profilePage(c echo.Context) error {
	u, err := p.d.Profiles.Me(c.Request().Context(), principal(c).UserID)
	if err != nil {
		return err
	}
	return p.render(c, http.StatusOK, "account_profile", view{Title: "Profile",
		Message: okMessage(c, map[string]string{"saved": "Your profile is saved."}),
		Form:    map[string]string{"first_name": u.FirstName(), "last_name": u.LastName()},
		Data:    profileData{accountPage: p.accountPage(PathAccount + "/profile"), Username: u.Username().String()}})
}

// profileSave changes what the API's PATCH /me changes: the names. The
// username is shown, not changed: no use case changes it.
func (p *Pages) profileSave(c echo.Context) error {
	first, last := c.FormValue("first_name"), c.FormValue("last_name")
	ctx := c.Request().Context()
	_, err := p.d.Profiles.Update(ctx, principal(c).UserID, application.ProfileInput{FirstName: &first, LastName: &last})
	if err == nil {
		return seeOther(c, PathAccount+"/profile", "saved")
	}
	f, err := selfRefusal(c, err, "first_name", "last_name")
	if err != nil {
		return err
	}
	u, err := p.d.Profiles.Me(ctx, principal(c).UserID)
	if err != nil {
		return err
	}
	return p.render(c, f.status, "account_profile", view{Title: "Profile", Error: f.msg, Fields: f.fields,
		Form: map[string]string{"first_name": first, "last_name": last},
		Data: profileData{accountPage: p.accountPage(PathAccount + "/profile"), Username: u.Username().String()}})
}

type passwordData struct {
	accountPage
	// Required is a pending change: nothing else opens until it is done.
	Required bool
	Status   application.PasswordStatus
}

func (p *Pages) passwordView(c echo.Context, v view) (view, error) {
	st, err := p.d.Account.PasswordStatus(c.Request().Context(), principal(c))
	if err != nil {
		return v, err
	}
	v.Title = "Password"
	v.Data = passwordData{accountPage: p.accountPage(PathAccountPassword), Required: st.ChangeRequired, Status: st}
	return v, nil
}

func (p *Pages) passwordPage(c echo.Context) error {
	v, err := p.passwordView(c, view{Message: okMessage(c, map[string]string{
		"changed": "Your password is changed. Your other sessions are signed out."})})
	if err != nil {
		return err
	}
	return p.render(c, http.StatusOK, "account_password", v)
}

// passwordChange is the API's password change: the current password is
// checked under the login throttle, every other session ends, a notice is
// mailed. This browser stays signed in.
func (p *Pages) passwordChange(c echo.Context) error {
	current, next := c.FormValue("current_password"), c.FormValue("new_password")
	var f selfFailure
	if next != c.FormValue("confirm_password") {
		f = passwordsDiffer()
	} else {
		err := p.d.Account.ChangePassword(c.Request().Context(), principal(c), current, next)
		if err == nil {
			return seeOther(c, PathAccountPassword, "changed")
		}
		if f, err = selfRefusal(c, err, "current_password", "new_password"); err != nil {
			return err
		}
	}
	v, err := p.passwordView(c, view{Error: f.msg, Fields: f.fields})
	if err != nil {
		return err
	}
	return p.render(c, f.status, "account_password", v)
}

type emailData struct {
	accountPage
	Email    string
	Verified bool
}

func (p *Pages) emailView(c echo.Context, v view) (view, error) {
	u, err := p.d.Profiles.Me(c.Request().Context(), principal(c).UserID)
	if err != nil {
		return v, err
	}
	v.Title = "Email address"
	v.Data = emailData{accountPage: p.accountPage(PathAccount + "/email"), Email: u.Email().String(), Verified: u.EmailVerified()}
	return v, nil
}

func (p *Pages) emailPage(c echo.Context) error {
	v, err := p.emailView(c, view{Message: okMessage(c, map[string]string{
		"sent":   "We mailed a link to the new address. Your address changes when you follow it; the current one was told.",
		"resent": "Unless the address is already verified, a new link is on its way.",
	})})
	if err != nil {
		return err
	}
	return p.render(c, http.StatusOK, "account_email", v)
}

// emailChange starts a change of address as the API does: the password
// is checked, the new address gets a link, the current one a notice.
func (p *Pages) emailChange(c echo.Context) error {
	newEmail := c.FormValue("new_email")
	err := p.d.Account.ChangeEmail(c.Request().Context(), principal(c), newEmail, c.FormValue("password"))
	if err == nil {
		return seeOther(c, PathAccount+"/email", "sent")
	}
	var f selfFailure
	if errors.Is(err, domain.ErrEmailTaken) {
		f = selfFailure{status: http.StatusConflict, msg: "Check the fields marked below.",
			fields: map[string]string{"new_email": "Another account uses this address."}}
	} else if f, err = selfRefusal(c, err, "new_email", "password"); err != nil {
		return err
	}
	v, err := p.emailView(c, view{Error: f.msg, Fields: f.fields, Form: map[string]string{"new_email": newEmail}})
	if err != nil {
		return err
	}
	return p.render(c, f.status, "account_email", v)
}

func (p *Pages) emailResend(c echo.Context) error {
	err := p.d.Account.ResendVerification(c.Request().Context(), principal(c))
	if err == nil {
		return seeOther(c, PathAccount+"/email", "resent")
	}
	f, err := selfRefusal(c, err)
	if err != nil {
		return err
	}
	v, err := p.emailView(c, view{Error: f.msg})
	if err != nil {
		return err
	}
	return p.render(c, f.status, "account_email", v)
}

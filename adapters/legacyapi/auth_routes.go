package legacyapi

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/domain"
)

// userJSON is u as the old API shows it, under its integer id.
func (a *API) userJSON(ctx context.Context, u *domain.User) (userObject, error) {
	id, err := a.ids.old(ctx, legacyUser, u.ID())
	if err != nil {
		return userObject{}, err
	}
	return newUserObject(u, id), nil
}

type userEnvelope struct {
	Message string     `json:"message,omitempty"`
	User    userObject `json:"user"`
}

func (a *API) register(c echo.Context) error {
	f, err := a.bindSchema(c, "username", "email", "password", "first_name", "last_name")
	if err != nil {
		return err
	}
	username, _ := f.str("username", true, 3, 80)
	email, _ := f.str("email", true, 0, 0)
	password, _ := f.str("password", true, 6, 0)
	first, _ := f.str("first_name", false, 0, 50)
	last, _ := f.str("last_name", false, 0, 50)
	if err := f.err(); err != nil {
		return err
	}
	ctx := c.Request().Context()
	u, err := a.svc.Registration.Register(ctx, application.RegisterInput{Email: email, Username: username,
		Password: password, FirstName: first, LastName: last})
	switch {
	case errors.Is(err, domain.ErrEmailTaken):
		return fieldErrors(map[string][]string{"email": {"Email already exists."}})
	case errors.Is(err, domain.ErrUsernameTaken):
		return fieldErrors(map[string][]string{"username": {"Username already exists."}})
	case err != nil:
		return err
	}
	obj, err := a.userJSON(ctx, u)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, userEnvelope{Message: "User registered successfully", User: obj})
}

type loginAnswer struct {
	AccessToken  string     `json:"access_token"`
	Message      string     `json:"message"`
	RefreshToken string     `json:"refresh_token"`
	User         userObject `json:"user"`
}

func (a *API) login(c echo.Context) error {
	// mfa_code is the one addition: imported accounts keep their TOTP.
	f, err := a.bindSchema(c, "username", "password", "mfa_code")
	if err != nil {
		return err
	}
	username, _ := f.str("username", true, 0, 0)
	password, _ := f.str("password", true, 0, 0)
	code, _ := f.str("mfa_code", false, 0, 0)
	if err := f.err(); err != nil {
		return err
	}
	ctx := c.Request().Context()
	pair, err := a.svc.Login.Login(ctx, application.LoginInput{Login: username, Password: password, MFACode: code})
	if err != nil {
		return loginError(err)
	}
	p, err := a.svc.Sessions.Authenticate(ctx, pair.AccessToken)
	if err != nil {
		return err
	}
	u, err := a.svc.Profiles.Me(ctx, p.UserID)
	if err != nil {
		return err
	}
	if pair.PasswordChangeRequired {
		// The old service let nobody in whose password had to change; the
		// session just opened is closed again.
		if err := a.svc.Sessions.Logout(ctx, p); err != nil {
			return err
		}
		if u.PasswordExpired(time.Now()) {
			return &oldError{status: http.StatusForbidden, body: struct {
				Error           string `json:"error"`
				Message         string `json:"message"`
				PasswordExpired bool   `json:"password_expired"`
			}{"Password expired", "Your password has expired. Please reset your password.", true}}
		}
		return &oldError{status: http.StatusForbidden, body: passwordChangeBody()}
	}
	obj, err := a.userJSON(ctx, u)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, loginAnswer{AccessToken: pair.AccessToken, Message: "Login successful",
		RefreshToken: pair.RefreshToken, User: obj})
}

// loginError words a refused login as the old service did.
func loginError(err error) error {
	var de *domain.Error
	switch {
	case errors.Is(err, domain.ErrInvalidCredentials):
		return failure(http.StatusUnauthorized, "Invalid username or password")
	case errors.As(err, &de) && de.Code == "login_locked":
		oe := fromDomain(de)
		oe.status, oe.body = http.StatusForbidden, errorBody{Error: "Account is locked. Please try again later or reset your password."}
		return oe
	case errors.Is(err, domain.ErrMFARequired):
		return &oldError{status: http.StatusUnauthorized, body: struct {
			Error       string `json:"error"`
			MFARequired bool   `json:"mfa_required"`
		}{"Two-factor code required: send mfa_code with the login", true}}
	case errors.Is(err, domain.ErrInvalidMFACode):
		return failure(http.StatusUnauthorized, "Invalid two-factor code")
	case errors.Is(err, domain.ErrEmailNotVerified):
		return failure(http.StatusForbidden, "Email address not verified")
	}
	return err
}

type accessAnswer struct {
	AccessToken string `json:"access_token"`
}

// refresh takes the refresh token as the Bearer and answers only a new
// access token, as the old route did: a UMS refresh token is not rotated
// (old clients never store a new one), an old one is exchanged for a UMS
// session, and an access token is refused with the old message.
func (a *API) refresh(c echo.Context) error {
	token, err := bearerToken(c)
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	grant, err := a.svc.Sessions.AccessFromRefresh(ctx, token)
	if errors.Is(err, domain.ErrInvalidToken) && strings.Count(token, ".") == 2 {
		if _, aerr := a.svc.Sessions.Authenticate(ctx, token); aerr == nil {
			return application.ErrAccessTokenNotAllowed
		}
		if a.svc.LegacyAuth != nil {
			grant, err = a.svc.LegacyAuth.Refresh(ctx, token)
		}
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, accessAnswer{AccessToken: grant.AccessToken})
}

func (a *API) me(c echo.Context) error {
	ctx := c.Request().Context()
	u, err := a.svc.Profiles.Me(ctx, principal(c).UserID)
	if err != nil {
		return err
	}
	obj, err := a.userJSON(ctx, u)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, userEnvelope{User: obj})
}

func (a *API) forgotPassword(c echo.Context) error {
	f, err := a.bindLoose(c)
	if err != nil {
		return err
	}
	email := f.text("email")
	if email == "" {
		return failure(http.StatusBadRequest, "Email is required")
	}
	// The old service did not check the format; a malformed address is
	// answered like an unknown one.
	if err := a.svc.Account.ForgotPassword(c.Request().Context(), email); err != nil && domain.KindOf(err) != domain.KindInvalid {
		return err
	}
	return c.JSON(http.StatusOK, message{Message: "If the email exists, a reset link has been sent"})
}

func (a *API) resetPassword(c echo.Context) error {
	f, err := a.bindLoose(c)
	if err != nil {
		return err
	}
	token, next := f.text("token"), f.text("new_password")
	switch {
	case token == "" || next == "":
		return failure(http.StatusBadRequest, "Token and new password are required")
	case len([]rune(next)) < 6:
		return failure(http.StatusBadRequest, "Password must be at least 6 characters")
	}
	err = a.svc.Account.ResetPassword(c.Request().Context(), token, next)
	if errors.Is(err, domain.ErrInvalidToken) {
		return failure(http.StatusBadRequest, "Invalid or expired token")
	}
	if err != nil {
		return passwordRuleError(err)
	}
	return c.JSON(http.StatusOK, message{Message: "Password reset successfully"})
}

func (a *API) changePassword(c echo.Context) error {
	f, err := a.bindLoose(c)
	if err != nil {
		return err
	}
	current, next := f.text("current_password"), f.text("new_password")
	switch {
	case current == "" || next == "":
		return failure(http.StatusBadRequest, "Current and new passwords are required")
	case len([]rune(next)) < 6:
		return failure(http.StatusBadRequest, "Password must be at least 6 characters")
	}
	err = a.svc.Account.ChangePassword(c.Request().Context(), principal(c), current, next)
	if fieldCode(err, "current_password") == "incorrect" {
		return failure(http.StatusUnauthorized, "Current password is incorrect")
	}
	if err != nil {
		return passwordRuleError(err)
	}
	return c.JSON(http.StatusOK, message{Message: "Password changed successfully"})
}

// passwordRuleError words UMS's password policy the old way: one
// {"error": …} with the first broken rule.
func passwordRuleError(err error) error {
	var de *domain.Error
	if !errors.As(err, &de) || de.Kind != domain.KindInvalid || len(de.Fields) == 0 {
		return err
	}
	if de.Fields[0].Code == "password_reused" {
		return &oldError{status: http.StatusBadRequest, body: struct {
			Error   string `json:"error"`
			Message string `json:"message"`
		}{"Password was used previously", "Please choose a password you have not used before (last 5 passwords are blocked)"}}
	}
	return failure(http.StatusBadRequest, "Password "+de.Fields[0].Message)
}

// fieldCode is the code of a validation error's first error on field.
func fieldCode(err error, field string) string {
	var de *domain.Error
	if errors.As(err, &de) && de.Kind == domain.KindInvalid {
		for _, f := range de.Fields {
			if f.Field == field {
				return f.Code
			}
		}
	}
	return ""
}

func (a *API) changeEmail(c echo.Context) error {
	f, err := a.bindLoose(c)
	if err != nil {
		return err
	}
	email, password := f.text("new_email"), f.text("password")
	if email == "" || password == "" {
		return failure(http.StatusBadRequest, "New email and password are required")
	}
	err = a.svc.Account.ChangeEmail(c.Request().Context(), principal(c), email, password)
	switch {
	case fieldCode(err, "password") == "incorrect":
		return failure(http.StatusUnauthorized, "Invalid password")
	case errors.Is(err, domain.ErrEmailTaken) || fieldCode(err, "new_email") == "unchanged":
		return failure(http.StatusBadRequest, "Email already in use")
	case fieldCode(err, "new_email") != "":
		return failure(http.StatusBadRequest, "Not a valid email address.")
	case err != nil:
		return err
	}
	return c.JSON(http.StatusOK, message{Message: "Verification email sent to new address"})
}

func (a *API) verifyEmail(c echo.Context) error {
	f, err := a.bindLoose(c)
	if err != nil {
		return err
	}
	token := f.text("token")
	if token == "" {
		return failure(http.StatusBadRequest, "Token is required")
	}
	ctx := c.Request().Context()
	u, err := a.svc.Account.VerifyEmail(ctx, token)
	switch {
	case errors.Is(err, domain.ErrInvalidToken):
		return failure(http.StatusBadRequest, "Invalid or expired token")
	case errors.Is(err, domain.ErrEmailTaken):
		return failure(http.StatusBadRequest, "Email already in use")
	case err != nil:
		return err
	}
	obj, err := a.userJSON(ctx, u)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, userEnvelope{Message: "Email verified and updated successfully", User: obj})
}

type passwordStatusAnswer struct {
	DaysUntilExpiry       *int     `json:"days_until_expiry"`
	PasswordChangedAt     *oldTime `json:"password_changed_at"`
	PasswordExpired       bool     `json:"password_expired"`
	PasswordExpiresAt     *oldTime `json:"password_expires_at"`
	RequirePasswordChange bool     `json:"require_password_change"`
	Warning               *string  `json:"warning"`
}

func (a *API) passwordStatus(c echo.Context) error {
	ctx := c.Request().Context()
	p := principal(c)
	st, err := a.svc.Account.PasswordStatus(ctx, p)
	if err != nil {
		return err
	}
	u, err := a.svc.Profiles.Me(ctx, p.UserID)
	if err != nil {
		return err
	}
	ans := passwordStatusAnswer{PasswordChangedAt: optTime(&st.ChangedAt), PasswordExpired: st.Expired,
		PasswordExpiresAt: optTime(st.ExpiresAt), RequirePasswordChange: u.MustChangePassword()}
	if st.ExpiresAt != nil && !st.Expired {
		days := int(time.Until(*st.ExpiresAt).Hours() / 24)
		ans.DaysUntilExpiry = &days
		if days >= 1 && days <= 7 {
			w := "Password expires soon - please change it"
			ans.Warning = &w
		}
	}
	return c.JSON(http.StatusOK, ans)
}

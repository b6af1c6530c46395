package http

import (
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/domain"
)

const principalKey = "principal"

// errMissingToken is a request to a protected route without credentials;
// RFC 6750 says its challenge carries no error code.
var errMissingToken = &domain.Error{Kind: domain.KindUnauthorized, Code: "missing_token",
	Message: "an Authorization: Bearer access token is required"}

// Refusals of a valid credential on a route its kind may not use.
var (
	errPersonalTokenNotAllowed = &domain.Error{Kind: domain.KindForbidden, Code: "personal_token_not_allowed",
		Message: "a personal access token may only read /me, /me/permissions and ask /authorize; sign in for this"}
	errServiceAccountNotAllowed = &domain.Error{Kind: domain.KindForbidden, Code: "service_account_not_allowed",
		Message: "this route is for people's own accounts; a service account cannot use it"}
)

// bearerRule says which credentials a route admits besides a person's
// session token.
type bearerRule struct {
	// pending admits a session token issued while a password change was
	// pending (the routes that lead out of that state).
	pending bool
	// personalTokens admits personal access tokens (reads and /authorize).
	personalTokens bool
	// serviceAccounts admits service accounts' tokens.
	serviceAccounts bool
}

// requireBearer admits requests carrying a valid, unrevoked credential of
// a kind the rule allows and puts its principal into the context. Unless
// rule.pending, a token issued while a password change was pending is
// refused with 403 until the password is changed.
func requireBearer(auth *application.Bearer, rule bearerRule) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Request().Header.Get(echo.HeaderAuthorization)
			scheme, token, ok := strings.Cut(h, " ")
			if h == "" {
				return errMissingToken
			}
			if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
				return domain.ErrInvalidToken
			}
			p, err := auth.Authenticate(c.Request().Context(), strings.TrimSpace(token))
			if err != nil {
				return err
			}
			switch {
			case p.IsPersonalToken() && !rule.personalTokens:
				return errPersonalTokenNotAllowed
			case p.IsServiceAccount() && !rule.serviceAccounts:
				return errServiceAccountNotAllowed
			}
			if !rule.pending && p.PasswordChangeRequired {
				pending, err := auth.PasswordChangeStillRequired(c.Request().Context(), p)
				if err != nil {
					return err
				}
				if pending {
					return domain.ErrPasswordChangeRequired
				}
			}
			c.Set(principalKey, p)
			return next(c)
		}
	}
}

func principal(c echo.Context) domain.Principal {
	p, _ := c.Get(principalKey).(domain.Principal)
	return p
}

// challenge is the WWW-Authenticate value every 401 carries (RFC 9110).
func challenge(code string) string {
	if code == domain.ErrInvalidToken.Code || code == domain.ErrRefreshTokenReused.Code {
		return `Bearer realm="ums", error="invalid_token"`
	}
	return `Bearer realm="ums"`
}

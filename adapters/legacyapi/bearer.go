package legacyapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/domain"
)

const principalKey = "legacy.principal"

// bearerToken reads the header as the old JWT layer did: "Bearer" in that
// case, exactly one word after it, with its messages for anything else.
func bearerToken(c echo.Context) (string, error) {
	h := c.Request().Header.Get(echo.HeaderAuthorization)
	if h == "" {
		return "", jwtLayer(http.StatusUnauthorized, "Missing Authorization Header")
	}
	parts := strings.Fields(h)
	if len(parts) < 2 || parts[0] != "Bearer" {
		return "", jwtLayer(http.StatusUnauthorized,
			"Missing 'Bearer' type in 'Authorization' header. Expected 'Authorization: Bearer <JWT>'")
	}
	if len(parts) > 2 {
		return "", jwtLayer(http.StatusUnprocessableEntity, "Bad Authorization header. Expected 'Authorization: Bearer <JWT>'")
	}
	return parts[1], nil
}

// requireAccess admits a UMS access token, or an access token the old
// service issued before the cutover (checked against the account as it is
// now). Unless allowPending, a token of a user who must change the
// password is refused as the old login refused them.
func (a *API) requireAccess(allowPending bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			token, err := bearerToken(c)
			if err != nil {
				return err
			}
			ctx := c.Request().Context()
			p, err := a.svc.Sessions.Authenticate(ctx, token)
			if errors.Is(err, domain.ErrInvalidToken) && a.svc.LegacyAuth != nil {
				p, err = a.svc.LegacyAuth.Authenticate(ctx, token)
			}
			if err != nil {
				return err
			}
			if !allowPending && p.PasswordChangeRequired {
				pending, err := a.svc.Sessions.PasswordChangeStillRequired(ctx, p)
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

// caller is the signed-in account and whether it is a system admin, for
// choosing between the old answers (the Policy still decides every
// action).
func (a *API) caller(c echo.Context) (application.Caller, error) {
	return a.svc.Policy.Caller(c.Request().Context(), principal(c))
}

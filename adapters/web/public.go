package web

import "github.com/labstack/echo/v4"

// registerPublic adds the pages anyone may open: register, forgot and
// reset password, verify email.
func (p *Pages) registerPublic(ui *echo.Group, limit echo.MiddlewareFunc) {}

package web

import "github.com/labstack/echo/v4"

// registerAccount adds the signed-in user's own pages under /ui/account.
func (p *Pages) registerAccount(in *echo.Group) {}

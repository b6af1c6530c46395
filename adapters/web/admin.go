package web

import "github.com/labstack/echo/v4"

// registerAdmin adds the administration pages under /ui/admin.
func (p *Pages) registerAdmin(in *echo.Group) {}

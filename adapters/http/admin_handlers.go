package http

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/domain"
)

type adminHandlers struct {
	dir *application.Directory
	mfa *application.MFA
}

func (h *adminHandlers) requirePasswordChange(c echo.Context) error {
	id, err := pathID(c, "id", domain.ErrUserNotFound)
	if err != nil {
		return err
	}
	if err := h.dir.RequirePasswordChange(c.Request().Context(), principal(c), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *adminHandlers) resetMFA(c echo.Context) error {
	id, err := pathID(c, "id", domain.ErrUserNotFound)
	if err != nil {
		return err
	}
	if err := h.mfa.Reset(c.Request().Context(), principal(c), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

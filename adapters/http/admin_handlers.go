package http

import (
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/ums-project/ums/application"
)

type adminHandlers struct {
	dir *application.Directory
}

func (h *adminHandlers) requirePasswordChange(c echo.Context) error {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return &requestError{status: http.StatusNotFound, code: "user_not_found", detail: "user not found"}
	}
	if err := h.dir.RequirePasswordChange(c.Request().Context(), principal(c), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

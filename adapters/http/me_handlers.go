package http

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/ums-project/ums/application"
)

type meHandlers struct {
	profiles  *application.Profiles
	bodyLimit int64
}

// profilePatch lists the only fields a user may change about themselves;
// anything else (is_system_admin, is_active, email...) is an unknown field
// and refused with 400.
type profilePatch struct {
	FirstName *string `json:"first_name"`
	LastName  *string `json:"last_name"`
}

func (h *meHandlers) get(c echo.Context) error {
	u, err := h.profiles.Me(c.Request().Context(), principal(c).UserID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newUserResponse(u))
}

func (h *meHandlers) patch(c echo.Context) error {
	var req profilePatch
	if err := bindJSON(c, h.bodyLimit, &req); err != nil {
		return err
	}
	u, err := h.profiles.Update(c.Request().Context(), principal(c).UserID, application.ProfileInput(req))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newUserResponse(u))
}

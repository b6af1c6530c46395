package http

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/ums-project/ums/application"
)

type authHandlers struct {
	registration *application.Registration
	signIn       *application.Login
	sessions     *application.Sessions
	bodyLimit    int64
}

type registerRequest struct {
	Email     string `json:"email"`
	Username  string `json:"username"`
	Password  string `json:"password"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
}

func (h *authHandlers) register(c echo.Context) error {
	var req registerRequest
	if err := bindJSON(c, h.bodyLimit, &req); err != nil {
		return err
	}
	u, err := h.registration.Register(c.Request().Context(), application.RegisterInput(req))
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/users/"+u.ID().String())
	return c.JSON(http.StatusCreated, newUserResponse(u))
}

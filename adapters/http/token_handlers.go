package http

import (
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/ums-project/ums/application"
)

type loginRequest struct {
	Login    string `json:"login"`
	Password string `json:"password"`
	MFACode  string `json:"mfa_code"`
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

type tokenResponse struct {
	AccessToken            string `json:"access_token"`
	TokenType              string `json:"token_type"`
	ExpiresIn              int64  `json:"expires_in"`
	RefreshToken           string `json:"refresh_token"`
	RefreshExpiresIn       int64  `json:"refresh_expires_in"`
	SessionID              string `json:"session_id"`
	PasswordChangeRequired bool   `json:"password_change_required"`
}

type sessionResponse struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
	Current    bool      `json:"current"`
}

type sessionList struct {
	Items []sessionResponse `json:"items"`
}

func (h *authHandlers) login(c echo.Context) error {
	var req loginRequest
	if err := bindJSON(c, h.bodyLimit, &req); err != nil {
		return err
	}
	pair, err := h.signIn.Login(c.Request().Context(), application.LoginInput(req))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newTokenResponse(pair))
}

func (h *authHandlers) refresh(c echo.Context) error {
	var req refreshRequest
	if err := bindJSON(c, h.bodyLimit, &req); err != nil {
		return err
	}
	pair, err := h.sessions.Refresh(c.Request().Context(), req.RefreshToken)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newTokenResponse(pair))
}

func (h *authHandlers) logout(c echo.Context) error {
	if err := h.sessions.Logout(c.Request().Context(), principal(c)); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *authHandlers) logoutAll(c echo.Context) error {
	if err := h.sessions.LogoutAll(c.Request().Context(), principal(c)); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *authHandlers) listSessions(c echo.Context) error {
	list, err := h.sessions.List(c.Request().Context(), principal(c))
	if err != nil {
		return err
	}
	out := sessionList{Items: make([]sessionResponse, len(list))}
	for i, s := range list {
		out.Items[i] = sessionResponse{ID: s.ID.String(), CreatedAt: s.CreatedAt, LastUsedAt: s.LastUsedAt,
			ExpiresAt: s.ExpiresAt, IP: s.IP, UserAgent: s.UserAgent, Current: s.Current}
	}
	return c.JSON(http.StatusOK, out)
}

func (h *authHandlers) revokeSession(c echo.Context) error {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		// Not a session id at all: nothing by that id exists.
		return &requestError{status: http.StatusNotFound, code: "session_not_found", detail: "session not found"}
	}
	if err := h.sessions.Revoke(c.Request().Context(), principal(c), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func newTokenResponse(p application.TokenPair) tokenResponse {
	return tokenResponse{
		AccessToken: p.AccessToken, TokenType: "Bearer", ExpiresIn: int64(p.AccessExpiresIn / time.Second),
		RefreshToken: p.RefreshToken, RefreshExpiresIn: int64(p.RefreshExpiresIn / time.Second),
		SessionID: p.SessionID.String(), PasswordChangeRequired: p.PasswordChangeRequired,
	}
}

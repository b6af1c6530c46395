package http

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/domain"
)

// personalTokenHandlers serve a person's personal access tokens. Only a
// signed-in person manages them: a token can neither make nor list
// tokens.
type personalTokenHandlers struct {
	tokens    *application.PersonalTokens
	bodyLimit int64
}

type personalTokenRequest struct {
	Name        string     `json:"name"`
	ExpiresAt   *time.Time `json:"expires_at"`
	OrgID       *string    `json:"org_id"`
	Permissions []string   `json:"permissions"`
}

type personalTokenResponse struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Hint        string     `json:"hint"`
	OrgID       *string    `json:"org_id"`
	Permissions []string   `json:"permissions"`
	CreatedAt   time.Time  `json:"created_at"`
	ExpiresAt   time.Time  `json:"expires_at"`
	LastUsedAt  *time.Time `json:"last_used_at"`
	Expired     bool       `json:"expired"`
}

// newPersonalTokenResponse is a token as its owner sees it, never with
// its value.
type newPersonalTokenResponse struct {
	personalTokenResponse
	// Token is the value, in the creation's answer only.
	Token string `json:"token"`
}

func toPersonalTokenResponse(t domain.PersonalToken, now time.Time) personalTokenResponse {
	out := personalTokenResponse{ID: t.ID.String(), Name: t.Name, Hint: t.Hint, Permissions: nonNil(t.Permissions),
		CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, LastUsedAt: t.LastUsedAt, Expired: !now.Before(t.ExpiresAt)}
	if t.OrgID != nil {
		s := t.OrgID.String()
		out.OrgID = &s
	}
	return out
}

func (h *personalTokenHandlers) create(c echo.Context) error {
	var req personalTokenRequest
	if err := bindJSON(c, h.bodyLimit, &req); err != nil {
		return err
	}
	org, err := optionalUUID("org_id", req.OrgID)
	if err != nil {
		return err
	}
	t, err := h.tokens.Create(c.Request().Context(), principal(c), domain.PersonalTokenRequest{
		Name: req.Name, ExpiresAt: req.ExpiresAt, OrgID: org, Permissions: req.Permissions})
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.JSON(http.StatusCreated, newPersonalTokenResponse{
		personalTokenResponse: toPersonalTokenResponse(t.PersonalToken, t.CreatedAt), Token: t.Value})
}

func (h *personalTokenHandlers) list(c echo.Context) error {
	ts, err := h.tokens.List(c.Request().Context(), principal(c))
	if err != nil {
		return err
	}
	now := time.Now()
	out := make([]personalTokenResponse, len(ts))
	for i, t := range ts {
		out[i] = toPersonalTokenResponse(t, now)
	}
	return list(c, out, "")
}

func (h *personalTokenHandlers) revoke(c echo.Context) error {
	id, err := pathID(c, "id", domain.ErrPersonalTokenNotFound)
	if err != nil {
		return err
	}
	if err := h.tokens.Revoke(c.Request().Context(), principal(c), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

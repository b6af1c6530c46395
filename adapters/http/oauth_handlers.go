package http

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/domain"
)

type oauthHandlers struct {
	clients   *application.OAuthClients
	bodyLimit int64
}

type oauthClientRequest struct {
	Name                   string   `json:"name"`
	Public                 bool     `json:"public"`
	FirstParty             bool     `json:"first_party"`
	RedirectURIs           []string `json:"redirect_uris"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris"`
	GrantTypes             []string `json:"grant_types"`
}

type oauthClientPatch struct {
	Name                   *string   `json:"name"`
	FirstParty             *bool     `json:"first_party"`
	RedirectURIs           *[]string `json:"redirect_uris"`
	PostLogoutRedirectURIs *[]string `json:"post_logout_redirect_uris"`
	GrantTypes             *[]string `json:"grant_types"`
}

type oauthClientResponse struct {
	ClientID               string    `json:"client_id"`
	ClientSecret           string    `json:"client_secret,omitempty"`
	Name                   string    `json:"name"`
	Public                 bool      `json:"public"`
	FirstParty             bool      `json:"first_party"`
	RedirectURIs           []string  `json:"redirect_uris"`
	PostLogoutRedirectURIs []string  `json:"post_logout_redirect_uris"`
	GrantTypes             []string  `json:"grant_types"`
	CreatedAt              time.Time `json:"created_at"`
	UpdatedAt              time.Time `json:"updated_at"`
}

func newOAuthClientResponse(c domain.OAuthClient) oauthClientResponse {
	return oauthClientResponse{ClientID: c.ID, Name: c.Name, Public: c.Public, FirstParty: c.FirstParty,
		RedirectURIs: c.RedirectURIs, PostLogoutRedirectURIs: c.PostLogoutRedirectURIs, GrantTypes: c.GrantTypes,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

func (h *oauthHandlers) create(c echo.Context) error {
	var req oauthClientRequest
	if err := bindJSON(c, h.bodyLimit, &req); err != nil {
		return err
	}
	p := principal(c)
	cl, secret, err := h.clients.Create(c.Request().Context(), &p, domain.OAuthClientSpec(req))
	if err != nil {
		return err
	}
	out := newOAuthClientResponse(cl)
	out.ClientSecret = secret
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/oauth/clients/"+cl.ID)
	return c.JSON(http.StatusCreated, out)
}

func (h *oauthHandlers) list(c echo.Context) error {
	p := principal(c)
	cs, err := h.clients.List(c.Request().Context(), &p)
	if err != nil {
		return err
	}
	out := make([]oauthClientResponse, len(cs))
	for i, cl := range cs {
		out[i] = newOAuthClientResponse(cl)
	}
	return list(c, out, "")
}

func (h *oauthHandlers) get(c echo.Context) error {
	p := principal(c)
	cl, err := h.clients.Get(c.Request().Context(), &p, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newOAuthClientResponse(cl))
}

func (h *oauthHandlers) update(c echo.Context) error {
	var req oauthClientPatch
	if err := bindJSON(c, h.bodyLimit, &req); err != nil {
		return err
	}
	p := principal(c)
	cl, err := h.clients.Update(c.Request().Context(), &p, c.Param("id"), domain.OAuthClientChange{Name: req.Name,
		FirstParty: req.FirstParty, RedirectURIs: req.RedirectURIs, PostLogoutRedirectURIs: req.PostLogoutRedirectURIs,
		GrantTypes: req.GrantTypes})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newOAuthClientResponse(cl))
}

func (h *oauthHandlers) delete(c echo.Context) error {
	p := principal(c)
	if err := h.clients.Delete(c.Request().Context(), &p, c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *oauthHandlers) rotateSecret(c echo.Context) error {
	p := principal(c)
	secret, err := h.clients.RotateSecret(c.Request().Context(), &p, c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"client_id": c.Param("id"), "client_secret": secret})
}

type consentResponse struct {
	ClientID   string    `json:"client_id"`
	ClientName string    `json:"client_name"`
	Scopes     []string  `json:"scopes"`
	GrantedAt  time.Time `json:"granted_at"`
}

func (h *oauthHandlers) consents(c echo.Context) error {
	cs, err := h.clients.Consents(c.Request().Context(), principal(c))
	if err != nil {
		return err
	}
	out := make([]consentResponse, len(cs))
	for i, v := range cs {
		out[i] = consentResponse{ClientID: v.ClientID, ClientName: v.ClientName, Scopes: v.Scopes, GrantedAt: v.GrantedAt}
	}
	return list(c, out, "")
}

func (h *oauthHandlers) revokeConsent(c echo.Context) error {
	if err := h.clients.RevokeConsent(c.Request().Context(), principal(c), c.Param("client_id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

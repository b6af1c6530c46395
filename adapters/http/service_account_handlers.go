package http

import (
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

type serviceAccountHandlers struct {
	accounts  *application.ServiceAccounts
	bodyLimit int64
}

type serviceAccountRequest struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Role        string `json:"role"`
}

type serviceAccountPatch struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	IsActive    *bool   `json:"is_active"`
}

type serviceAccountResponse struct {
	ID          string     `json:"id"`
	OrgID       string     `json:"org_id"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Username    string     `json:"username"`
	ClientID    string     `json:"client_id"`
	Role        *string    `json:"role"`
	IsActive    bool       `json:"is_active"`
	HasSecret   bool       `json:"has_secret"`
	CreatedBy   *uuid.UUID `json:"created_by"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

func newServiceAccountResponse(a domain.ServiceAccount) serviceAccountResponse {
	out := serviceAccountResponse{ID: a.ID.String(), OrgID: a.OrgID.String(), Name: a.Name, Description: a.Description,
		Username: a.Username, ClientID: a.ClientID(), IsActive: a.IsActive, HasSecret: a.HasSecret,
		CreatedBy: a.CreatedBy, CreatedAt: a.CreatedAt, UpdatedAt: a.UpdatedAt}
	if a.Role != "" {
		r := string(a.Role)
		out.Role = &r
	}
	return out
}

type serviceAccountKeyRequest struct {
	// PublicKey is a JWK object, or a string holding a PEM public key
	// (or a JWK's JSON).
	PublicKey json.RawMessage `json:"public_key"`
	ExpiresAt *time.Time      `json:"expires_at"`
}

type serviceAccountKeyResponse struct {
	KID        string          `json:"kid"`
	Algorithm  string          `json:"algorithm"`
	Thumbprint string          `json:"thumbprint"`
	JWK        json.RawMessage `json:"jwk"`
	CreatedAt  time.Time       `json:"created_at"`
	ExpiresAt  *time.Time      `json:"expires_at"`
}

func newServiceAccountKeyResponse(k domain.ServiceAccountKey) serviceAccountKeyResponse {
	return serviceAccountKeyResponse{KID: k.KID, Algorithm: k.Algorithm, Thumbprint: k.Thumbprint,
		JWK: json.RawMessage(k.JWK), CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt}
}

// ids reads the organization and, when named, the account of the path.
func (h *serviceAccountHandlers) ids(c echo.Context, withAccount bool) (uuid.UUID, uuid.UUID, error) {
	org, err := pathID(c, "id", domain.ErrOrgNotFound)
	if err != nil || !withAccount {
		return org, uuid.Nil, err
	}
	sa, err := pathID(c, "sa_id", domain.ErrServiceAccountNotFound)
	return org, sa, err
}

func (h *serviceAccountHandlers) create(c echo.Context) error {
	org, _, err := h.ids(c, false)
	if err != nil {
		return err
	}
	var req serviceAccountRequest
	if err := bindJSON(c, h.bodyLimit, &req); err != nil {
		return err
	}
	a, err := h.accounts.Create(c.Request().Context(), principal(c), org, application.ServiceAccountInput(req))
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/orgs/"+org.String()+"/service-accounts/"+a.ID.String())
	return c.JSON(http.StatusCreated, newServiceAccountResponse(a))
}

func (h *serviceAccountHandlers) list(c echo.Context) error {
	org, _, err := h.ids(c, false)
	if err != nil {
		return err
	}
	q := &queryParams{c: c}
	page := q.page()
	if err := q.err(); err != nil {
		return err
	}
	as, next, err := h.accounts.List(c.Request().Context(), principal(c), org, page)
	if err != nil {
		return err
	}
	return list(c, serviceAccountResponses(as), next)
}

func (h *serviceAccountHandlers) listAll(c echo.Context) error {
	q := &queryParams{c: c}
	f := ports.ServiceAccountFilter{OrgID: q.uuid("org_id")}
	page := q.page()
	if err := q.err(); err != nil {
		return err
	}
	as, next, err := h.accounts.ListAll(c.Request().Context(), principal(c), f, page)
	if err != nil {
		return err
	}
	return list(c, serviceAccountResponses(as), next)
}

func serviceAccountResponses(as []domain.ServiceAccount) []serviceAccountResponse {
	out := make([]serviceAccountResponse, len(as))
	for i, a := range as {
		out[i] = newServiceAccountResponse(a)
	}
	return out
}

func (h *serviceAccountHandlers) get(c echo.Context) error {
	org, id, err := h.ids(c, true)
	if err != nil {
		return err
	}
	a, err := h.accounts.Get(c.Request().Context(), principal(c), org, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newServiceAccountResponse(a))
}

func (h *serviceAccountHandlers) update(c echo.Context) error {
	org, id, err := h.ids(c, true)
	if err != nil {
		return err
	}
	var req serviceAccountPatch
	if err := bindJSON(c, h.bodyLimit, &req); err != nil {
		return err
	}
	a, err := h.accounts.Update(c.Request().Context(), principal(c), org, id, application.ServiceAccountPatch(req))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newServiceAccountResponse(a))
}

func (h *serviceAccountHandlers) delete(c echo.Context) error {
	org, id, err := h.ids(c, true)
	if err != nil {
		return err
	}
	if err := h.accounts.Delete(c.Request().Context(), principal(c), org, id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *serviceAccountHandlers) rotateSecret(c echo.Context) error {
	org, id, err := h.ids(c, true)
	if err != nil {
		return err
	}
	s, err := h.accounts.RotateSecret(c.Request().Context(), principal(c), org, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]string{"client_id": s.ClientID, "client_secret": s.ClientSecret})
}

func (h *serviceAccountHandlers) keys(c echo.Context) error {
	org, id, err := h.ids(c, true)
	if err != nil {
		return err
	}
	ks, err := h.accounts.Keys(c.Request().Context(), principal(c), org, id)
	if err != nil {
		return err
	}
	out := make([]serviceAccountKeyResponse, len(ks))
	for i, k := range ks {
		out[i] = newServiceAccountKeyResponse(k)
	}
	return list(c, out, "")
}

func (h *serviceAccountHandlers) addKey(c echo.Context) error {
	org, id, err := h.ids(c, true)
	if err != nil {
		return err
	}
	var req serviceAccountKeyRequest
	if err := bindJSON(c, h.bodyLimit, &req); err != nil {
		return err
	}
	raw, err := keyText(req.PublicKey)
	if err != nil {
		return err
	}
	k, err := h.accounts.AddKey(c.Request().Context(), principal(c), org, id,
		application.KeyInput{PublicKey: raw, ExpiresAt: req.ExpiresAt})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, newServiceAccountKeyResponse(k))
}

// keyText is the key as the parser reads it: a JWK object as its JSON, a
// string as it is (PEM, or a JWK's JSON sent as a string).
func keyText(raw json.RawMessage) (string, error) {
	bad := domain.Invalid(domain.FieldError{Field: "public_key", Code: "invalid_key",
		Message: "must be a public JWK (a JSON object) or a PEM public key (a string)"})
	if len(raw) == 0 || string(raw) == "null" {
		return "", domain.Invalid(domain.FieldError{Field: "public_key", Code: "required", Message: "is required"})
	}
	switch raw[0] {
	case '{':
		return string(raw), nil
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", bad
		}
		if fields := checkBodyText(struct {
			PublicKey string `json:"public_key"`
		}{s}); len(fields) > 0 {
			return "", domain.Invalid(fields...)
		}
		return s, nil
	}
	return "", bad
}

func (h *serviceAccountHandlers) deleteKey(c echo.Context) error {
	org, id, err := h.ids(c, true)
	if err != nil {
		return err
	}
	// The router matches on the escaped path when the request has one
	// (an escaped "/", say) and then leaves the escapes in the parameter:
	// a kid may hold "/" (RFC 7517 puts no limit on it).
	kid := c.Param("kid")
	if c.Request().URL.RawPath != "" {
		if kid, err = url.PathUnescape(kid); err != nil {
			return domain.ErrServiceAccountKeyNotFound
		}
	}
	if err := h.accounts.DeleteKey(c.Request().Context(), principal(c), org, id, kid); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

package http

import (
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/domain"
)

type permissionHandlers struct {
	perms     *application.Permissions
	bodyLimit int64
}

type permissionRequest struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Category    string `json:"category"`
}

type permissionResponse struct {
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Category    string    `json:"category"`
	IsActive    bool      `json:"is_active"`
	CreatedAt   time.Time `json:"created_at"`
}

type authorizeRequest struct {
	OrgID       string   `json:"org_id"`
	Permissions []string `json:"permissions"`
	UserID      *string  `json:"user_id"`
}

type batchCheck struct {
	OrgID       string   `json:"org_id"`
	Permissions []string `json:"permissions"`
}

type authorizeBatchRequest struct {
	UserID *string      `json:"user_id"`
	Checks []batchCheck `json:"checks"`
}

type authorizeResponse struct {
	UserID        string   `json:"user_id"`
	OrgID         string   `json:"org_id"`
	Allowed       bool     `json:"allowed"`
	Granted       []string `json:"granted"`
	Missing       []string `json:"missing"`
	Permissions   []string `json:"permissions"`
	IsSystemAdmin bool     `json:"is_system_admin"`
}

type authorizeBatchResponse struct {
	Results []authorizeResponse `json:"results"`
}

func newAuthorizeResponse(a application.Answer) authorizeResponse {
	return authorizeResponse{UserID: a.UserID.String(), OrgID: a.OrgID.String(), Allowed: a.Allowed,
		Granted: nonNil(a.Granted), Missing: nonNil(a.Missing), Permissions: nonNil(a.Permissions), IsSystemAdmin: a.IsSystemAdmin}
}

func (h *permissionHandlers) catalog(c echo.Context) error {
	q := &queryParams{c: c}
	inactive := q.boolean("include_inactive")
	if err := q.err(); err != nil {
		return err
	}
	ps, err := h.perms.Catalog(c.Request().Context(), principal(c), inactive != nil && *inactive)
	if err != nil {
		return err
	}
	out := make([]permissionResponse, len(ps))
	for i, p := range ps {
		out[i] = permissionResponse{Name: p.Name, Description: p.Description, Category: p.Category, IsActive: p.IsActive, CreatedAt: p.CreatedAt}
	}
	return list(c, out, "")
}

func (h *permissionHandlers) create(c echo.Context) error {
	var req permissionRequest
	if err := bindJSON(c, h.bodyLimit, &req); err != nil {
		return err
	}
	p, err := h.perms.Create(c.Request().Context(), principal(c), application.PermissionInput(req))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, permissionResponse{Name: p.Name, Description: p.Description, Category: p.Category,
		IsActive: p.IsActive, CreatedAt: p.CreatedAt})
}

func (h *permissionHandlers) deactivate(c echo.Context) error {
	if err := h.perms.Deactivate(c.Request().Context(), principal(c), c.Param("name")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *permissionHandlers) globalRolePermissions(c echo.Context) error {
	names, err := h.perms.GlobalRolePermissions(c.Request().Context(), principal(c), c.Param("role"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rolePermissionsResponse{Role: c.Param("role"), Permissions: nonNil(names)})
}

func (h *permissionHandlers) setGlobalRolePermissions(c echo.Context) error {
	var req rolePermissionsRequest
	if err := bindJSON(c, h.bodyLimit, &req); err != nil {
		return err
	}
	names, err := h.perms.SetGlobalRolePermissions(c.Request().Context(), principal(c), c.Param("role"), req.Permissions)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rolePermissionsResponse{Role: c.Param("role"), Permissions: nonNil(names)})
}

func optionalUUID(field string, v *string) (*uuid.UUID, error) {
	if v == nil {
		return nil, nil
	}
	id, err := bodyUUID(field, *v)
	if err != nil {
		return nil, err
	}
	return &id, nil
}

func (h *permissionHandlers) authorize(c echo.Context) error {
	var req authorizeRequest
	if err := bindJSON(c, h.bodyLimit, &req); err != nil {
		return err
	}
	org, err := bodyUUID("org_id", req.OrgID)
	if err != nil {
		return err
	}
	uid, err := optionalUUID("user_id", req.UserID)
	if err != nil {
		return err
	}
	answers, err := h.perms.Authorize(c.Request().Context(), principal(c), uid,
		[]application.Check{{OrgID: org, Permissions: req.Permissions}})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newAuthorizeResponse(answers[0]))
}

func (h *permissionHandlers) authorizeBatch(c echo.Context) error {
	var req authorizeBatchRequest
	if err := bindJSON(c, h.bodyLimit, &req); err != nil {
		return err
	}
	uid, err := optionalUUID("user_id", req.UserID)
	if err != nil {
		return err
	}
	checks := make([]application.Check, len(req.Checks))
	for i, ch := range req.Checks {
		org, err := bodyUUID("checks["+strconv.Itoa(i)+"].org_id", ch.OrgID)
		if err != nil {
			return err
		}
		checks[i] = application.Check{OrgID: org, Permissions: ch.Permissions}
	}
	answers, err := h.perms.Authorize(c.Request().Context(), principal(c), uid, checks)
	if err != nil {
		return err
	}
	out := authorizeBatchResponse{Results: make([]authorizeResponse, len(answers))}
	for i, a := range answers {
		out.Results[i] = newAuthorizeResponse(a)
	}
	return c.JSON(http.StatusOK, out)
}

func (h *permissionHandlers) myPermissions(c echo.Context) error {
	q := &queryParams{c: c}
	org := q.uuid("org_id")
	if org == nil && len(q.fields) == 0 {
		q.fields = append(q.fields, domain.FieldError{Field: "org_id", Code: "required", Message: "is required"})
	}
	if err := q.err(); err != nil {
		return err
	}
	a, err := h.perms.MyPermissions(c.Request().Context(), principal(c), *org)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newAuthorizeResponse(a))
}

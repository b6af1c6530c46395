package http

import (
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/domain"
)

type orgHandlers struct {
	orgs      *application.Orgs
	perms     *application.Permissions
	bodyLimit int64
}

type orgRequest struct {
	Name        *string `json:"name"`
	Slug        *string `json:"slug"`
	Description *string `json:"description"`
	IsActive    *bool   `json:"is_active"`
}

type orgResponse struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Slug        string    `json:"slug"`
	Description string    `json:"description"`
	IsActive    bool      `json:"is_active"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func newOrgResponse(o domain.Organization) orgResponse {
	return orgResponse{ID: o.ID.String(), Name: o.Name, Slug: o.Slug, Description: o.Description,
		IsActive: o.IsActive, CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
}

type memberRequest struct {
	UserID string `json:"user_id"`
	Role   string `json:"role"`
}

type roleRequest struct {
	Role string `json:"role"`
}

type memberResponse struct {
	OrgID     string    `json:"org_id"`
	UserID    string    `json:"user_id"`
	Email     string    `json:"email,omitempty"`
	Username  string    `json:"username,omitempty"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func newMemberResponse(m domain.Membership) memberResponse {
	return memberResponse{OrgID: m.OrgID.String(), UserID: m.UserID.String(), Role: string(m.Role),
		CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}
}

type rolePermissionsRequest struct {
	Permissions []string `json:"permissions"`
}

type rolePermissionsResponse struct {
	Role        string   `json:"role"`
	Permissions []string `json:"permissions"`
}

type grantRequest struct {
	UserID     string     `json:"user_id"`
	Permission string     `json:"permission"`
	ExpiresAt  *time.Time `json:"expires_at"`
}

type grantResponse struct {
	ID         string     `json:"id"`
	OrgID      string     `json:"org_id"`
	UserID     string     `json:"user_id"`
	Permission string     `json:"permission"`
	IsActive   bool       `json:"is_active"`
	ExpiresAt  *time.Time `json:"expires_at"`
	GrantedBy  *string    `json:"granted_by"`
	CreatedAt  time.Time  `json:"created_at"`
}

func newGrantResponse(g domain.Grant) grantResponse {
	r := grantResponse{ID: g.ID.String(), OrgID: g.OrgID.String(), UserID: g.UserID.String(), Permission: g.Permission,
		IsActive: g.IsActive, ExpiresAt: g.ExpiresAt, CreatedAt: g.CreatedAt}
	if g.GrantedBy != nil {
		s := g.GrantedBy.String()
		r.GrantedBy = &s
	}
	return r
}

func bodyUUID(field, v string) (uuid.UUID, error) {
	id, err := uuid.Parse(v)
	if err != nil {
		return uuid.Nil, domain.Invalid(domain.FieldError{Field: field, Code: "invalid_uuid", Message: "must be a UUID"})
	}
	return id, nil
}

func (h *orgHandlers) list(c echo.Context) error {
	q := &queryParams{c: c}
	page := q.page()
	if err := q.err(); err != nil {
		return err
	}
	orgs, next, err := h.orgs.List(c.Request().Context(), principal(c), c.QueryParam("q"), page)
	if err != nil {
		return err
	}
	out := make([]orgResponse, len(orgs))
	for i, o := range orgs {
		out[i] = newOrgResponse(o)
	}
	return list(c, out, next)
}

func (h *orgHandlers) create(c echo.Context) error {
	var req orgRequest
	if err := bindJSON(c, h.bodyLimit, &req); err != nil {
		return err
	}
	o, err := h.orgs.Create(c.Request().Context(), principal(c), application.OrgInput(req))
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/orgs/"+o.ID.String())
	return c.JSON(http.StatusCreated, newOrgResponse(o))
}

func (h *orgHandlers) get(c echo.Context) error {
	id, err := pathID(c, "id", domain.ErrOrgNotFound)
	if err != nil {
		return err
	}
	o, err := h.orgs.Get(c.Request().Context(), principal(c), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newOrgResponse(o))
}

func (h *orgHandlers) update(c echo.Context) error {
	id, err := pathID(c, "id", domain.ErrOrgNotFound)
	if err != nil {
		return err
	}
	var req orgRequest
	if err := bindJSON(c, h.bodyLimit, &req); err != nil {
		return err
	}
	o, err := h.orgs.Update(c.Request().Context(), principal(c), id, application.OrgInput(req))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newOrgResponse(o))
}

func (h *orgHandlers) delete(c echo.Context) error {
	id, err := pathID(c, "id", domain.ErrOrgNotFound)
	if err != nil {
		return err
	}
	if err := h.orgs.Deactivate(c.Request().Context(), principal(c), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *orgHandlers) members(c echo.Context) error {
	id, err := pathID(c, "id", domain.ErrOrgNotFound)
	if err != nil {
		return err
	}
	q := &queryParams{c: c}
	page := q.page()
	if err := q.err(); err != nil {
		return err
	}
	ms, next, err := h.orgs.Members(c.Request().Context(), principal(c), id, page)
	if err != nil {
		return err
	}
	out := make([]memberResponse, len(ms))
	for i, m := range ms {
		out[i] = newMemberResponse(m.Membership)
		out[i].Email, out[i].Username = m.Email, m.Username
	}
	return list(c, out, next)
}

func (h *orgHandlers) addMember(c echo.Context) error {
	id, err := pathID(c, "id", domain.ErrOrgNotFound)
	if err != nil {
		return err
	}
	var req memberRequest
	if err := bindJSON(c, h.bodyLimit, &req); err != nil {
		return err
	}
	uid, err := bodyUUID("user_id", req.UserID)
	if err != nil {
		return err
	}
	m, err := h.orgs.AddMember(c.Request().Context(), principal(c), id, uid, req.Role)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, newMemberResponse(m))
}

func (h *orgHandlers) setMemberRole(c echo.Context) error {
	id, err := pathID(c, "id", domain.ErrOrgNotFound)
	if err != nil {
		return err
	}
	uid, err := pathID(c, "user_id", domain.ErrMembershipNotFound)
	if err != nil {
		return err
	}
	var req roleRequest
	if err := bindJSON(c, h.bodyLimit, &req); err != nil {
		return err
	}
	m, err := h.orgs.SetMemberRole(c.Request().Context(), principal(c), id, uid, req.Role)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newMemberResponse(m))
}

func (h *orgHandlers) removeMember(c echo.Context) error {
	id, err := pathID(c, "id", domain.ErrOrgNotFound)
	if err != nil {
		return err
	}
	uid, err := pathID(c, "user_id", domain.ErrMembershipNotFound)
	if err != nil {
		return err
	}
	if err := h.orgs.RemoveMember(c.Request().Context(), principal(c), id, uid); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func (h *orgHandlers) rolePermissions(c echo.Context) error {
	id, err := pathID(c, "id", domain.ErrOrgNotFound)
	if err != nil {
		return err
	}
	names, err := h.orgs.RolePermissions(c.Request().Context(), principal(c), id, c.Param("role"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rolePermissionsResponse{Role: c.Param("role"), Permissions: nonNil(names)})
}

func (h *orgHandlers) setRolePermissions(c echo.Context) error {
	id, err := pathID(c, "id", domain.ErrOrgNotFound)
	if err != nil {
		return err
	}
	var req rolePermissionsRequest
	if err := bindJSON(c, h.bodyLimit, &req); err != nil {
		return err
	}
	names, err := h.orgs.SetRolePermissions(c.Request().Context(), principal(c), id, c.Param("role"), req.Permissions)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rolePermissionsResponse{Role: c.Param("role"), Permissions: nonNil(names)})
}

func (h *orgHandlers) grants(c echo.Context) error {
	id, err := pathID(c, "id", domain.ErrOrgNotFound)
	if err != nil {
		return err
	}
	gs, err := h.orgs.Grants(c.Request().Context(), principal(c), id)
	if err != nil {
		return err
	}
	out := make([]grantResponse, len(gs))
	for i, g := range gs {
		out[i] = newGrantResponse(g)
	}
	return list(c, out, "")
}

func (h *orgHandlers) addGrant(c echo.Context) error {
	id, err := pathID(c, "id", domain.ErrOrgNotFound)
	if err != nil {
		return err
	}
	var req grantRequest
	if err := bindJSON(c, h.bodyLimit, &req); err != nil {
		return err
	}
	uid, err := bodyUUID("user_id", req.UserID)
	if err != nil {
		return err
	}
	g, err := h.orgs.AddGrant(c.Request().Context(), principal(c), id,
		application.GrantInput{UserID: uid, Permission: req.Permission, ExpiresAt: req.ExpiresAt})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, newGrantResponse(g))
}

func (h *orgHandlers) deleteGrant(c echo.Context) error {
	id, err := pathID(c, "id", domain.ErrOrgNotFound)
	if err != nil {
		return err
	}
	gid, err := pathID(c, "grant_id", domain.ErrGrantNotFound)
	if err != nil {
		return err
	}
	if err := h.orgs.DeleteGrant(c.Request().Context(), principal(c), id, gid); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

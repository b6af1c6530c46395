package web

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/domain"
)

// permissionsData is the catalog page.
type permissionsData struct {
	Catalog []domain.Permission
	Roles   []roleData
}

const permissionsPath = "/ui/admin/permissions"

// adminPermissions shows the catalog and the global role defaults. Reading
// them is open to any signed-in user in the application (the API lists
// the catalog to everyone); this page is where they are managed, which
// only system admins may, so it is theirs: others get the policy's 403.
func (p *Pages) adminPermissions(c echo.Context) error {
	return p.permissionsPage(c, http.StatusOK, view{Message: doneMessage(c)})
}

func (p *Pages) permissionsPage(c echo.Context, status int, v view) error {
	if !isSystemAdmin(c) {
		return domain.ErrAdminRequired
	}
	ctx, pr := c.Request().Context(), principal(c)
	catalog, err := p.d.Permissions.Catalog(ctx, pr, true)
	if err != nil {
		return err
	}
	active := make([]domain.Permission, 0, len(catalog))
	for _, perm := range catalog {
		if perm.IsActive {
			active = append(active, perm)
		}
	}
	d := permissionsData{Catalog: catalog}
	for _, r := range domain.Roles {
		set, err := p.d.Permissions.GlobalRolePermissions(ctx, pr, string(r))
		if err != nil {
			return err
		}
		d.Roles = append(d.Roles, roleData{Role: string(r), Perms: checks(active, set)})
	}
	v.Title, v.Data = "Permissions", d
	return p.render(c, status, "admin_permissions", v)
}

// adminPermissionCreate adds a catalog entry (Permissions.Create: system
// admins only; a deactivated name comes back).
func (p *Pages) adminPermissionCreate(c echo.Context) error {
	in := application.PermissionInput{Name: c.FormValue("name"), Description: c.FormValue("description"), Category: c.FormValue("category")}
	if _, err := p.d.Permissions.Create(c.Request().Context(), principal(c), in); err != nil {
		f, err := refusal(err, map[string]string{"name": "perm.name", "description": "perm.description", "category": "perm.category"})
		if err != nil {
			return err
		}
		if f.fields == nil {
			f.fields = map[string]string{"perm.name": f.msg}
			f.msg = "Check the fields marked below."
		}
		return p.permissionsPage(c, f.status, view{Error: f.msg, Fields: f.fields,
			Form: map[string]string{"name": in.Name, "description": in.Description, "category": in.Category}})
	}
	return done(c, permissionsPath, "permission_added")
}

// adminPermissionDeactivate takes a permission out of every role and
// grant at once (they stay for the record): a sensitive action.
func (p *Pages) adminPermissionDeactivate(c echo.Context) error {
	if ok, err := p.recentSignIn(c, permissionsPath); !ok {
		return err
	}
	if err := p.d.Permissions.Deactivate(c.Request().Context(), principal(c), c.Param("name")); err != nil {
		return err
	}
	return done(c, permissionsPath, "permission_off")
}

// adminGlobalRole replaces a role's global defaults with the boxes ticked.
func (p *Pages) adminGlobalRole(c echo.Context) error {
	role := c.Param("role")
	if _, fe := domain.ParseRole("role", role); fe != nil {
		return echo.ErrNotFound
	}
	if ok, err := p.recentSignIn(c, permissionsPath); !ok {
		return err
	}
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	if _, err := p.d.Permissions.SetGlobalRolePermissions(c.Request().Context(), principal(c), role, form["permissions"]); err != nil {
		f, err := refusal(err, map[string]string{"permissions": "perms." + role})
		if err != nil {
			return err
		}
		return p.permissionsPage(c, f.status, view{Error: f.msg, Fields: f.fields})
	}
	return done(c, permissionsPath, "defaults_saved")
}

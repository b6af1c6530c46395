package web

import (
	"context"
	"net/http"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// serviceAccountRow is one service account on its organization's page.
type serviceAccountRow struct {
	ID, Name, Description, Username, Role string
	Active, HasSecret                     bool
}

// registerOrgServiceAccounts adds the service account forms of an
// organization's page: create, new secret, (de)activate, delete (org
// admins and system admins, as the use cases decide). Public keys for
// private_key_jwt are registered on the API.
func (p *Pages) registerOrgServiceAccounts(a *echo.Group) {
	if p.d.ServiceAccounts == nil {
		return
	}
	a.POST("/orgs/:id/service-accounts", p.adminOrgCreateServiceAccount)
	a.POST("/orgs/:id/service-accounts/:sa_id/secret", p.adminOrgServiceAccountSecret)
	a.POST("/orgs/:id/service-accounts/:sa_id/active", p.adminOrgServiceAccountActive)
	a.POST("/orgs/:id/service-accounts/:sa_id/delete", p.adminOrgDeleteServiceAccount)
}

// orgServiceAccounts lists the organization's service accounts (at most
// 100; the API pages through all) and the set of their ids, which the
// members table leaves out: people and machines are listed apart.
func (p *Pages) orgServiceAccounts(ctx context.Context, pr domain.Principal, orgID uuid.UUID) ([]serviceAccountRow, map[uuid.UUID]bool, error) {
	if p.d.ServiceAccounts == nil {
		return nil, nil, nil
	}
	list, _, err := p.d.ServiceAccounts.List(ctx, pr, orgID, ports.Page{Limit: 100})
	if err != nil {
		return nil, nil, err
	}
	rows := make([]serviceAccountRow, len(list))
	ids := make(map[uuid.UUID]bool, len(list))
	for i, a := range list {
		rows[i] = serviceAccountRow{ID: a.ID.String(), Name: a.Name, Description: a.Description, Username: a.Username,
			Role: string(a.Role), Active: a.IsActive, HasSecret: a.HasSecret}
		ids[a.ID] = true
	}
	return rows, ids, nil
}

func (p *Pages) adminOrgCreateServiceAccount(c echo.Context) error {
	name, desc, role := c.FormValue("name"), c.FormValue("description"), c.FormValue("role")
	form := map[string]string{"sa.name": name, "sa.description": desc, "sa.role": role}
	inputs := map[string]string{"name": "sa.name", "description": "sa.description", "role": "sa.role"}
	return p.orgAction(c, true, "service_account_created", inputs, form, func(orgID uuid.UUID) error {
		_, err := p.d.ServiceAccounts.Create(c.Request().Context(), principal(c), orgID,
			application.ServiceAccountInput{Name: name, Description: desc, Role: role})
		return err
	})
}

// adminOrgServiceAccountSecret issues a new client secret and shows it on
// this answer only (never in a URL); the earlier secret and every token
// of the account stop working.
func (p *Pages) adminOrgServiceAccountSecret(c echo.Context) error {
	orgID, err := adminID(c, "id", domain.ErrOrgNotFound)
	if err != nil {
		return err
	}
	said, err := adminID(c, "sa_id", domain.ErrServiceAccountNotFound)
	if err != nil {
		return err
	}
	if ok, err := p.recentSignIn(c, orgPath(orgID)); !ok {
		return err
	}
	sec, err := p.d.ServiceAccounts.RotateSecret(c.Request().Context(), principal(c), orgID, said)
	if err != nil {
		f, err := refusal(err, nil)
		if err != nil {
			return err
		}
		return p.orgPage(c, orgID, f.status, view{Error: f.msg})
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return p.orgPage(c, orgID, http.StatusOK, view{
		Message: "The new secret is below. Copy it now: it is not shown again, and the earlier one no longer works.",
		Form:    map[string]string{"sa.client_id": sec.ClientID, "sa.client_secret": sec.ClientSecret}})
}

func (p *Pages) adminOrgServiceAccountActive(c echo.Context) error {
	said, err := adminID(c, "sa_id", domain.ErrServiceAccountNotFound)
	if err != nil {
		return err
	}
	active := c.FormValue("active") == "true"
	code := "service_account_deactivated"
	if active {
		code = "service_account_activated"
	}
	return p.orgAction(c, true, code, nil, nil, func(orgID uuid.UUID) error {
		_, err := p.d.ServiceAccounts.Update(c.Request().Context(), principal(c), orgID, said,
			application.ServiceAccountPatch{IsActive: &active})
		return err
	})
}

func (p *Pages) adminOrgDeleteServiceAccount(c echo.Context) error {
	said, err := adminID(c, "sa_id", domain.ErrServiceAccountNotFound)
	if err != nil {
		return err
	}
	return p.orgAction(c, true, "service_account_deleted", nil, nil, func(orgID uuid.UUID) error {
		return p.d.ServiceAccounts.Delete(c.Request().Context(), principal(c), orgID, said)
	})
}

package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/ums-project/ums/domain"
)

// registerAdminClients adds the OpenID Connect client registry under
// /ui/admin/clients. Every page and action calls application.OAuthClients
// with the signed-in principal, so its Policy decides: system admins only.
func (p *Pages) registerAdminClients(a *echo.Group) {
	a.GET("/clients", p.adminClients)
	a.POST("/clients", p.adminClientCreate)
	a.GET("/clients/:id", p.adminClient)
	a.POST("/clients/:id", p.adminClientUpdate)
	a.POST("/clients/:id/rotate-secret", p.adminClientRotate)
	a.POST("/clients/:id/delete", p.adminClientDelete)
}

const clientsPath = "/ui/admin/clients"

func clientPath(id string) string { return clientsPath + "/" + url.PathEscape(id) }

// clientGrants are the grant types the forms offer, in order.
var clientGrants = []string{domain.GrantAuthorizationCode, domain.GrantRefreshToken, domain.GrantClientCredentials}

// clientDone are the confirmations of the client pages (?done=code).
var clientDone = map[string]string{
	"client_updated": "The application is saved.",
	"client_deleted": "The application is deleted: it can no longer sign users in or get tokens.",
}

// clientInputs maps the use case's fields to the forms' keys.
var clientInputs = map[string]string{
	"name": "client.name", "redirect_uris": "client.redirect_uris",
	"post_logout_redirect_uris": "client.post_logout", "grant_types": "client.grants",
}

// clientForm is what a create or edit form shows.
type clientForm struct {
	Name       string
	Redirects  string
	PostLogout string
	Public     bool
	FirstParty bool
	Grants     []grantCheck
}

type grantCheck struct {
	Name    string
	Checked bool
}

func grantChecks(set []string) []grantCheck {
	out := make([]grantCheck, len(clientGrants))
	for i, g := range clientGrants {
		out[i] = grantCheck{Name: g, Checked: slices.Contains(set, g)}
	}
	return out
}

func formOf(cl domain.OAuthClient) clientForm {
	return clientForm{Name: cl.Name, Redirects: strings.Join(cl.RedirectURIs, "\n"),
		PostLogout: strings.Join(cl.PostLogoutRedirectURIs, "\n"), Public: cl.Public, FirstParty: cl.FirstParty,
		Grants: grantChecks(cl.GrantTypes)}
}

// lines splits a textarea into its non-blank lines.
func lines(s string) []string {
	out := []string{}
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// readClientForm reads a posted create or edit form.
func readClientForm(c echo.Context) (clientForm, []string, error) {
	form, err := c.FormParams()
	if err != nil {
		return clientForm{}, nil, err
	}
	grants := form["grant_types"]
	f := clientForm{Name: form.Get("name"), Redirects: form.Get("redirect_uris"), PostLogout: form.Get("post_logout_redirect_uris"),
		Public: form.Get("public") == "on", FirstParty: form.Get("first_party") == "on", Grants: grantChecks(grants)}
	return f, grants, nil
}

// clientsData is the registry page.
type clientsData struct {
	Clients []domain.OAuthClient
	Form    clientForm
}

// clientData is one client's page; Secret is shown this once.
type clientData struct {
	Client domain.OAuthClient
	Form   clientForm
	Secret string
}

func (p *Pages) clientsAvailable() error {
	if p.d.OAuthClients == nil {
		return echo.ErrNotFound
	}
	return nil
}

func (p *Pages) adminClients(c echo.Context) error {
	return p.clientsPage(c, http.StatusOK, view{Message: clientDone[c.QueryParam("done")]},
		clientForm{Grants: grantChecks([]string{domain.GrantAuthorizationCode, domain.GrantRefreshToken})})
}

func (p *Pages) clientsPage(c echo.Context, status int, v view, f clientForm) error {
	if err := p.clientsAvailable(); err != nil {
		return err
	}
	pr := principal(c)
	list, err := p.d.OAuthClients.List(c.Request().Context(), &pr)
	if err != nil {
		return err
	}
	v.Title, v.Data = "Applications", clientsData{Clients: list, Form: f}
	return p.render(c, status, "admin_clients", v)
}

// adminClientCreate registers a client and shows its secret this once.
func (p *Pages) adminClientCreate(c echo.Context) error {
	if err := p.clientsAvailable(); err != nil {
		return err
	}
	if ok, err := p.recentSignIn(c, clientsPath); !ok {
		return err
	}
	f, grants, err := readClientForm(c)
	if err != nil {
		return err
	}
	pr := principal(c)
	cl, secret, err := p.d.OAuthClients.Create(c.Request().Context(), &pr, domain.OAuthClientSpec{Name: f.Name,
		Public: f.Public, FirstParty: f.FirstParty, RedirectURIs: lines(f.Redirects),
		PostLogoutRedirectURIs: lines(f.PostLogout), GrantTypes: grants})
	if err != nil {
		ff, err := refusal(err, clientInputs)
		if err != nil {
			return err
		}
		return p.clientsPage(c, ff.status, view{Error: ff.msg, Fields: ff.fields}, f)
	}
	return p.render(c, http.StatusCreated, "admin_client", view{Title: "Application " + cl.Name,
		Message: "The application is registered.", Data: clientData{Client: cl, Form: formOf(cl), Secret: secret}})
}

func (p *Pages) adminClient(c echo.Context) error {
	return p.clientPage(c, http.StatusOK, view{Message: clientDone[c.QueryParam("done")]}, nil, "")
}

// clientPage renders a client with v's messages; f is the edit form shown
// again (nil: the client's settings), secret a new one to show once.
func (p *Pages) clientPage(c echo.Context, status int, v view, f *clientForm, secret string) error {
	if err := p.clientsAvailable(); err != nil {
		return err
	}
	pr := principal(c)
	cl, err := p.d.OAuthClients.Get(c.Request().Context(), &pr, c.Param("id"))
	if err != nil {
		return err
	}
	d := clientData{Client: cl, Form: formOf(cl), Secret: secret}
	if f != nil {
		f.Public = cl.Public
		d.Form = *f
	}
	v.Title, v.Data = "Application "+cl.Name, d
	return p.render(c, status, "admin_client", v)
}

// adminClientUpdate saves the edit form: every setting it shows.
func (p *Pages) adminClientUpdate(c echo.Context) error {
	if err := p.clientsAvailable(); err != nil {
		return err
	}
	id := c.Param("id")
	if ok, err := p.recentSignIn(c, clientPath(id)); !ok {
		return err
	}
	f, grants, err := readClientForm(c)
	if err != nil {
		return err
	}
	redirects, postLogout := lines(f.Redirects), lines(f.PostLogout)
	if grants == nil {
		grants = []string{}
	}
	pr := principal(c)
	_, err = p.d.OAuthClients.Update(c.Request().Context(), &pr, id, domain.OAuthClientChange{Name: &f.Name,
		FirstParty: &f.FirstParty, RedirectURIs: &redirects, PostLogoutRedirectURIs: &postLogout, GrantTypes: &grants})
	if err != nil {
		ff, err := refusal(err, clientInputs)
		if err != nil {
			return err
		}
		return p.clientPage(c, ff.status, view{Error: ff.msg, Fields: ff.fields}, &f, "")
	}
	return done(c, clientPath(id), "client_updated")
}

// adminClientRotate gives a confidential client a new secret, shown once;
// the old one stops working at once.
func (p *Pages) adminClientRotate(c echo.Context) error {
	if err := p.clientsAvailable(); err != nil {
		return err
	}
	id := c.Param("id")
	if ok, err := p.recentSignIn(c, clientPath(id)); !ok {
		return err
	}
	pr := principal(c)
	secret, err := p.d.OAuthClients.RotateSecret(c.Request().Context(), &pr, id)
	if err != nil {
		ff, err := refusal(err, nil)
		if err != nil {
			return err
		}
		return p.clientPage(c, ff.status, view{Error: ff.msg}, nil, "")
	}
	return p.clientPage(c, http.StatusOK, view{Message: "The secret is replaced: the old one no longer works."}, nil, secret)
}

// adminClientDelete removes a client once the box is ticked.
func (p *Pages) adminClientDelete(c echo.Context) error {
	if err := p.clientsAvailable(); err != nil {
		return err
	}
	id := c.Param("id")
	if ok, err := p.recentSignIn(c, clientPath(id)); !ok {
		return err
	}
	if c.FormValue("confirm") != "yes" {
		return p.clientPage(c, http.StatusUnprocessableEntity, view{Error: "Check the fields marked below.",
			Fields: map[string]string{"delete.confirm": "Tick the box to confirm that the application goes for good."}}, nil, "")
	}
	pr := principal(c)
	if err := p.d.OAuthClients.Delete(c.Request().Context(), &pr, id); err != nil {
		return err
	}
	return done(c, clientsPath, "client_deleted")
}

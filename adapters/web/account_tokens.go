package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

const pathTokens = PathAccount + "/tokens"

// tokenLifetimes are the expiries the form offers, in days.
var tokenLifetimes = []int{7, 30, 90, 365}

// registerAccountTokens adds the personal access tokens page to the
// account pages (a, behind requireSession and passwordFirst).
func (p *Pages) registerAccountTokens(a *echo.Group) {
	a.GET("/tokens", p.tokensPage)
	a.POST("/tokens", p.tokenCreate)
	a.POST("/tokens/revoke", p.tokenRevoke)
}

type tokenRow struct {
	ID, Name, Hint, Org string
	Permissions         []string
	CreatedAt           time.Time
	ExpiresAt           time.Time
	LastUsedAt          *time.Time
	Expired             bool
}

type tokenOrg struct{ ID, Name string }

type tokensData struct {
	accountPage
	Tokens    []tokenRow
	Orgs      []tokenOrg
	Lifetimes []int
	// Created is the value of the token just made, shown once.
	Created string
}

func (p *Pages) tokensView(c echo.Context, status int, v view) error {
	ctx, pr := c.Request().Context(), principal(c)
	list, err := p.d.Tokens.List(ctx, pr)
	if err != nil {
		return err
	}
	orgs, _, err := p.d.Orgs.List(ctx, pr, "", ports.Page{Limit: 100})
	if err != nil {
		return err
	}
	d, _ := v.Data.(tokensData)
	d.accountPage, d.Lifetimes = p.accountPage(pathTokens), tokenLifetimes
	names := map[uuid.UUID]string{}
	for _, o := range orgs {
		names[o.ID] = o.Name
		d.Orgs = append(d.Orgs, tokenOrg{ID: o.ID.String(), Name: o.Name})
	}
	now := time.Now()
	for _, t := range list {
		row := tokenRow{ID: t.ID.String(), Name: t.Name, Hint: t.Hint, Permissions: t.Permissions,
			CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, LastUsedAt: t.LastUsedAt, Expired: !now.Before(t.ExpiresAt)}
		if t.OrgID != nil {
			row.Org = names[*t.OrgID]
			if row.Org == "" {
				row.Org = t.OrgID.String()
			}
		}
		d.Tokens = append(d.Tokens, row)
	}
	v.Title, v.Data = "Access tokens", d
	if d.Created != "" {
		c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	}
	return p.render(c, status, "account_tokens", v)
}

// tokensPage lists the tokens; making one asks a recent sign-in, so
// does the page.
func (p *Pages) tokensPage(c echo.Context) error {
	if ok, err := p.recentSignIn(c, pathTokens); !ok {
		return err
	}
	return p.tokensView(c, http.StatusOK, view{Message: okMessage(c, map[string]string{
		"revoked": "The token is revoked: it no longer works anywhere.",
	}), Form: map[string]string{"expires_in": "30"}})
}

// tokenCreate makes a token as the API's POST /me/tokens does and shows
// its value on this answer only (never in a URL).
func (p *Pages) tokenCreate(c echo.Context) error {
	if ok, err := p.recentSignIn(c, pathTokens); !ok {
		return err
	}
	form := map[string]string{"name": c.FormValue("name"), "expires_in": c.FormValue("expires_in"),
		"org_id": c.FormValue("org_id"), "permissions": c.FormValue("permissions")}
	req := domain.PersonalTokenRequest{Name: form["name"], Permissions: strings.Fields(strings.ReplaceAll(form["permissions"], ",", " "))}
	fields := map[string]string{}
	if days, err := strconv.Atoi(form["expires_in"]); err == nil && days > 0 && days <= 366 {
		at := time.Now().Add(time.Duration(days) * 24 * time.Hour)
		req.ExpiresAt = &at
	} else {
		fields["expires_in"] = "Choose how long the token lives."
	}
	if form["org_id"] != "" {
		id, err := uuid.Parse(form["org_id"])
		if err != nil {
			fields["org_id"] = "Choose one of your organizations."
		} else {
			req.OrgID = &id
		}
	}
	if len(fields) > 0 {
		return p.tokensView(c, http.StatusUnprocessableEntity, view{Error: "Check the fields marked below.", Fields: fields, Form: form})
	}
	t, err := p.d.Tokens.Create(c.Request().Context(), principal(c), req)
	if err != nil {
		f, err := selfRefusal(c, err, "name", "org_id", "permissions")
		if err != nil {
			return err
		}
		if msg, ok := f.fields["expires_at"]; ok {
			f.fields["expires_in"] = msg
		}
		return p.tokensView(c, f.status, view{Error: f.msg, Fields: f.fields, Form: form})
	}
	return p.tokensView(c, http.StatusCreated, view{Message: "Your token is made. Copy it now: it is not shown again.",
		Form: map[string]string{"expires_in": "30"}, Data: tokensData{Created: t.Value}})
}

// tokenRevoke revokes one token, as DELETE /me/tokens/{id}.
func (p *Pages) tokenRevoke(c echo.Context) error {
	id, err := uuid.Parse(c.FormValue("token"))
	if err == nil {
		err = p.d.Tokens.Revoke(c.Request().Context(), principal(c), id)
	}
	if err != nil {
		if errors.Is(err, domain.ErrPersonalTokenNotFound) || id == uuid.Nil {
			return p.tokensView(c, http.StatusNotFound, view{Error: "That token is already revoked."})
		}
		return err
	}
	return seeOther(c, pathTokens, "revoked")
}

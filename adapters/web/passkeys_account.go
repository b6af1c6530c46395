package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/domain"
)

const pathPasskeys = PathAccount + "/passkeys"

// registerAccountPasskeys adds the passkeys page to the account pages
// (a, behind requireSession and passwordFirst).
func (p *Pages) registerAccountPasskeys(a *echo.Group) {
	a.GET("/passkeys", p.passkeysPage)
	a.POST("/passkeys/options", p.passkeyRegisterOptions)
	a.POST("/passkeys", p.passkeyRegister)
	a.POST("/passkeys/rename", p.passkeyRename)
	a.POST("/passkeys/delete", p.passkeyDelete)
}

// passkeyRow is one passkey as the page lists it.
type passkeyRow struct {
	ID   string
	Name string
	// Value is the rename field's: the name, or what was typed into it
	// when the page shows a refused rename again.
	Value      string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	// Synced is a passkey a password manager keeps in its cloud (backed
	// up); Syncable one that may be, but is not yet; neither is bound to
	// its device.
	Synced, Syncable bool
}

type passkeysData struct {
	accountPage
	Passkeys []passkeyRow
}

// passkeysView shows the page; typed is what was typed into a refused
// rename form, by passkey.
func (p *Pages) passkeysView(c echo.Context, status int, v view, typed map[string]string) error {
	list, err := p.d.Passkeys.List(c.Request().Context(), principal(c))
	if err != nil {
		return err
	}
	d := passkeysData{accountPage: p.accountPage(pathPasskeys)}
	for _, k := range list {
		row := passkeyRow{ID: k.ID.String(), Name: k.Name, Value: k.Name, CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt,
			Synced: k.BackedUp, Syncable: k.BackupEligible && !k.BackedUp}
		if s, ok := typed[row.ID]; ok {
			row.Value = s
		}
		d.Passkeys = append(d.Passkeys, row)
	}
	v.Title, v.Data = "Passkeys", d
	return p.render(c, status, "account_passkeys", v)
}

// passkeysPage lists the passkeys and holds the registration, which asks
// a recent sign-in: so does the page, as the two-step verification page.
func (p *Pages) passkeysPage(c echo.Context) error {
	if ok, err := p.recentSignIn(c, pathPasskeys); !ok {
		return err
	}
	return p.passkeysView(c, http.StatusOK, view{Message: okMessage(c, map[string]string{
		"added":   "Your passkey is added: you can sign in with it now.",
		"renamed": "The passkey is renamed.",
		"deleted": "The passkey is deleted: it no longer signs you in.",
	})}, nil)
}

// passkeyRegisterOptions starts a registration: the browser's sign-in
// must be recent (the use case takes the page's word for it), otherwise
// the script is sent to confirm the password first.
func (p *Pages) passkeyRegisterOptions(c echo.Context) error {
	if time.Since(browserSession(c).AuthTime) > p.d.ReauthAfter {
		return c.JSON(http.StatusUnauthorized, jsonError{Error: "Confirm it is you first: sign in again.",
			Redirect: PathLogin + "?reauth=1&next=" + url.QueryEscape(pathPasskeys)})
	}
	cer, err := p.d.Passkeys.BeginRegistration(c.Request().Context(), principal(c), application.Reauth{RecentSignIn: true})
	if err != nil {
		return p.passkeyRefusal(c, err)
	}
	return answerCeremony(c, cer)
}

// passkeyRegister stores the passkey the browser created, then the
// script reloads the page.
func (p *Pages) passkeyRegister(c echo.Context) error {
	in, ok, err := readPasskeyPost(c, true)
	if !ok {
		return err
	}
	// A bad name is refused before the ceremony is spent.
	if _, ferr := domain.ParsePasskeyName("name", in.Name); strings.TrimSpace(in.Name) != "" && ferr != nil {
		return refuse(c, http.StatusUnprocessableEntity, "Give the passkey a name of 1 to 100 characters, or none.")
	}
	if _, err := p.d.Passkeys.FinishRegistration(c.Request().Context(), principal(c), in.CeremonyID, in.Credential, strings.TrimSpace(in.Name)); err != nil {
		return p.passkeyRefusal(c, err)
	}
	return c.JSON(http.StatusOK, jsonRedirect{Redirect: pathPasskeys + "?ok=added"})
}

// passkeyRename renames one of the passkeys.
func (p *Pages) passkeyRename(c echo.Context) error {
	raw, name := c.FormValue("passkey"), c.FormValue("name")
	id, err := uuid.Parse(raw)
	if err == nil {
		err = p.d.Passkeys.Rename(c.Request().Context(), principal(c), id, name)
	} else {
		err = domain.ErrPasskeyNotFound
	}
	switch {
	case err == nil:
		return seeOther(c, pathPasskeys, "renamed")
	case errors.Is(err, domain.ErrPasskeyNotFound):
		return p.passkeysView(c, http.StatusNotFound, view{Error: "That passkey is already deleted."}, nil)
	case domain.KindOf(err) == domain.KindInvalid:
		return p.passkeysView(c, http.StatusUnprocessableEntity, view{Error: "Check the name marked below.",
			Fields: map[string]string{"name-" + raw: "A name has 1 to 100 characters."}}, map[string]string{raw: name})
	}
	return err
}

// passkeyDelete removes one of the passkeys; it asks a recent sign-in,
// as turning two-step verification off does.
func (p *Pages) passkeyDelete(c echo.Context) error {
	if ok, err := p.recentSignIn(c, pathPasskeys); !ok {
		return err
	}
	id, err := uuid.Parse(c.FormValue("passkey"))
	if err == nil {
		err = p.d.Passkeys.Delete(c.Request().Context(), principal(c), id)
	} else {
		err = domain.ErrPasskeyNotFound
	}
	switch {
	case err == nil:
		return seeOther(c, pathPasskeys, "deleted")
	case errors.Is(err, domain.ErrPasskeyNotFound):
		return p.passkeysView(c, http.StatusNotFound, view{Error: "That passkey is already deleted."}, nil)
	}
	return err
}

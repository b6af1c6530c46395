package web

import (
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/domain"
)

// PathInvitation is the page a mailed invitation link opens (with
// ?token=), unless MAIL_LINK_BASE_URL sends it to a web app of its own.
const PathInvitation = "/ui/invitations/accept"

// registerInvitations adds the invitation page: anyone may open it (it
// spends nothing: mail scanners open links too); joining needs a
// signed-in browser; registering through it is under limit, the sign-in
// posts' rate limit.
func (p *Pages) registerInvitations(ui, in *echo.Group, limit echo.MiddlewareFunc) {
	if p.d.Invitations == nil {
		return
	}
	ui.GET("/invitations/accept", p.invitationPage)
	in.POST("/invitations/accept", p.invitationAccept)
	ui.POST("/invitations/register", p.invitationRegister, limit)
}

// invitationView is the invitation page's data.
type invitationView struct {
	Token     string
	OrgName   string
	Role      string
	Email     string
	ExpiresAt time.Time
	// SignedInAs is the signed-in account's address ("" for none); Join
	// offers the button, else Mismatch or Unverified says why not.
	SignedInAs string
	Join       bool
	Mismatch   bool
	Unverified bool
	// SignIn comes back to this page after signing in.
	SignIn string
}

var invitationInputs = []string{"username", "password", "first_name", "last_name"}

// invitationPage shows the invitation the link names: to the invited
// account, a button to join; to another account, why it cannot; to a
// browser not signed in, a way to sign in and come back, and a form to
// create the account.
func (p *Pages) invitationPage(c echo.Context) error {
	return p.showInvitation(c, http.StatusOK, view{})
}

func (p *Pages) showInvitation(c echo.Context, status int, v view) error {
	token := c.FormValue("token")
	if token == "" {
		return p.invitationGone(c, domain.ErrInvitationNotFound)
	}
	pv, err := p.d.Invitations.Preview(c.Request().Context(), token)
	if err != nil {
		return p.invitationGone(c, err)
	}
	inv := pv.Invitation
	d := invitationView{Token: token, OrgName: pv.OrgName, Role: string(inv.Role), Email: inv.Email.String(),
		ExpiresAt: inv.ExpiresAt,
		SignIn:    PathLogin + "?next=" + url.QueryEscape(PathInvitation+"?token="+url.QueryEscape(token))}
	u, err := p.signedInUser(c)
	if err != nil {
		return err
	}
	if u != nil {
		d.SignedInAs = u.Email().String()
		switch err := inv.CheckInvitee(u); {
		case err == nil:
			d.Join = true
		case errors.Is(err, domain.ErrInvitationEmailUnverified):
			d.Unverified = true
		default:
			d.Mismatch = true
		}
	}
	v.Title, v.Data = "Join "+pv.OrgName, d
	return p.render(c, status, "invitation_accept", v)
}

// signedInUser is the account of a browser signed in and not idle for
// longer than the idle timeout, or nil; it also fills the navigation.
func (p *Pages) signedInUser(c echo.Context) (*domain.User, error) {
	bs, ok, err := p.session(c)
	if err != nil || !ok || time.Since(bs.SeenAt) > p.d.IdleTimeout {
		return nil, err
	}
	u, err := p.d.Profiles.Me(c.Request().Context(), bs.UserID)
	if err != nil {
		if domain.KindOf(err) == domain.KindNotFound || domain.KindOf(err) == domain.KindUnauthorized {
			return nil, nil
		}
		return nil, err
	}
	c.Set(navKey, &nav{Email: u.Email().String(), Admin: u.IsSystemAdmin()})
	return u, nil
}

// invitationAccept joins the signed-in account and shows the
// organization.
func (p *Pages) invitationAccept(c echo.Context) error {
	m, err := p.d.Invitations.Accept(c.Request().Context(), principal(c), c.FormValue("token"))
	if err != nil {
		return p.invitationGone(c, err)
	}
	return done(c, orgPath(m.OrgID), "joined")
}

// invitationRegister creates the account through the invitation: the
// address is the invitation's and verified, so signing in is next.
func (p *Pages) invitationRegister(c echo.Context) error {
	in := application.RegisterInput{Username: c.FormValue("username"), Password: c.FormValue("password"),
		FirstName: c.FormValue("first_name"), LastName: c.FormValue("last_name")}
	u, m, err := p.d.Invitations.Register(c.Request().Context(), c.FormValue("token"), in)
	if err != nil {
		form := map[string]string{"username": in.Username, "first_name": in.FirstName, "last_name": in.LastName}
		var f selfFailure
		switch {
		case errors.Is(err, domain.ErrUsernameTaken):
			f = selfFailure{status: http.StatusConflict, msg: "Check the fields marked below.",
				fields: map[string]string{"username": "This username is taken: choose another."}}
		case domain.KindOf(err) == domain.KindInvalid:
			if f, err = selfRefusal(c, err, invitationInputs...); err != nil {
				return err
			}
		default:
			return p.invitationGone(c, err)
		}
		return p.showInvitation(c, f.status, view{Error: f.msg, Fields: f.fields, Form: form})
	}
	next := PathLogin + "?next=" + url.QueryEscape(orgPath(m.OrgID))
	return p.render(c, http.StatusOK, "public_notice", view{Title: "Welcome",
		Message: "Your account " + u.Email().String() + " is ready, and a member of the organization. Sign in to continue.",
		Data:    publicNotice{Links: []publicLink{{Href: next, Text: "Sign in"}}}})
}

// invitationGone shows why an invitation cannot be accepted; an error of
// no invitation's is returned for the error page.
func (p *Pages) invitationGone(c echo.Context, err error) error {
	status, msg := http.StatusBadRequest, ""
	signIn := PathLogin
	if token := c.FormValue("token"); token != "" {
		signIn += "?next=" + url.QueryEscape(PathInvitation+"?token="+url.QueryEscape(token))
	}
	links := []publicLink{{Href: signIn, Text: "Sign in"}}
	var de *domain.Error
	errors.As(err, &de)
	switch {
	case errors.Is(err, domain.ErrInvitationNotFound):
		msg = "This invitation link is not valid: it is mistyped, or a newer invitation replaced it."
	case errors.Is(err, domain.ErrInvitationExpired):
		msg = "This invitation expired. Ask whoever invited you to send it again."
	case errors.Is(err, domain.ErrInvitationRevoked):
		msg = "This invitation was withdrawn."
	case errors.Is(err, domain.ErrInvitationAccepted):
		msg = "This invitation was already accepted."
	case errors.Is(err, domain.ErrOrgNotFound):
		msg = "The organization of this invitation is no longer active."
	case errors.Is(err, domain.ErrAlreadyMember):
		status, msg = http.StatusConflict, "You are a member of this organization already."
		links = []publicLink{{Href: "/ui/admin/orgs", Text: "Your organizations"}}
	case errors.Is(err, domain.ErrEmailTaken):
		status, msg = http.StatusConflict, "An account with this address exists already: sign in with it to accept."
	case errors.Is(err, domain.ErrInvitationEmailMismatch), errors.Is(err, domain.ErrInvitationEmailUnverified):
		status, msg = http.StatusForbidden, sentence(de.Message)
	default:
		return err
	}
	return p.render(c, status, "public_notice", view{Title: "Invitation", Error: msg, Data: publicNotice{Links: links}})
}

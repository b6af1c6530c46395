package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/domain"
)

// Passkeys need JavaScript: navigator.credentials is the only way to an
// authenticator. static/passkeys.js (wired by data- attributes, as the CSP
// allows no inline script) asks the JSON endpoints below for a ceremony's
// options, passes them to the browser, and posts its answer back; the
// pages work without it, only the passkey buttons stay hidden.
//
// The JSON endpoints are under /ui/ and its CSRF check (the script sends
// the page's token as X-CSRF-Token). They answer 200 with
// {"redirect": URL} or a ceremony, or a 4xx with {"error": message} the
// script shows in the page's alert.

// Where the passkey sign-in lives.
const (
	pathPasskeyLogin   = PathLogin + "/passkey"
	pathPasskeyMFA     = PathLogin + "/mfa/passkey"
	pathLoginContinue  = PathLogin + "/continue"
	maxPasskeyRequest  = 64 << 10
	passkeyUnavailable = "Something went wrong on our side. Try again in a moment."
)

// registerPasskeys adds the passkey sign-in (passwordless, and as the
// second factor of a password sign-in) when passkeys are on; the login
// throttle guards the steps that judge a passkey, as it guards the
// password and code posts. When they are off, the sign-in pages' script
// learns it from the first step and hides its button.
func (p *Pages) registerPasskeys(ui *echo.Group, limit echo.MiddlewareFunc) {
	if p.d.Passkeys == nil {
		off := func(c echo.Context) error {
			return c.JSON(http.StatusNotFound, jsonError{Error: "Passkeys are not available here.", Unavailable: true})
		}
		ui.POST("/login/passkey/options", off)
		ui.POST("/login/mfa/passkey/options", off)
		return
	}
	ui.POST("/login/passkey/options", p.passkeyLoginOptions)
	ui.POST("/login/passkey", p.passkeyLogin, limit)
	ui.POST("/login/mfa/passkey/options", p.passkeyMFAOptions, limit)
	ui.POST("/login/mfa/passkey", p.passkeyMFA, limit)
	ui.GET("/login/continue", p.loginContinue)
}

// ceremonyAnswer is the first step of a ceremony as the script reads it:
// publicKey is what navigator.credentials takes (with base64url strings
// where the browser wants bytes).
type ceremonyAnswer struct {
	CeremonyID string          `json:"ceremony_id"`
	PublicKey  json.RawMessage `json:"publicKey"`
	ExpiresIn  int             `json:"expires_in,omitempty"`
}

func answerCeremony(c echo.Context, cer application.Ceremony) error {
	return c.JSON(http.StatusOK, ceremonyAnswer{CeremonyID: cer.ID, PublicKey: publicKeyOptions(cer.Options),
		ExpiresIn: int(cer.ExpiresIn.Seconds())})
}

// publicKeyOptions are the options inside the WebAuthn library's
// {"publicKey": {...}} wrapper (the JSON form of a
// CredentialCreationOptions or CredentialRequestOptions), or the options
// as they are when they come unwrapped.
func publicKeyOptions(raw json.RawMessage) json.RawMessage {
	var wrapped struct {
		PublicKey json.RawMessage `json:"publicKey"`
	}
	if json.Unmarshal(raw, &wrapped) == nil && len(wrapped.PublicKey) > 0 && wrapped.PublicKey[0] == '{' {
		return wrapped.PublicKey
	}
	return raw
}

// passkeyPost is what the script posts: the ceremony's id, the
// browser's PublicKeyCredential as JSON (binary fields base64url), and
// the page's context.
type passkeyPost struct {
	CeremonyID  string          `json:"ceremony_id"`
	Credential  json.RawMessage `json:"credential"`
	AuthRequest string          `json:"auth_request"`
	Next        string          `json:"next"`
	Ticket      string          `json:"mfa_ticket"`
	Name        string          `json:"name"`
}

// jsonError is a refusal the script shows; with Redirect set it goes
// there instead (a re-authentication).
type jsonError struct {
	Error    string `json:"error"`
	Redirect string `json:"redirect,omitempty"`
	// Unavailable says passkeys are off on this server.
	Unavailable bool `json:"unavailable,omitempty"`
}

type jsonRedirect struct {
	Redirect string `json:"redirect"`
}

func refuse(c echo.Context, status int, msg string) error {
	return c.JSON(status, jsonError{Error: msg})
}

// readPasskeyPost decodes the script's post; a body that is not one is
// refused (false) with the answer already written.
func readPasskeyPost(c echo.Context, needCredential bool) (passkeyPost, bool, error) {
	var in passkeyPost
	dec := json.NewDecoder(io.LimitReader(c.Request().Body, maxPasskeyRequest))
	if err := dec.Decode(&in); err != nil && !(errors.Is(err, io.EOF) && !needCredential) {
		return in, false, refuse(c, http.StatusBadRequest, "The request could not be read. Reload the page and try again.")
	}
	if needCredential && (in.CeremonyID == "" || len(in.Credential) == 0 || in.Credential[0] != '{') {
		return in, false, refuse(c, http.StatusBadRequest, "The passkey's answer is missing. Reload the page and try again.")
	}
	return in, true, nil
}

// passkeyRefusal answers a refused passkey step as JSON: what the person
// can do about it, never whether an account exists. Errors that are not
// theirs are logged and answered with a 500.
func (p *Pages) passkeyRefusal(c echo.Context, err error) error {
	var de *domain.Error
	if errors.As(err, &de) && de.RetryAfter > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(de.RetryAfter.Round(time.Second).Seconds())))
	}
	status, msg := http.StatusInternalServerError, ""
	switch {
	case errors.Is(err, domain.ErrPasskeyRefused), errors.Is(err, domain.ErrInvalidCredentials):
		status, msg = http.StatusUnauthorized, "That passkey could not be verified. Try again, or sign in another way."
	case errors.Is(err, domain.ErrCeremonyExpired):
		status, msg = http.StatusUnauthorized, "The passkey request expired or was already used. Try again."
	case errors.Is(err, application.ErrMFATicketInvalid):
		status, msg = http.StatusUnauthorized, "The sign-in took too long or the account changed. Start over."
	case errors.Is(err, domain.ErrPasskeyNotFound):
		status, msg = http.StatusNotFound, "No passkey of yours is registered here."
	case errors.Is(err, domain.ErrEmailNotVerified):
		status, msg = http.StatusForbidden, "Verify your email address first: follow the link we mailed you."
	case de == nil:
	case de.Kind == domain.KindRateLimited:
		status, msg = http.StatusTooManyRequests, "Too many attempts. Wait a while, then try again."
	case de.Kind == domain.KindUnavailable:
		status, msg = http.StatusServiceUnavailable, "The service is busy. Try again in a moment."
	case de.Kind == domain.KindConflict:
		status, msg = http.StatusConflict, sentence(de.Message)
	case de.Kind == domain.KindInvalid:
		status, msg = http.StatusUnprocessableEntity, sentence(de.Message)
		if len(de.Fields) > 0 {
			msg = fieldText(de.Fields[0])
		}
	case de.Kind == domain.KindUnauthorized:
		status, msg = http.StatusUnauthorized, sentence(de.Message)
	case de.Kind == domain.KindForbidden:
		status, msg = http.StatusForbidden, "You may not do that."
	case de.Kind == domain.KindNotFound:
		status, msg = http.StatusNotFound, sentence(de.Message)
	}
	if status == http.StatusInternalServerError {
		p.d.Log.Error("passkey step failed", zap.String("path", c.Request().URL.Path), zap.Error(err))
		msg = passkeyUnavailable
	}
	return refuse(c, status, msg)
}

// passkeyRequest loads the pending authorization request a sign-in
// carries; a gone one is refused (false) with the answer written.
func (p *Pages) passkeyRequest(c echo.Context, raw string) (*domain.AuthRequest, bool, error) {
	r, err := p.request(c, raw)
	if err != nil {
		if domain.KindOf(err) == domain.KindNotFound {
			return nil, false, refuse(c, http.StatusBadRequest,
				"This sign-in link expired or was already used. Go back to the application and start again.")
		}
		return nil, false, p.passkeyRefusal(c, err)
	}
	return r, true, nil
}

// passkeyLoginOptions starts a passwordless sign-in: any passkey of this
// site, the browser lets the person pick.
func (p *Pages) passkeyLoginOptions(c echo.Context) error {
	cer, err := p.d.Passkeys.BeginLogin(c.Request().Context())
	if err != nil {
		return p.passkeyRefusal(c, err)
	}
	return answerCeremony(c, cer)
}

// passkeyLogin finishes a passwordless sign-in, then goes on as a
// password sign-in does.
func (p *Pages) passkeyLogin(c echo.Context) error {
	in, ok, err := readPasskeyPost(c, true)
	if !ok {
		return err
	}
	r, ok, err := p.passkeyRequest(c, in.AuthRequest)
	if !ok {
		return err
	}
	res, err := p.d.Passkeys.FinishLogin(c.Request().Context(), in.CeremonyID, in.Credential)
	if err != nil {
		return p.passkeyRefusal(c, err)
	}
	return p.passkeySignedIn(c, r, res, safeNext(in.Next))
}

// passkeyMFAOptions starts a passkey second factor for the user whose
// password the ticket proved.
func (p *Pages) passkeyMFAOptions(c echo.Context) error {
	in, ok, err := readPasskeyPost(c, false)
	if !ok {
		return err
	}
	if in.Ticket == "" {
		return p.passkeyRefusal(c, application.ErrMFATicketInvalid)
	}
	cer, err := p.d.Passkeys.BeginSecondFactor(c.Request().Context(), in.Ticket)
	if err != nil {
		return p.passkeyRefusal(c, err)
	}
	return answerCeremony(c, cer)
}

// passkeyMFA finishes a password sign-in with a passkey in place of the
// code.
func (p *Pages) passkeyMFA(c echo.Context) error {
	in, ok, err := readPasskeyPost(c, true)
	if !ok {
		return err
	}
	if in.Ticket == "" {
		return p.passkeyRefusal(c, application.ErrMFATicketInvalid)
	}
	r, ok, err := p.passkeyRequest(c, in.AuthRequest)
	if !ok {
		return err
	}
	res, err := p.d.Passkeys.FinishSecondFactor(c.Request().Context(), in.Ticket, in.CeremonyID, in.Credential)
	if err != nil {
		return p.passkeyRefusal(c, err)
	}
	return p.passkeySignedIn(c, r, res, safeNext(in.Next))
}

// passkeySignedIn is signedIn for the script: the browser's session opens
// here (an earlier one ends), and the answer says where to go, as
// signedIn's redirect would: next, or the pending authorization request,
// which loginContinue finishes (consent, then the client's callback).
func (p *Pages) passkeySignedIn(c echo.Context, r *domain.AuthRequest, res application.PasskeySignIn, next string) error {
	ctx := c.Request().Context()
	if old, ok, err := p.session(c); err == nil && ok {
		if err := p.d.SignOn.SignOutBrowser(ctx, old); err != nil {
			return p.passkeyRefusal(c, err)
		}
	}
	value, bs, err := p.d.SignOn.OpenBrowserSession(ctx, res.Pair, res.AMR)
	if err != nil {
		return p.passkeyRefusal(c, err)
	}
	p.setSession(c, value, bs.ExpiresAt)
	to := orHome(next)
	if r != nil {
		to = pathLoginContinue + "?auth_request=" + r.ID.String()
	}
	return c.JSON(http.StatusOK, jsonRedirect{Redirect: to})
}

// loginContinue finishes an authorization request for a browser that
// just signed in for it without a page post (a passkey): consent when the
// client needs it, then the client's callback, exactly as after the
// password form. A sign-in from before the request satisfies it only as
// the sign-in page would let it (prompt, max_age); otherwise the browser
// is sent to sign in.
func (p *Pages) loginContinue(c echo.Context) error {
	r, err := p.request(c, c.QueryParam("auth_request"))
	if err != nil || r == nil {
		if err == nil || domain.KindOf(err) == domain.KindNotFound {
			return p.requestGone(c)
		}
		return err
	}
	bs, ok, err := p.session(c)
	if err != nil {
		return err
	}
	now := time.Now()
	// Stored times may have lost their sub-second part.
	signedInForIt := ok && !bs.AuthTime.Before(r.CreatedAt.Truncate(time.Second)) &&
		(r.MaxAge == nil || now.Sub(bs.AuthTime) <= *r.MaxAge)
	if !ok || (!signedInForIt && !r.AcceptsSignIn(bs.AuthTime, now)) {
		return c.Redirect(http.StatusSeeOther, PathLogin+"?auth_request="+r.ID.String())
	}
	return p.proceed(c, *r, bs)
}

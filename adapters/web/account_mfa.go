package web

import (
	"bytes"
	"encoding/base64"
	"errors"
	"html/template"
	"image/png"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/pquerna/otp"

	"github.com/ums-project/ums/domain"
)

const pathMFA = PathAccount + "/mfa"

// mfaData is the two-step verification page in one of its states: off
// (the setup form), being set up (QR code, secret, code form), just
// turned on (the recovery codes, shown this once), or on (the disable
// form).
type mfaData struct {
	accountPage
	Enabled bool
	Setup   *totpEnrolment
	Codes   []string
}

// totpEnrolment is what an authenticator app needs, as the page shows it.
type totpEnrolment struct {
	Secret string
	URI    string
	// QR is the URI as a PNG data: URL (the CSP allows img-src data:);
	// empty when it could not be drawn, the secret is there to type.
	QR template.URL
}

func (p *Pages) mfaView(c echo.Context, status int, v view, d mfaData) error {
	u, err := p.d.Profiles.Me(c.Request().Context(), principal(c).UserID)
	if err != nil {
		return err
	}
	d.accountPage, d.Enabled = p.accountPage(pathMFA), u.MFAEnabled()
	v.Title, v.Data = "Two-step verification", d
	return p.render(c, status, "account_mfa", v)
}

// mfaPage holds the setup and disable forms: it asks a recent sign-in,
// as they do.
func (p *Pages) mfaPage(c echo.Context) error {
	if ok, err := p.recentSignIn(c, pathMFA); !ok {
		return err
	}
	return p.mfaView(c, http.StatusOK, view{Message: okMessage(c, map[string]string{
		"off": "Two-step verification is off. Signing in needs only your password now.",
	})}, mfaData{})
}

// mfaSetup is the API's TOTP setup: with the password, a new secret is
// made and kept pending until a code from the app proves it.
func (p *Pages) mfaSetup(c echo.Context) error {
	if ok, err := p.recentSignIn(c, pathMFA); !ok {
		return err
	}
	s, err := p.d.MFA.Setup(c.Request().Context(), principal(c), c.FormValue("password"))
	if err != nil {
		f, err := selfRefusal(c, err, "password")
		if err != nil {
			return err
		}
		return p.mfaView(c, f.status, view{Error: f.msg, Fields: f.fields}, mfaData{})
	}
	return p.mfaView(c, http.StatusOK, view{}, mfaData{Setup: enrolment(s.OTPAuthURI)})
}

// mfaActivate is the API's TOTP activation: a code from the app turns the
// second factor on, and the recovery codes are shown, this once. A wrong
// code shows the QR code again from the URI the form carries back (the
// page had it already; the use case checks the code against the pending
// secret it keeps, never against what the form says).
func (p *Pages) mfaActivate(c echo.Context) error {
	codes, err := p.d.MFA.Activate(c.Request().Context(), principal(c), c.FormValue("code"))
	if err != nil {
		if errors.Is(err, domain.ErrMFANotSetUp) {
			return p.mfaView(c, http.StatusConflict, view{Error: "The setup was not started or was replaced: start again."}, mfaData{})
		}
		f, err := selfRefusal(c, err, "code")
		if err != nil {
			return err
		}
		return p.mfaView(c, f.status, view{Error: f.msg, Fields: f.fields}, mfaData{Setup: enrolment(c.FormValue("otpauth_uri"))})
	}
	return p.mfaView(c, http.StatusOK, view{Message: "Two-step verification is on."}, mfaData{Codes: codes})
}

// mfaDisable is the API's TOTP disable: the password and a current code
// (or a recovery code), under the login throttle.
func (p *Pages) mfaDisable(c echo.Context) error {
	if ok, err := p.recentSignIn(c, pathMFA); !ok {
		return err
	}
	err := p.d.MFA.Disable(c.Request().Context(), principal(c), c.FormValue("password"), c.FormValue("code"))
	if err == nil {
		return seeOther(c, pathMFA, "off")
	}
	f, err := selfRefusal(c, err, "password", "code")
	if err != nil {
		return err
	}
	return p.mfaView(c, f.status, view{Error: f.msg, Fields: f.fields}, mfaData{})
}

// enrolment reads an otpauth URI for the page: its secret and its QR
// code. Anything but a TOTP URI shows nothing to scan.
func enrolment(uri string) *totpEnrolment {
	key, err := otp.NewKeyFromURL(uri)
	if err != nil || key.Type() != "totp" || key.Secret() == "" {
		return &totpEnrolment{}
	}
	e := &totpEnrolment{Secret: key.Secret(), URI: key.String()}
	img, err := key.Image(256, 256)
	if err != nil {
		return e
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return e
	}
	e.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(b.Bytes()))
	return e
}

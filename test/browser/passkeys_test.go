package browser

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/test/dbtest"
)

// startPasskeyIssuer is startIssuer at http://localhost:PORT: a WebAuthn
// relying party's id must be a domain of the page's origin, which an IP
// address is not, and http://localhost is a secure context to browsers.
// The server listens on 127.0.0.1 only; Chromium and Go reach localhost
// there.
func startPasskeyIssuer(t *testing.T, dbURL string) *server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	origin := fmt.Sprintf("http://localhost:%d", port)
	s := startIssuerWith(t, dbURL, map[string]string{
		"HTTP_ADDR": fmt.Sprintf("127.0.0.1:%d", port), "PUBLIC_URL": origin,
		"WEBAUTHN_RP_ID": "localhost", "WEBAUTHN_RP_ORIGINS": origin,
	})
	s.base = origin
	return s
}

// virtualAuthenticator is a platform authenticator (a phone's or a
// laptop's: internal transport, discoverable credentials, user
// verification that succeeds) on b's tab, as CDP's WebAuthn domain makes
// one; presence is simulated, so no prompt waits for a touch.
func virtualAuthenticator(b *tab) webauthn.AuthenticatorID {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	_, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{})
	require.NoError(b.t, err)
	res, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol:  webauthn.AuthenticatorProtocolCtap2,
			Transport: webauthn.AuthenticatorTransportInternal, HasResidentKey: true, HasUserVerification: true,
			IsUserVerified: true, AutomaticPresenceSimulation: true,
		},
	})
	require.NoError(b.t, err)
	return res.AuthenticatorID
}

// withoutAutofill makes the pages b loads from now on see a browser that
// offers no passkeys in a field's autofill (no conditional mediation), so
// that the passkey buttons are what signs in: Chromium's virtual
// authenticator answers an autofill request at once, as if the person had
// picked the passkey from the suggestions. It returns the id that
// withAutofill takes to undo it.
func withoutAutofill(b *tab) page.ScriptIdentifier {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	res, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `if (window.PublicKeyCredential) { PublicKeyCredential.isConditionalMediationAvailable = async () => false; }`,
	})
	require.NoError(b.t, err)
	return res.Identifier
}

func withAutofill(b *tab, id page.ScriptIdentifier) {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	_, err := chromedp.Call(ctx, page.RemoveScriptToEvaluateOnNewDocument, page.RemoveScriptToEvaluateOnNewDocumentParams{Identifier: id})
	require.NoError(b.t, err)
}

// credentials are what the virtual authenticator holds.
func credentials(b *tab, id webauthn.AuthenticatorID) []*webauthn.Credential {
	b.t.Helper()
	ctx, cancel := b.step()
	defer cancel()
	res, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
	require.NoError(b.t, err)
	return res.Credentials
}

// press clicks a button the script handles (no page loads at the click).
func (b *tab) press(sel string) {
	b.t.Helper()
	b.do(chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.WaitEnabled(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)))
}

// landOn waits until the script sent the tab to path (with query, when
// it has one) and the page there loaded. The page changes under the
// check, which fails while it does: it is asked again.
func (b *tab) landOn(pathAndQuery string) {
	b.t.Helper()
	b.waitAcross(`location.pathname + location.search === ` + jsString(pathAndQuery) + ` && document.readyState === "complete"`)
}

// waitAcross polls the JavaScript predicate expr across page loads.
func (b *tab) waitAcross(expr string) {
	b.t.Helper()
	deadline := time.Now().Add(stepLimit)
	var last error
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(b.ctx, 2*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		cancel()
		if err == nil && ok {
			return
		}
		last = err
		time.Sleep(100 * time.Millisecond)
	}
	require.Failf(b.t, "the page did not get there", "%s (last error: %v; at %s: %s)", expr, last, b.location(), b.text("main"))
}

// alertText is the passkey box's refusal, once the script showed one.
func (b *tab) alertText() string {
	b.t.Helper()
	b.waitFor(`(() => { const e = document.querySelector("[data-passkey-error]"); return !!e && !e.hidden && e.innerText.trim() !== ""; })()`)
	return b.text("[data-passkey-error]")
}

func (b *tab) signOut() {
	b.t.Helper()
	res := b.click(`header.top form[action="/ui/logout"] button[type=submit]`)
	require.Equal(b.t, http.StatusOK, int(res.Status))
	require.Equal(b.t, "Signed out", b.heading())
}

// addPasskey adds a passkey named name on the account's passkeys page.
func (b *tab) addPasskey(name string) {
	b.t.Helper()
	res := b.open("/ui/account/passkeys")
	require.Equal(b.t, http.StatusOK, int(res.Status))
	require.Equal(b.t, "Passkeys", b.heading())
	b.waitFor(`!document.querySelector("[data-passkey-register]").hidden`)
	assert.Zero(b.t, b.count(`[data-passkey-nojs]:not([hidden])`), "with JavaScript the page does not ask for it")
	b.fill(`#passkey-name`, name)
	b.press(`[data-passkey-add]`)
	b.landOn("/ui/account/passkeys?ok=added")
	require.Equal(b.t, "Your passkey is added: you can sign in with it now.", b.notice(), b.text("main"))
}

// TestPasskeyInARealBrowser registers a passkey on the account page of
// the console with a virtual authenticator of Chromium (CDP WebAuthn:
// ctap2, resident keys, user verification), signs out and signs in with
// it without typing a password: with the button of the sign-in page, and
// from the login field's autofill for a client of the OpenID Connect
// provider; renames and deletes it, after which it signs in no more.
// Screenshots: console-passkeys-*.png.
func TestPasskeyInARealBrowser(t *testing.T) {
	requireChromium(t)
	shots := screenshots(t)
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			s := startPasskeyIssuer(t, d.url(t))
			uid := registerUser(t, s, "keyholder")
			party := newRelyingParty(t, s)
			b := newTab(t, newChromium(t, 3*time.Minute), s, shots)
			shot := func(name string) {
				if d.name == "sqlite" {
					b.shot(name)
				} else {
					b.assertSound()
				}
			}
			auth := virtualAuthenticator(b)
			noAutofill := withoutAutofill(b)

			// The sign-in page offers passkeys, in the login field's
			// autofill too.
			res := b.open("/ui/login")
			require.Equal(t, http.StatusOK, int(res.Status))
			b.waitFor(`!document.querySelector("[data-passkey-login]").hidden`)
			assert.Equal(t, "username webauthn", eval[string](b, `document.querySelector("#login").getAttribute("autocomplete")`))

			// A password sign-in, then the passkeys page: none yet.
			res = b.signIn("keyholder")
			require.Equal(t, http.StatusOK, int(res.Status), b.text("main"))
			assert.Equal(t, "/ui/", b.location().Path)
			res = b.open("/ui/account/passkeys")
			require.Equal(t, http.StatusOK, int(res.Status))
			assert.Equal(t, "You have no passkey yet.", b.text("#no-passkeys"))
			assert.Contains(t, b.text("nav.subnav"), "Passkeys")
			b.waitFor(`!document.querySelector("[data-passkey-register]").hidden`)
			shot("passkeys-1-none")

			// Add one: the authenticator holds a discoverable credential
			// for localhost whose user handle is the account.
			b.addPasskey("Work laptop")
			require.Equal(t, 1, b.count(`main table.passkeys tbody tr`))
			row := b.text(`main table.passkeys tbody tr`)
			assert.Contains(t, row, "this device only", "a device-bound passkey")
			assert.Equal(t, "Work laptop", eval[string](b, `document.querySelector("main table.passkeys tbody tr input[name=name]").value`))
			assert.Equal(t, "—", b.text(`main table.passkeys tbody tr td:nth-child(3)`), "never used yet")
			shot("passkeys-2-added")
			creds := credentials(b, auth)
			require.Len(t, creds, 1)
			assert.True(t, creds[0].IsResidentCredential, "a discoverable credential (resident key)")
			assert.Equal(t, "localhost", creds[0].RpID)
			assert.Equal(t, strings.ReplaceAll(uid, "-", ""), fmt.Sprintf("%x", creds[0].UserHandle), "the user handle is the account's id")

			// Sign out, sign in with the passkey: no password typed.
			b.signOut()
			res = b.open("/ui/login")
			require.Equal(t, http.StatusOK, int(res.Status))
			b.waitFor(`!document.querySelector("[data-passkey-login]").hidden`)
			shot("passkeys-3-sign-in")
			b.press(`[data-passkey-signin]`)
			b.landOn("/ui/")
			assert.Equal(t, "keyholder@example.com", b.text("header.top .who"), "signed in with the passkey")
			assert.Empty(t, eval[string](b, `(document.querySelector("#password") || {value: ""}).value`))
			creds = credentials(b, auth)
			require.Len(t, creds, 1)
			assert.Positive(t, creds[0].SignCount, "the authenticator signed")

			// The passkeys page shows the use; rename it.
			res = b.open("/ui/account/passkeys")
			require.Equal(t, http.StatusOK, int(res.Status))
			assert.NotEqual(t, "—", b.text(`main table.passkeys tbody tr td:nth-child(3)`), "last used now")
			eval[bool](b, `(document.querySelector("main table.passkeys tbody tr input[name=name]").value = "") === ""`)
			res = b.click(`main table.passkeys tbody tr form[action="/ui/account/passkeys/rename"] button[type=submit]`)
			assert.Equal(t, http.StatusUnprocessableEntity, int(res.Status), "an empty name is refused")
			assert.Equal(t, "Check the name marked below.", b.text("main p.error"))
			assert.Equal(t, "true", eval[string](b, `document.querySelector("main table.passkeys tbody tr input[name=name]").getAttribute("aria-invalid")`))
			b.fill(`main table.passkeys tbody tr input[name=name]`, "Laptop (Chromium)")
			res = b.click(`main table.passkeys tbody tr form[action="/ui/account/passkeys/rename"] button[type=submit]`)
			require.Equal(t, http.StatusOK, int(res.Status), b.text("main"))
			assert.Equal(t, "The passkey is renamed.", b.notice())
			assert.Equal(t, "Laptop (Chromium)", eval[string](b, `document.querySelector("main table.passkeys tbody tr input[name=name]").value`))
			shot("passkeys-4-used")

			// A client of the provider: its sign-in page offers the
			// passkey in the login field's autofill, the virtual
			// authenticator picks it, and the browser lands on the
			// client's callback.
			b.signOut()
			withAutofill(b, noAutofill)
			b.open(party.srv.URL + "/login")
			b.waitAcross(`document.querySelector("#signed-in") !== null`)
			assert.Contains(t, b.text("#signed-in"), "Signed in as keyholder@example.com")
			tk := party.tokens()
			require.NotNil(t, tk, "the RP library exchanged the code and verified the ID token")
			assert.Equal(t, uid, tk.IDTokenClaims.Subject)
			amr := []string(tk.IDTokenClaims.AuthenticationMethodsReferences)
			assert.True(t, slices.Contains(amr, "hwk") || slices.Contains(amr, "swk"), "amr names a key: %v", amr)
			assert.NotContains(t, amr, "pwd", "no password: %v", amr)

			// Delete it: the authenticator still has it, the site no more.
			withoutAutofill(b)
			res = b.open("/ui/account/passkeys")
			require.Equal(t, http.StatusOK, int(res.Status))
			res = b.click(`main table.passkeys tbody tr form[action="/ui/account/passkeys/delete"] button[type=submit]`)
			require.Equal(t, http.StatusOK, int(res.Status), b.text("main"))
			assert.Equal(t, "The passkey is deleted: it no longer signs you in.", b.notice())
			assert.Equal(t, "You have no passkey yet.", b.text("#no-passkeys"))
			b.signOut()
			b.open("/ui/login")
			b.press(`[data-passkey-signin]`)
			assert.NotEmpty(t, b.alertText(), "a deleted passkey is refused, and the page says so")
			assert.Equal(t, "/ui/login", b.location().Path)
			shot("passkeys-5-refused")
			b.assertCSPClean()
		})
	}
}

// TestPasskeyAsSecondFactorInARealBrowser: a person with TOTP adds a
// passkey, then signs in with their password and the passkey in place of
// a code.
func TestPasskeyAsSecondFactorInARealBrowser(t *testing.T) {
	requireChromium(t)
	shots := screenshots(t)
	s := startPasskeyIssuer(t, dbtest.SQLiteURL(t))
	registerUser(t, s, "twostep")
	secret := enableTOTP(t, s, login(t, s, "twostep"))
	b := newTab(t, newChromium(t, 2*time.Minute), s, shots)
	virtualAuthenticator(b)
	withoutAutofill(b)

	// Password and code, then a passkey.
	res := b.signIn("twostep")
	require.Equal(t, http.StatusOK, int(res.Status), b.text("main"))
	require.Equal(t, "Two-step verification", b.heading())
	code, err := totp.GenerateCode(secret, time.Now().Add(30*time.Second))
	require.NoError(t, err)
	b.fill(`#mfa_code`, code)
	res = b.click(`main form[action="/ui/login/mfa"] button[type=submit]`)
	require.Equal(t, http.StatusOK, int(res.Status), b.text("main"))
	require.Equal(t, "/ui/", b.location().Path)
	b.addPasskey("Phone")
	b.signOut()

	// Password, then the passkey instead of a code.
	res = b.signIn("twostep")
	require.Equal(t, http.StatusOK, int(res.Status), b.text("main"))
	require.Equal(t, "Two-step verification", b.heading())
	b.waitFor(`!document.querySelector("[data-passkey-login]").hidden`)
	assert.Equal(t, "Use a passkey instead", b.text(`[data-passkey-signin]`))
	b.shot("passkeys-6-second-factor")
	b.press(`[data-passkey-signin]`)
	b.landOn("/ui/")
	assert.Equal(t, "twostep@example.com", b.text("header.top .who"), "signed in with password and passkey")
	b.assertCSPClean()
}

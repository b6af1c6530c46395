package http

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/domain"
)

// passkeyHandlers serve passkeys (WebAuthn): registering and managing them
// from a signed-in session, and signing in with one, without a password or
// as the second factor of a password sign-in. The ceremonies' options are
// the library's JSON, passed through as is; the browser's answers are
// checked here for shape (so a malformed one is a 4xx naming the field)
// and by the library for everything else.
type passkeyHandlers struct {
	passkeys  *application.Passkeys
	signIn    *application.Login
	bodyLimit int64
}

type passkeyRegistrationRequest struct {
	CeremonyID string          `json:"ceremony_id"`
	Credential json.RawMessage `json:"credential"`
	Name       string          `json:"name"`
}

type passkeyRenameRequest struct {
	Name string `json:"name"`
}

// passkeyLoginOptionsRequest is empty for a passwordless sign-in; with a
// login and password it begins a password sign-in whose second factor is
// a passkey.
type passkeyLoginOptionsRequest struct {
	Login    string `json:"login"`
	Password string `json:"password"`
}

type passkeyLoginRequest struct {
	CeremonyID string          `json:"ceremony_id"`
	Credential json.RawMessage `json:"credential"`
	MFATicket  string          `json:"mfa_ticket"`
}

// ceremonyResponse is a ceremony's first step: the options for
// navigator.credentials.create or .get (an object whose publicKey member
// is the PublicKeyCredentialCreationOptions or RequestOptions JSON), and
// the id to send back with the browser's answer.
type ceremonyResponse struct {
	CeremonyID string          `json:"ceremony_id"`
	Options    json.RawMessage `json:"options"`
	ExpiresIn  int64           `json:"expires_in"`
	// MFATicket, in the second-factor mode, goes back with the answer.
	MFATicket string `json:"mfa_ticket,omitempty"`
}

type passkeyResponse struct {
	ID             string     `json:"id"`
	Name           string     `json:"name"`
	CreatedAt      time.Time  `json:"created_at"`
	LastUsedAt     *time.Time `json:"last_used_at"`
	BackedUp       bool       `json:"backed_up"`
	BackupEligible bool       `json:"backup_eligible"`
	Transports     []string   `json:"transports"`
}

// passkeySignInResponse is the token pair of a password login and how the
// person authenticated (RFC 8176 amr values).
type passkeySignInResponse struct {
	tokenResponse
	AMR []string `json:"amr"`
}

func newPasskeyResponse(p domain.Passkey) passkeyResponse {
	return passkeyResponse{ID: p.ID.String(), Name: p.Name, CreatedAt: p.CreatedAt, LastUsedAt: p.LastUsedAt,
		BackedUp: p.BackedUp, BackupEligible: p.BackupEligible, Transports: nonNil(p.Transports)}
}

func newCeremonyResponse(c application.Ceremony, ticket string) ceremonyResponse {
	return ceremonyResponse{CeremonyID: c.ID, Options: c.Options, ExpiresIn: int64((c.ExpiresIn + time.Second - 1) / time.Second),
		MFATicket: ticket}
}

func newPasskeySignInResponse(s application.PasskeySignIn) passkeySignInResponse {
	return passkeySignInResponse{tokenResponse: newTokenResponse(s.Pair), AMR: nonNil(s.AMR)}
}

// errNoPasskey is a path id that names no passkey of the caller.
var errNoPasskey = domain.ErrPasskeyNotFound

func (h *passkeyHandlers) registerOptions(c echo.Context) error {
	var req passwordRequest
	if err := bindJSON(c, h.bodyLimit, &req); err != nil {
		return err
	}
	if req.Password == "" {
		return domain.Invalid(domain.FieldError{Field: "password", Code: "required",
			Message: "the password is required to register a passkey"})
	}
	cer, err := h.passkeys.BeginRegistration(c.Request().Context(), principal(c), application.Reauth{Password: req.Password})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newCeremonyResponse(cer, ""))
}

func (h *passkeyHandlers) register(c echo.Context) error {
	var req passkeyRegistrationRequest
	if err := bindJSON(c, h.bodyLimit, &req); err != nil {
		return err
	}
	if err := checkCeremony(req.CeremonyID, req.Credential, attestationFields); err != nil {
		return err
	}
	pk, err := h.passkeys.FinishRegistration(c.Request().Context(), principal(c), req.CeremonyID, req.Credential, req.Name)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, newPasskeyResponse(pk))
}

func (h *passkeyHandlers) list(c echo.Context) error {
	keys, err := h.passkeys.List(c.Request().Context(), principal(c))
	if err != nil {
		return err
	}
	out := make([]passkeyResponse, len(keys))
	for i, k := range keys {
		out[i] = newPasskeyResponse(k)
	}
	return list(c, out, "")
}

func (h *passkeyHandlers) rename(c echo.Context) error {
	id, err := pathID(c, "id", errNoPasskey)
	if err != nil {
		return err
	}
	var req passkeyRenameRequest
	if err := bindJSON(c, h.bodyLimit, &req); err != nil {
		return err
	}
	ctx, p := c.Request().Context(), principal(c)
	if err := h.passkeys.Rename(ctx, p, id, req.Name); err != nil {
		return err
	}
	keys, err := h.passkeys.List(ctx, p)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.ID == id {
			return c.JSON(http.StatusOK, newPasskeyResponse(k))
		}
	}
	// Deleted between the two calls.
	return errNoPasskey
}

func (h *passkeyHandlers) delete(c echo.Context) error {
	id, err := pathID(c, "id", errNoPasskey)
	if err != nil {
		return err
	}
	if err := h.passkeys.Delete(c.Request().Context(), principal(c), id); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// loginOptions begins a passkey sign-in. Without a body (or with {}) any
// discoverable passkey may answer. With a login and password, the password
// is checked as by POST /auth/login: a wrong one is the same 401, and when
// the account's second factor is all that is missing the answer carries an
// MFA ticket and options for the account's own passkeys. An account
// without a second factor is signed in by its password alone, as by
// /auth/login: the answer is then the token pair.
func (h *passkeyHandlers) loginOptions(c echo.Context) error {
	var req passkeyLoginOptionsRequest
	if c.Request().ContentLength != 0 {
		if err := bindJSON(c, h.bodyLimit, &req); err != nil {
			return err
		}
	}
	ctx := c.Request().Context()
	if req.Login == "" && req.Password == "" {
		cer, err := h.passkeys.BeginLogin(ctx)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, newCeremonyResponse(cer, ""))
	}
	pair, ticket, err := h.signIn.Begin(ctx, application.LoginInput{Login: req.Login, Password: req.Password})
	switch {
	case ticket != "" && errors.Is(err, domain.ErrMFARequired):
		cer, err := h.passkeys.BeginSecondFactor(ctx, ticket)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, newCeremonyResponse(cer, ticket))
	case err != nil:
		return err
	default:
		return c.JSON(http.StatusOK, newPasskeySignInResponse(application.PasskeySignIn{Pair: pair, AMR: []string{"pwd"}}))
	}
}

func (h *passkeyHandlers) login(c echo.Context) error {
	var req passkeyLoginRequest
	if err := bindJSON(c, h.bodyLimit, &req); err != nil {
		return err
	}
	if err := checkCeremony(req.CeremonyID, req.Credential, assertionFields); err != nil {
		return err
	}
	ctx := c.Request().Context()
	var (
		in  application.PasskeySignIn
		err error
	)
	if req.MFATicket != "" {
		in, err = h.passkeys.FinishSecondFactor(ctx, req.MFATicket, req.CeremonyID, req.Credential)
	} else {
		in, err = h.passkeys.FinishLogin(ctx, req.CeremonyID, req.Credential)
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newPasskeySignInResponse(in))
}

// maxCeremonyID bounds a ceremony id; a longer one names no ceremony.
const maxCeremonyID = 256

// credentialField is a member of a PublicKeyCredential's response.
type credentialField struct {
	name     string
	required bool
	// json marks the clientDataJSON, which must decode to a JSON object.
	json bool
}

// attestationFields are an AuthenticatorAttestationResponse's binary
// members (navigator.credentials.create); assertionFields an
// AuthenticatorAssertionResponse's (.get).
var (
	attestationFields = []credentialField{{name: "clientDataJSON", required: true, json: true}, {name: "attestationObject", required: true}}
	assertionFields   = []credentialField{{name: "clientDataJSON", required: true, json: true}, {name: "authenticatorData", required: true},
		{name: "signature", required: true}, {name: "userHandle"}}
)

// checkCeremony checks a ceremony's second request before the library
// sees it: the ceremony id is there, and the credential is a
// PublicKeyCredential in its JSON form (RegistrationResponseJSON or
// AuthenticationResponseJSON: binary members in base64url), each broken
// member named in one 422.
func checkCeremony(ceremonyID string, raw json.RawMessage, fields []credentialField) error {
	var bad []domain.FieldError
	add := func(field, code, msg string) {
		bad = append(bad, domain.FieldError{Field: field, Code: code, Message: msg})
	}
	if strings.TrimSpace(ceremonyID) == "" {
		add("ceremony_id", "required", "the ceremony_id of the options is required")
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		add("credential", "required", "the PublicKeyCredential the browser returned is required, as JSON")
		return domain.Invalid(bad...)
	}
	var cred struct {
		ID       json.RawMessage            `json:"id"`
		RawID    json.RawMessage            `json:"rawId"`
		Type     json.RawMessage            `json:"type"`
		Response map[string]json.RawMessage `json:"response"`
	}
	if raw[0] != '{' || json.Unmarshal(raw, &cred) != nil {
		add("credential", "invalid_credential",
			"must be the PublicKeyCredential the browser returned, as a JSON object (its toJSON(), binary members in base64url)")
		return domain.Invalid(bad...)
	}
	id, idOK := credentialBytes(cred.ID, "credential.id", true, &bad)
	if idOK && len(cred.ID) > 0 && bytes.ContainsRune(cred.ID, '=') {
		add("credential.id", "invalid_base64", "must be base64url without padding")
	}
	rawID, rawOK := credentialBytes(cred.RawID, "credential.rawId", true, &bad)
	if idOK && rawOK && !bytes.Equal(id, rawID) {
		add("credential.rawId", "invalid_credential", "must name the same credential as id")
	}
	var typ string
	if len(cred.Type) == 0 || json.Unmarshal(cred.Type, &typ) != nil || typ != "public-key" {
		add("credential.type", "invalid_credential", `must be "public-key"`)
	}
	if cred.Response == nil {
		add("credential.response", "required", "the authenticator's response object is required")
		return domain.Invalid(bad...)
	}
	for _, f := range fields {
		name := "credential.response." + f.name
		b, ok := credentialBytes(cred.Response[f.name], name, f.required, &bad)
		if ok && f.json && len(b) > 0 {
			var cd map[string]any
			if json.Unmarshal(b, &cd) != nil {
				add(name, "invalid_json", "must be base64url of the client data JSON object")
			}
		}
	}
	if len(bad) > 0 {
		return domain.Invalid(bad...)
	}
	if len(ceremonyID) > maxCeremonyID {
		return domain.ErrCeremonyExpired
	}
	return nil
}

// credentialBytes decodes a base64url JSON string member (padding
// tolerated, as the library does). Absent or null is an error only when
// required; anything else that is not base64url is one.
func credentialBytes(v json.RawMessage, field string, required bool, bad *[]domain.FieldError) ([]byte, bool) {
	if len(v) == 0 || bytes.Equal(v, []byte("null")) {
		if required {
			*bad = append(*bad, domain.FieldError{Field: field, Code: "required", Message: "is required"})
		}
		return nil, false
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		*bad = append(*bad, domain.FieldError{Field: field, Code: "invalid_type", Message: "must be a base64url string"})
		return nil, false
	}
	if s == "" && required {
		*bad = append(*bad, domain.FieldError{Field: field, Code: "required", Message: "is required"})
		return nil, false
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
	if err != nil {
		*bad = append(*bad, domain.FieldError{Field: field, Code: "invalid_base64",
			Message: "must be base64url (RFC 4648 §5: A-Z a-z 0-9 - _)"})
		return nil, false
	}
	return b, true
}

package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/descope/virtualwebauthn"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/bootstrap"
	"github.com/ums-project/ums/test/dbtest"
)

const (
	passkeyRegisterOptionsPath = "/api/v1/me/passkeys/register/options"
	passkeyRegisterPath        = "/api/v1/me/passkeys/register"
	passkeysPath               = "/api/v1/me/passkeys"
	passkeyLoginOptionsPath    = "/api/v1/auth/passkeys/login/options"
	passkeyLoginPath           = "/api/v1/auth/passkeys/login"
)

// passkeyRP is the relying party of a test server, which the defaults
// derive from PUBLIC_URL (http://localhost:8080): what a browser on that
// origin would put in its answers.
var passkeyRP = virtualwebauthn.RelyingParty{Name: "UMS", ID: "localhost", Origin: "http://localhost:8080"}

// passkeyDevice is an authenticator holding one passkey, standing in for
// the browser and the security key or phone.
type passkeyDevice struct {
	auth virtualwebauthn.Authenticator
	cred virtualwebauthn.Credential
}

// newPasskeyDevice is a device-bound passkey, or a synced one (backup
// eligible and backed up, as iCloud Keychain's); both verify the person.
func newPasskeyDevice(synced bool) *passkeyDevice {
	return &passkeyDevice{
		auth: virtualwebauthn.NewAuthenticatorWithOptions(virtualwebauthn.AuthenticatorOptions{
			BackupEligible: synced, BackupState: synced}),
		cred: newEC2Credential(),
	}
}

// newEC2Credential is virtualwebauthn.NewCredential(KeyTypeEC2) with a key
// whose coordinates have no leading zero byte: the package writes them
// with big.Int.Bytes, so one key in 128 would come out with a short
// coordinate, which the server rightly refuses as a malformed COSE key.
func newEC2Credential() virtualwebauthn.Credential {
	for {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		point, err := k.PublicKey.Bytes() // 0x04 || X || Y
		if err != nil {
			panic(err)
		}
		if point[1] == 0 || point[33] == 0 {
			continue
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			panic(err)
		}
		return virtualwebauthn.NewCredentialWithImportedKey(virtualwebauthn.KeyTypeEC2, der)
	}
}

// clone is a second authenticator holding the same key at the same
// counter: what an extracted key looks like.
func (d *passkeyDevice) clone() *passkeyDevice {
	c := *d
	return &c
}

// forged holds the same credential id under another key: its signatures
// never verify.
func (d *passkeyDevice) forged() *passkeyDevice {
	c := *d
	c.cred.Key = newEC2Credential().Key
	return &c
}

// ceremony is the first step's answer.
type ceremony struct {
	ID        string          `json:"ceremony_id"`
	Options   json.RawMessage `json:"options"`
	ExpiresIn int             `json:"expires_in"`
	MFATicket string          `json:"mfa_ticket"`
}

func decodeCeremony(t *testing.T, res response) ceremony {
	t.Helper()
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	var c ceremony
	require.NoError(t, json.Unmarshal(res.Body, &c))
	require.NotEmpty(t, c.ID)
	require.Positive(t, c.ExpiresIn)
	return c
}

// attest answers creation options as navigator.credentials.create() would.
func (d *passkeyDevice) attest(t *testing.T, c ceremony) json.RawMessage {
	t.Helper()
	opts, err := virtualwebauthn.ParseAttestationOptions(string(c.Options))
	require.NoError(t, err, string(c.Options))
	require.Equal(t, passkeyRP.ID, opts.RelyingPartyID)
	// The user handle comes back in every passwordless assertion.
	d.auth.Options.UserHandle = []byte(opts.UserID)
	return json.RawMessage(virtualwebauthn.CreateAttestationResponse(passkeyRP, d.auth, d.cred, *opts))
}

// assert answers request options as navigator.credentials.get() would;
// every use advances the signature counter, as an authenticator's does.
func (d *passkeyDevice) assert(t *testing.T, c ceremony) json.RawMessage {
	t.Helper()
	opts, err := virtualwebauthn.ParseAssertionOptions(string(c.Options))
	require.NoError(t, err, string(c.Options))
	d.cred.Counter++
	return json.RawMessage(virtualwebauthn.CreateAssertionResponse(passkeyRP, d.auth, d.cred, *opts))
}

// registerPasskey registers d for the holder of token.
func registerPasskey(t *testing.T, s *server, token string, d *passkeyDevice, name string) map[string]any {
	t.Helper()
	c := decodeCeremony(t, s.authed(t, http.MethodPost, passkeyRegisterOptionsPath, token, map[string]any{"password": testPass}))
	body := map[string]any{"ceremony_id": c.ID, "credential": d.attest(t, c)}
	if name != "" {
		body["name"] = name
	}
	res := s.authed(t, http.MethodPost, passkeyRegisterPath, token, body)
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))
	return res.JSON(t)
}

// passkeyOptions begins a passwordless sign-in.
func passkeyOptions(t *testing.T, s *server) ceremony {
	t.Helper()
	return decodeCeremony(t, s.postJSON(t, passkeyLoginOptionsPath, map[string]any{}))
}

// passkeySignIn signs in with d, without a password.
func passkeySignIn(t *testing.T, s *server, d *passkeyDevice) response {
	t.Helper()
	c := passkeyOptions(t, s)
	return s.postJSON(t, passkeyLoginPath, map[string]any{"ceremony_id": c.ID, "credential": d.assert(t, c)})
}

// passkeySignInResponse is a passkey sign-in's answer.
type passkeySignInResponse struct {
	tokens
	AMR []string `json:"amr"`
}

func decodeSignIn(t *testing.T, res response) passkeySignInResponse {
	t.Helper()
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	var out passkeySignInResponse
	require.NoError(t, json.Unmarshal(res.Body, &out))
	require.NotEmpty(t, out.AccessToken)
	require.NotEmpty(t, out.RefreshToken)
	return out
}

// problemCode is a problem's code, with its field errors' "field:code".
func problemCode(t *testing.T, res response) (string, []string) {
	t.Helper()
	require.True(t, strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json"), string(res.Body))
	var p struct {
		Code   string `json:"code"`
		Errors []struct {
			Field string `json:"field"`
			Code  string `json:"code"`
		} `json:"errors"`
	}
	require.NoError(t, json.Unmarshal(res.Body, &p))
	var fields []string
	for _, f := range p.Errors {
		fields = append(fields, f.Field+":"+f.Code)
	}
	return p.Code, fields
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func randomCeremonyID(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b64(b)
}

func countRows(t *testing.T, s *server, query string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, s.db.NewRaw(query, args...).Scan(context.Background(), &n))
	return n
}

func TestPasskeys(t *testing.T) {
	forEachDialect(t, func(t *testing.T, s *server) {
		t.Run("registration_needs_a_signed_in_user_and_the_password", func(t *testing.T) {
			registerUser(t, s, "pk_reauth")
			tk := login(t, s, "pk_reauth", testPass)
			assert.Equal(t, http.StatusUnauthorized,
				s.authed(t, http.MethodPost, passkeyRegisterOptionsPath, "", map[string]any{"password": testPass}).Status)
			res := s.authed(t, http.MethodPost, passkeyRegisterOptionsPath, tk.AccessToken, map[string]any{"password": "not the password"})
			assert.Equal(t, http.StatusUnprocessableEntity, res.Status, string(res.Body))
			_, fields := problemCode(t, res)
			assert.Len(t, fields, 1)
			assert.True(t, strings.HasPrefix(fields[0], "password:"), fields)
			res = s.authed(t, http.MethodPost, passkeyRegisterOptionsPath, tk.AccessToken, map[string]any{})
			assert.Equal(t, http.StatusUnprocessableEntity, res.Status, string(res.Body))
			assert.Equal(t, http.StatusBadRequest,
				s.authed(t, http.MethodPost, passkeyRegisterOptionsPath, tk.AccessToken, map[string]any{"password": testPass, "x": 1}).Status)

			// The options ask for a discoverable credential of this relying
			// party, for this user, verified if possible, without attestation.
			c := decodeCeremony(t, s.authed(t, http.MethodPost, passkeyRegisterOptionsPath, tk.AccessToken, map[string]any{"password": testPass}))
			var o struct {
				PublicKey struct {
					RP struct {
						ID   string `json:"id"`
						Name string `json:"name"`
					} `json:"rp"`
					User struct {
						Name string `json:"name"`
					} `json:"user"`
					Challenge              string `json:"challenge"`
					AuthenticatorSelection struct {
						ResidentKey      string `json:"residentKey"`
						UserVerification string `json:"userVerification"`
					} `json:"authenticatorSelection"`
					Attestation string `json:"attestation"`
				} `json:"publicKey"`
			}
			require.NoError(t, json.Unmarshal(c.Options, &o))
			assert.Equal(t, "localhost", o.PublicKey.RP.ID)
			assert.Equal(t, "UMS", o.PublicKey.RP.Name)
			assert.Equal(t, "pk_reauth", o.PublicKey.User.Name)
			assert.NotEmpty(t, o.PublicKey.Challenge)
			assert.Equal(t, "required", o.PublicKey.AuthenticatorSelection.ResidentKey)
			assert.Equal(t, "preferred", o.PublicKey.AuthenticatorSelection.UserVerification)
			assert.Contains(t, []string{"", "none"}, o.PublicKey.Attestation)
		})

		t.Run("register_list_rename_and_sign_in_without_a_password", func(t *testing.T) {
			registerUser(t, s, "pk_main")
			tk := login(t, s, "pk_main", testPass)
			laptop, phone := newPasskeyDevice(false), newPasskeyDevice(true)

			first := registerPasskey(t, s, tk.AccessToken, laptop, "Laptop")
			assert.Equal(t, "Laptop", first["name"])
			assert.Equal(t, false, first["backed_up"])
			assert.Equal(t, false, first["backup_eligible"])
			assert.Nil(t, first["last_used_at"])
			second := registerPasskey(t, s, tk.AccessToken, phone, "")
			assert.Equal(t, "Passkey 2", second["name"], "a default name")
			assert.Equal(t, true, second["backed_up"])
			assert.Equal(t, true, second["backup_eligible"])

			// The same authenticator again is refused: its credential is
			// excluded by the options (a browser would not even offer it).
			c := decodeCeremony(t, s.authed(t, http.MethodPost, passkeyRegisterOptionsPath, tk.AccessToken, map[string]any{"password": testPass}))
			opts, err := virtualwebauthn.ParseAttestationOptions(string(c.Options))
			require.NoError(t, err)
			assert.True(t, laptop.cred.IsExcludedForAttestation(*opts), "registered passkeys are excluded")
			res := s.authed(t, http.MethodPost, passkeyRegisterPath, tk.AccessToken, map[string]any{"ceremony_id": c.ID, "credential": laptop.attest(t, c)})
			assert.Equal(t, http.StatusUnauthorized, res.Status, string(res.Body))
			code, _ := problemCode(t, res)
			assert.Equal(t, "passkey_refused", code)

			list := s.authed(t, http.MethodGet, passkeysPath, tk.AccessToken, nil)
			require.Equal(t, http.StatusOK, list.Status)
			items := list.JSON(t)["items"].([]any)
			require.Len(t, items, 2)
			assert.Equal(t, first["id"], items[0].(map[string]any)["id"], "oldest first")

			id := first["id"].(string)
			res = s.authed(t, http.MethodPatch, passkeysPath+"/"+id, tk.AccessToken, map[string]any{"name": "  Work laptop "})
			require.Equal(t, http.StatusOK, res.Status, string(res.Body))
			assert.Equal(t, "Work laptop", res.JSON(t)["name"])
			res = s.authed(t, http.MethodPatch, passkeysPath+"/"+id, tk.AccessToken, map[string]any{"name": ""})
			assert.Equal(t, http.StatusUnprocessableEntity, res.Status)
			_, fields := problemCode(t, res)
			assert.Equal(t, []string{"name:invalid"}, fields)
			assert.Equal(t, http.StatusNotFound, s.authed(t, http.MethodPatch, passkeysPath+"/not-an-id", tk.AccessToken, map[string]any{"name": "x"}).Status)
			assert.Equal(t, http.StatusNotFound, s.authed(t, http.MethodPatch, passkeysPath+"/"+uuid.NewString(), tk.AccessToken, map[string]any{"name": "x"}).Status)

			// Another user neither sees nor changes them.
			registerUser(t, s, "pk_other")
			other := login(t, s, "pk_other", testPass)
			assert.Empty(t, s.authed(t, http.MethodGet, passkeysPath, other.AccessToken, nil).JSON(t)["items"])
			assert.Equal(t, http.StatusNotFound, s.authed(t, http.MethodPatch, passkeysPath+"/"+id, other.AccessToken, map[string]any{"name": "mine"}).Status)
			assert.Equal(t, http.StatusNotFound, s.authed(t, http.MethodDelete, passkeysPath+"/"+id, other.AccessToken, nil).Status)

			// Passwordless: no login, no password.
			in := decodeSignIn(t, passkeySignIn(t, s, laptop))
			assert.Equal(t, []string{"hwk", "user"}, in.AMR)
			assert.Equal(t, "Bearer", in.TokenType)
			me := s.authed(t, http.MethodGet, "/api/v1/me", in.AccessToken, nil)
			require.Equal(t, http.StatusOK, me.Status)
			assert.Equal(t, "pk_main", me.JSON(t)["username"])
			_, refreshed := refresh(t, s, in.RefreshToken)
			assert.NotEmpty(t, refreshed.AccessToken, "a passkey session refreshes like any other")

			synced := decodeSignIn(t, passkeySignIn(t, s, phone))
			assert.Equal(t, []string{"swk", "user"}, synced.AMR)

			items = s.authed(t, http.MethodGet, passkeysPath, tk.AccessToken, nil).JSON(t)["items"].([]any)
			for _, it := range items {
				assert.NotNil(t, it.(map[string]any)["last_used_at"], "a use is recorded")
			}
			sessions := s.authed(t, http.MethodGet, "/api/v1/me/sessions", tk.AccessToken, nil).JSON(t)["items"].([]any)
			assert.Len(t, sessions, 3, "the password sign-in and both passkey sign-ins")
		})

		t.Run("ceremony_ids_are_single_use", func(t *testing.T) {
			registerUser(t, s, "pk_once")
			tk := login(t, s, "pk_once", testPass)
			d := newPasskeyDevice(false)

			// A registration ceremony is spent by its first answer.
			c := decodeCeremony(t, s.authed(t, http.MethodPost, passkeyRegisterOptionsPath, tk.AccessToken, map[string]any{"password": testPass}))
			answer := d.attest(t, c)
			require.Equal(t, http.StatusCreated, s.authed(t, http.MethodPost, passkeyRegisterPath, tk.AccessToken,
				map[string]any{"ceremony_id": c.ID, "credential": answer}).Status)
			res := s.authed(t, http.MethodPost, passkeyRegisterPath, tk.AccessToken, map[string]any{"ceremony_id": c.ID, "credential": answer})
			assert.Equal(t, http.StatusUnauthorized, res.Status)
			code, _ := problemCode(t, res)
			assert.Equal(t, "ceremony_expired", code)

			// So is a sign-in's, whether it succeeded or not.
			c = passkeyOptions(t, s)
			require.Equal(t, http.StatusOK, s.postJSON(t, passkeyLoginPath, map[string]any{"ceremony_id": c.ID, "credential": d.assert(t, c)}).Status)
			res = s.postJSON(t, passkeyLoginPath, map[string]any{"ceremony_id": c.ID, "credential": d.assert(t, c)})
			assert.Equal(t, http.StatusUnauthorized, res.Status)
			code, _ = problemCode(t, res)
			assert.Equal(t, "ceremony_expired", code)

			c = passkeyOptions(t, s)
			res = s.postJSON(t, passkeyLoginPath, map[string]any{"ceremony_id": c.ID, "credential": d.forged().assert(t, c)})
			assert.Equal(t, http.StatusUnauthorized, res.Status)
			code, _ = problemCode(t, res)
			assert.Equal(t, "passkey_refused", code)
			res = s.postJSON(t, passkeyLoginPath, map[string]any{"ceremony_id": c.ID, "credential": d.assert(t, c)})
			code, _ = problemCode(t, res)
			assert.Equal(t, "ceremony_expired", code, "a refused answer spends the ceremony too")

			// A registration's ceremony does not sign in, and an unknown id
			// names nothing.
			c = decodeCeremony(t, s.authed(t, http.MethodPost, passkeyRegisterOptionsPath, tk.AccessToken, map[string]any{"password": testPass}))
			res = s.postJSON(t, passkeyLoginPath, map[string]any{"ceremony_id": c.ID, "credential": d.assert(t, passkeyOptions(t, s))})
			code, _ = problemCode(t, res)
			assert.Equal(t, "ceremony_expired", code)
			res = s.postJSON(t, passkeyLoginPath, map[string]any{"ceremony_id": randomCeremonyID(t), "credential": d.assert(t, passkeyOptions(t, s))})
			assert.Equal(t, http.StatusUnauthorized, res.Status)
			code, _ = problemCode(t, res)
			assert.Equal(t, "ceremony_expired", code)

			// The genuine passkey still works.
			decodeSignIn(t, passkeySignIn(t, s, d))
		})

		t.Run("a_cloned_authenticator_is_refused", func(t *testing.T) {
			registerUser(t, s, "pk_clone")
			tk := login(t, s, "pk_clone", testPass)
			d := newPasskeyDevice(false)
			registerPasskey(t, s, tk.AccessToken, d, "Key")
			decodeSignIn(t, passkeySignIn(t, s, d))

			clone := d.clone()
			decodeSignIn(t, passkeySignIn(t, s, d))
			// The clone signs with the counter the original already used.
			res := passkeySignIn(t, s, clone)
			assert.Equal(t, http.StatusUnauthorized, res.Status, string(res.Body))
			code, _ := problemCode(t, res)
			assert.Equal(t, "passkey_refused", code)
			assert.Equal(t, 1, countRows(t, s, "SELECT count(*) FROM audit_events WHERE action = 'auth.passkey_counter_regressed'"))
			// The original, still ahead, goes on working.
			decodeSignIn(t, passkeySignIn(t, s, d))
		})

		t.Run("malformed_answers_are_clear_4xx", func(t *testing.T) {
			registerUser(t, s, "pk_bad")
			tk := login(t, s, "pk_bad", testPass)
			id := b64([]byte("credential-id"))
			cred := func(edit func(m map[string]any)) map[string]any {
				m := map[string]any{"id": id, "rawId": id, "type": "public-key", "response": map[string]any{
					"clientDataJSON": b64([]byte(`{"type":"webauthn.get"}`)), "authenticatorData": b64([]byte("data")),
					"signature": b64([]byte("sig")), "attestationObject": b64([]byte("att")),
				}}
				if edit != nil {
					edit(m)
				}
				return m
			}
			response := func(m map[string]any) map[string]any { return m["response"].(map[string]any) }
			for _, tc := range []struct {
				name       string
				credential any
				field      string
			}{
				{"missing", nil, "credential:required"},
				{"a_string", "{\"id\":\"x\"}", "credential:invalid_credential"},
				{"an_array", []any{1}, "credential:invalid_credential"},
				{"bad_base64", cred(func(m map[string]any) { response(m)["clientDataJSON"] = "not base64!" }),
					"credential.response.clientDataJSON:invalid_base64"},
				{"client_data_not_json", cred(func(m map[string]any) { response(m)["clientDataJSON"] = b64([]byte("{not json")) }),
					"credential.response.clientDataJSON:invalid_json"},
				{"number_for_signature", cred(func(m map[string]any) { response(m)["signature"] = 42 }),
					"credential.response.signature:invalid_type"},
				{"no_signature", cred(func(m map[string]any) { delete(response(m), "signature") }),
					"credential.response.signature:required"},
				{"wrong_type", cred(func(m map[string]any) { m["type"] = "password" }), "credential.type:invalid_credential"},
				{"ids_differ", cred(func(m map[string]any) { m["rawId"] = b64([]byte("other")) }), "credential.rawId:invalid_credential"},
				{"no_response", cred(func(m map[string]any) { delete(m, "response") }), "credential.response:required"},
			} {
				t.Run(tc.name, func(t *testing.T) {
					c := passkeyOptions(t, s)
					body := map[string]any{"ceremony_id": c.ID}
					if tc.credential != nil {
						body["credential"] = tc.credential
					}
					res := s.postJSON(t, passkeyLoginPath, body)
					require.Equal(t, http.StatusUnprocessableEntity, res.Status, string(res.Body))
					_, fields := problemCode(t, res)
					assert.Contains(t, fields, tc.field)
					// Nothing was spent: the ceremony still finishes.
					res = s.postJSON(t, passkeyLoginPath, map[string]any{"ceremony_id": c.ID, "credential": cred(nil)})
					code, _ := problemCode(t, res)
					assert.Equal(t, "passkey_refused", code, "a well-formed answer of an unknown credential")
				})
			}
			t.Run("registration_answers_too", func(t *testing.T) {
				res := s.authed(t, http.MethodPost, passkeyRegisterPath, tk.AccessToken, map[string]any{"ceremony_id": randomCeremonyID(t),
					"credential": cred(func(m map[string]any) { delete(response(m), "attestationObject") })})
				require.Equal(t, http.StatusUnprocessableEntity, res.Status, string(res.Body))
				_, fields := problemCode(t, res)
				assert.Equal(t, []string{"credential.response.attestationObject:required"}, fields)
				res = s.authed(t, http.MethodPost, passkeyRegisterPath, tk.AccessToken, map[string]any{"credential": cred(nil)})
				_, fields = problemCode(t, res)
				assert.Equal(t, []string{"ceremony_id:required"}, fields)
				res = s.authed(t, http.MethodPost, passkeyRegisterPath, tk.AccessToken, map[string]any{"ceremony_id": randomCeremonyID(t),
					"credential": cred(nil)})
				assert.Equal(t, http.StatusUnauthorized, res.Status)
				code, _ := problemCode(t, res)
				assert.Equal(t, "ceremony_expired", code)
				res = s.authed(t, http.MethodPost, passkeyRegisterPath, tk.AccessToken, map[string]any{"ceremony_id": "../../etc",
					"credential": cred(nil)})
				code, _ = problemCode(t, res)
				assert.Equal(t, "ceremony_expired", code)
			})
			t.Run("bodies", func(t *testing.T) {
				res := s.request(t, http.MethodPost, passkeyLoginPath, "application/json", strings.NewReader(`{"ceremony_id":`), nil)
				assert.Equal(t, http.StatusBadRequest, res.Status)
				res = s.request(t, http.MethodPost, passkeyLoginPath, "text/plain", strings.NewReader(`{}`), nil)
				assert.Equal(t, http.StatusUnsupportedMediaType, res.Status)
				res = s.postJSON(t, passkeyLoginPath, map[string]any{"ceremony_id": "x", "credential": cred(nil), "password": "x"})
				assert.Equal(t, http.StatusBadRequest, res.Status)
				// The options of a passwordless sign-in need no body at all.
				decodeCeremony(t, s.request(t, http.MethodPost, passkeyLoginOptionsPath, "", nil, nil))
			})
		})

		t.Run("a_passkey_is_a_second_factor", func(t *testing.T) {
			registerUser(t, s, "pk_mfa")
			tk := login(t, s, "pk_mfa", testPass)
			d := newPasskeyDevice(false)
			registerPasskey(t, s, tk.AccessToken, d, "Key")
			enableTOTP(t, s, tk.AccessToken, testPass)

			res := s.postJSON(t, passkeyLoginOptionsPath, map[string]any{"login": "pk_mfa", "password": "wrong password"})
			assert.Equal(t, http.StatusUnauthorized, res.Status)
			code, _ := problemCode(t, res)
			assert.Equal(t, "invalid_credentials", code, "the same answer as a password login")
			res = s.postJSON(t, passkeyLoginOptionsPath, map[string]any{"login": "nobody", "password": testPass})
			code, _ = problemCode(t, res)
			assert.Equal(t, "invalid_credentials", code)
			res = s.postJSON(t, passkeyLoginOptionsPath, map[string]any{"password": testPass})
			assert.Equal(t, http.StatusUnprocessableEntity, res.Status)

			c := decodeCeremony(t, s.postJSON(t, passkeyLoginOptionsPath, map[string]any{"login": "pk_mfa", "password": testPass}))
			require.NotEmpty(t, c.MFATicket, "the password was right; the second factor is missing")
			opts, err := virtualwebauthn.ParseAssertionOptions(string(c.Options))
			require.NoError(t, err)
			assert.Equal(t, []string{b64(d.cred.ID)}, opts.AllowCredentials, "options for the account's own passkeys")

			// The ceremony belongs to the ticket: without it, it signs in nobody.
			res = s.postJSON(t, passkeyLoginPath, map[string]any{"ceremony_id": c.ID, "credential": d.assert(t, c)})
			code, _ = problemCode(t, res)
			assert.Equal(t, "ceremony_expired", code)

			c = decodeCeremony(t, s.postJSON(t, passkeyLoginOptionsPath, map[string]any{"login": "pk_mfa@example.com", "password": testPass}))
			in := decodeSignIn(t, s.postJSON(t, passkeyLoginPath, map[string]any{"ceremony_id": c.ID, "credential": d.assert(t, c),
				"mfa_ticket": c.MFATicket}))
			assert.Subset(t, in.AMR, []string{"pwd", "mfa"})
			assert.Equal(t, http.StatusOK, s.authed(t, http.MethodGet, "/api/v1/me", in.AccessToken, nil).Status)

			// A forged ticket is refused.
			c = decodeCeremony(t, s.postJSON(t, passkeyLoginOptionsPath, map[string]any{"login": "pk_mfa", "password": testPass}))
			res = s.postJSON(t, passkeyLoginPath, map[string]any{"ceremony_id": c.ID, "credential": d.assert(t, c),
				"mfa_ticket": c.MFATicket[:len(c.MFATicket)-4] + "AAAA"})
			assert.Equal(t, http.StatusUnauthorized, res.Status)

			// The password alone no longer signs in; a user verifying
			// passkey alone still does (two factors in one).
			res = s.postJSON(t, loginPath, map[string]any{"login": "pk_mfa", "password": testPass})
			assert.NotEqual(t, http.StatusOK, res.Status)
			decodeSignIn(t, passkeySignIn(t, s, d))

			// An account without two-step sign-in is signed in by its
			// password alone, as by /auth/login.
			registerUser(t, s, "pk_one_step")
			in = decodeSignIn(t, s.postJSON(t, passkeyLoginOptionsPath, map[string]any{"login": "pk_one_step", "password": testPass}))
			assert.Equal(t, []string{"pwd"}, in.AMR)
		})

		t.Run("a_deleted_passkey_signs_in_no_more", func(t *testing.T) {
			registerUser(t, s, "pk_delete")
			tk := login(t, s, "pk_delete", testPass)
			d := newPasskeyDevice(false)
			id := registerPasskey(t, s, tk.AccessToken, d, "Key")["id"].(string)
			decodeSignIn(t, passkeySignIn(t, s, d))
			require.Equal(t, http.StatusNoContent, s.authed(t, http.MethodDelete, passkeysPath+"/"+id, tk.AccessToken, nil).Status)
			assert.Equal(t, http.StatusNotFound, s.authed(t, http.MethodDelete, passkeysPath+"/"+id, tk.AccessToken, nil).Status)
			assert.Empty(t, s.authed(t, http.MethodGet, passkeysPath, tk.AccessToken, nil).JSON(t)["items"])
			res := passkeySignIn(t, s, d)
			assert.Equal(t, http.StatusUnauthorized, res.Status)
			code, _ := problemCode(t, res)
			assert.Equal(t, "passkey_refused", code)
		})

		t.Run("the_export_lists_passkeys_without_keys", func(t *testing.T) {
			registerUser(t, s, "pk_export")
			tk := login(t, s, "pk_export", testPass)
			d := newPasskeyDevice(true)
			pk := registerPasskey(t, s, tk.AccessToken, d, "Phone")
			decodeSignIn(t, passkeySignIn(t, s, d))

			res := s.authed(t, http.MethodGet, "/api/v1/me/export", tk.AccessToken, nil)
			require.Equal(t, http.StatusOK, res.Status)
			keys := res.JSON(t)["passkeys"].([]any)
			require.Len(t, keys, 1)
			got := keys[0].(map[string]any)
			var fields []string
			for k := range got {
				fields = append(fields, k)
			}
			sort.Strings(fields)
			assert.Equal(t, []string{"aaguid", "backed_up", "created_at", "id", "last_used_at", "name", "transports"}, fields)
			assert.Equal(t, pk["id"], got["id"])
			assert.Equal(t, "Phone", got["name"])
			assert.Equal(t, true, got["backed_up"])
			assert.NotNil(t, got["last_used_at"])
			assert.Equal(t, hex.EncodeToString(d.auth.Aaguid[:]), got["aaguid"])
			body := string(res.Body)
			assert.NotContains(t, body, b64(d.cred.ID), "no credential id")
			assert.NotContains(t, body, base64.StdEncoding.EncodeToString(d.cred.ID))
			assert.NotContains(t, body, "public_key")

			// The console's file lists them the same way.
			b := newBrowser()
			require.Equal(t, "/ui/", selfSignIn(t, s, b, "pk_export", testPass).URL.Path)
			_, raw := consoleExport(t, s, b)
			var file struct {
				Passkeys []map[string]any `json:"passkeys"`
			}
			require.NoError(t, json.Unmarshal(raw, &file))
			require.Len(t, file.Passkeys, 1, string(raw))
			assert.Equal(t, pk["id"], file.Passkeys[0]["id"])
			assert.Equal(t, "Phone", file.Passkeys[0]["name"])
			assert.Equal(t, hex.EncodeToString(d.auth.Aaguid[:]), file.Passkeys[0]["aaguid"])
			assert.NotContains(t, string(raw), b64(d.cred.ID), "no credential id")
			assert.NotContains(t, string(raw), "public_key")
		})

		t.Run("erasing_the_account_removes_its_passkeys", func(t *testing.T) {
			userID := registerUser(t, s, "pk_erase")
			tk := login(t, s, "pk_erase", testPass)
			d := newPasskeyDevice(false)
			registerPasskey(t, s, tk.AccessToken, d, "Key")
			require.Equal(t, 1, countRows(t, s, "SELECT count(*) FROM passkeys WHERE user_id = ?", userID))
			require.Equal(t, http.StatusNoContent, s.authed(t, http.MethodDelete, "/api/v1/me", tk.AccessToken, map[string]any{"password": testPass}).Status)
			assert.Equal(t, 0, countRows(t, s, "SELECT count(*) FROM passkeys WHERE user_id = ?", userID))
			res := passkeySignIn(t, s, d)
			assert.Equal(t, http.StatusUnauthorized, res.Status)
		})

		t.Run("refused_assertions_lock_the_login_like_wrong_passwords", func(t *testing.T) {
			userID := registerUser(t, s, "pk_lock")
			tk := login(t, s, "pk_lock", testPass)
			d := newPasskeyDevice(false)
			registerPasskey(t, s, tk.AccessToken, d, "Key")
			forged := d.forged()
			for i := range s.cfg.LoginMaxFailures {
				res := passkeySignIn(t, s, forged)
				require.Equal(t, http.StatusUnauthorized, res.Status, "attempt %d: %s", i+1, res.Body)
			}
			res := passkeySignIn(t, s, d)
			assert.Equal(t, http.StatusTooManyRequests, res.Status, "even the genuine passkey: %s", res.Body)
			code, _ := problemCode(t, res)
			assert.Equal(t, "login_locked", code)
			assert.NotEmpty(t, res.Header.Get("Retry-After"))
			res = s.postJSON(t, loginPath, map[string]any{"login": "pk_lock", "password": testPass})
			assert.Equal(t, http.StatusTooManyRequests, res.Status, "the password login of the same name is locked too")
			assert.Positive(t, countRows(t, s, "SELECT count(*) FROM audit_events WHERE action = 'auth.passkey_failed' AND target_id = ?",
				userID))
		})
	})
}

// TestPasskeyCeremonyAcrossInstances begins ceremonies on one instance and
// finishes them on another sharing the database: the state is in the
// store, not in an instance's memory.
func TestPasskeyCeremonyAcrossInstances(t *testing.T) {
	kek := make([]byte, 32)
	_, err := rand.Read(kek)
	require.NoError(t, err)
	env := map[string]string{"KEY_ENCRYPTION_KEY": base64.StdEncoding.EncodeToString(kek), "PUBLIC_URL": passkeyRP.Origin}
	dbURL := dbtest.PostgresURL(t)
	a := startServer(t, dbURL, env)
	b := startServer(t, dbURL, env)

	registerUser(t, a, "pk_cluster")
	tk := login(t, a, "pk_cluster", testPass)
	d := newPasskeyDevice(false)

	c := decodeCeremony(t, a.authed(t, http.MethodPost, passkeyRegisterOptionsPath, tk.AccessToken, map[string]any{"password": testPass}))
	res := b.authed(t, http.MethodPost, passkeyRegisterPath, tk.AccessToken, map[string]any{"ceremony_id": c.ID, "credential": d.attest(t, c)})
	require.Equal(t, http.StatusCreated, res.Status, string(res.Body))

	c = passkeyOptions(t, b)
	answer := d.assert(t, c)
	in := decodeSignIn(t, a.postJSON(t, passkeyLoginPath, map[string]any{"ceremony_id": c.ID, "credential": answer}))
	assert.Equal(t, http.StatusOK, b.authed(t, http.MethodGet, "/api/v1/me", in.AccessToken, nil).Status)
	// Spent on A, it is spent on B too.
	res = b.postJSON(t, passkeyLoginPath, map[string]any{"ceremony_id": c.ID, "credential": answer})
	assert.Equal(t, http.StatusUnauthorized, res.Status)
	code, _ := problemCode(t, res)
	assert.Equal(t, "ceremony_expired", code)

	// The second factor too: options with the password on B, the answer on A.
	enableTOTP(t, a, tk.AccessToken, testPass)
	c = decodeCeremony(t, b.postJSON(t, passkeyLoginOptionsPath, map[string]any{"login": "pk_cluster", "password": testPass}))
	in = decodeSignIn(t, a.postJSON(t, passkeyLoginPath, map[string]any{"ceremony_id": c.ID, "credential": d.assert(t, c),
		"mfa_ticket": c.MFATicket}))
	assert.Subset(t, in.AMR, []string{"pwd", "mfa"})
}

// TestPasskeyConfig checks the relying party settings: defaults from
// PUBLIC_URL, origins written as browsers send them, and the rules a
// browser would otherwise enforce at the first ceremony.
func TestPasskeyConfig(t *testing.T) {
	parse := func(vars map[string]string) (bootstrap.Config, error) {
		base := map[string]string{"ENV": "test"}
		for k, v := range vars {
			base[k] = v
		}
		return bootstrap.ParseConfig(base)
	}
	t.Run("defaults_from_PUBLIC_URL", func(t *testing.T) {
		c, err := parse(nil)
		require.NoError(t, err)
		assert.Equal(t, "localhost", c.WebAuthnRPID)
		assert.Equal(t, []string{"http://localhost:8080"}, c.WebAuthnRPOrigins)
		assert.Equal(t, "UMS", c.WebAuthnRPName)

		c, err = parse(map[string]string{"PUBLIC_URL": "https://Login.Example.com:443/ums/"})
		require.NoError(t, err)
		assert.Equal(t, "login.example.com", c.WebAuthnRPID)
		assert.Equal(t, []string{"https://login.example.com"}, c.WebAuthnRPOrigins)
	})
	t.Run("an_ip_PUBLIC_URL_turns_passkeys_off", func(t *testing.T) {
		c, err := parse(map[string]string{"PUBLIC_URL": "http://127.0.0.1:8080"})
		require.NoError(t, err, "a deployment on an address keeps starting")
		assert.False(t, c.PasskeysEnabled())
		assert.Empty(t, c.WebAuthnRPOrigins)
		c, err = parse(map[string]string{"PUBLIC_URL": "http://127.0.0.1:8080", "WEBAUTHN_RP_ID": "localhost",
			"WEBAUTHN_RP_ORIGINS": "http://localhost:8080"})
		require.NoError(t, err)
		assert.True(t, c.PasskeysEnabled())
	})
	t.Run("a_parent_domain_covers_its_subdomains", func(t *testing.T) {
		c, err := parse(map[string]string{"PUBLIC_URL": "https://login.example.com", "WEBAUTHN_RP_ID": "Example.com",
			"WEBAUTHN_RP_ORIGINS": " https://login.example.com, https://EXAMPLE.com/ ,https://app.example.com:8443", "WEBAUTHN_RP_NAME": "Acme"})
		require.NoError(t, err)
		assert.Equal(t, "example.com", c.WebAuthnRPID)
		assert.Equal(t, []string{"https://login.example.com", "https://example.com", "https://app.example.com:8443"}, c.WebAuthnRPOrigins)
		assert.Equal(t, "Acme", c.WebAuthnRPName)
	})
	for name, vars := range map[string]map[string]string{
		"origin_outside_the_rp_id":   {"WEBAUTHN_RP_ID": "example.com", "WEBAUTHN_RP_ORIGINS": "https://example.org"},
		"lookalike_suffix":           {"WEBAUTHN_RP_ID": "example.com", "WEBAUTHN_RP_ORIGINS": "https://badexample.com"},
		"rp_id_below_the_origin":     {"WEBAUTHN_RP_ID": "login.example.com", "WEBAUTHN_RP_ORIGINS": "https://example.com"},
		"public_suffix":              {"WEBAUTHN_RP_ID": "co.uk", "WEBAUTHN_RP_ORIGINS": "https://example.co.uk"},
		"private_public_suffix":      {"WEBAUTHN_RP_ID": "github.io", "WEBAUTHN_RP_ORIGINS": "https://me.github.io"},
		"tld":                        {"WEBAUTHN_RP_ID": "com", "WEBAUTHN_RP_ORIGINS": "https://example.com"},
		"rp_id_with_port":            {"WEBAUTHN_RP_ID": "example.com:443", "WEBAUTHN_RP_ORIGINS": "https://example.com"},
		"rp_id_with_scheme":          {"WEBAUTHN_RP_ID": "https://example.com", "WEBAUTHN_RP_ORIGINS": "https://example.com"},
		"origin_not_http":            {"WEBAUTHN_RP_ID": "example.com", "WEBAUTHN_RP_ORIGINS": "ftp://example.com"},
		"origin_with_path":           {"WEBAUTHN_RP_ID": "example.com", "WEBAUTHN_RP_ORIGINS": "https://example.com/login"},
		"origin_wildcard":            {"WEBAUTHN_RP_ID": "example.com", "WEBAUTHN_RP_ORIGINS": "https://*.example.com"},
		"ip_rp_id":                   {"WEBAUTHN_RP_ID": "127.0.0.1", "WEBAUTHN_RP_ORIGINS": "http://127.0.0.1:8080"},
		"ip_origin":                  {"WEBAUTHN_RP_ID": "localhost", "WEBAUTHN_RP_ORIGINS": "http://127.0.0.1:8080"},
		"ip_rp_id_for_another_host":  {"WEBAUTHN_RP_ID": "0.0.1", "WEBAUTHN_RP_ORIGINS": "http://127.0.0.1:8080"},
		"origins_without_a_rp_id":    {"PUBLIC_URL": "http://127.0.0.1:8080", "WEBAUTHN_RP_ORIGINS": "http://127.0.0.1:8080"},
		"empty_name":                 {"WEBAUTHN_RP_NAME": " "},
		"rp_id_not_a_domain":         {"WEBAUTHN_RP_ID": "exa_mple.com", "WEBAUTHN_RP_ORIGINS": "https://exa_mple.com"},
		"origin_outside_public_host": {"PUBLIC_URL": "https://ums.example.com", "WEBAUTHN_RP_ORIGINS": "https://example.com"},
	} {
		t.Run("refuses_"+name, func(t *testing.T) {
			_, err := parse(vars)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "WEBAUTHN_RP_")
		})
	}
	t.Run("production_needs_https_except_on_localhost", func(t *testing.T) {
		prod := func(vars map[string]string) error {
			base := map[string]string{"ENV": "production", "DATABASE_URL": "postgres://db/ums",
				"KEY_ENCRYPTION_KEY": base64.StdEncoding.EncodeToString([]byte("0123456789abcdefghijklmnopqrstuvwxyz")),
				"MAIL_DRIVER":        "smtp", "SMTP_HOST": "smtp.example.com", "METRICS_ADDR": "127.0.0.1:9090"}
			for k, v := range vars {
				base[k] = v
			}
			_, err := bootstrap.ParseConfig(base)
			return err
		}
		require.NoError(t, prod(map[string]string{"PUBLIC_URL": "https://ums.example.com"}))
		require.NoError(t, prod(nil), "http://localhost:8080")
		require.NoError(t, prod(map[string]string{"PUBLIC_URL": "https://ums.example.com", "WEBAUTHN_RP_ID": "localhost",
			"WEBAUTHN_RP_ORIGINS": "http://localhost:3000"}))
		err := prod(map[string]string{"PUBLIC_URL": "http://ums.example.com"})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "WEBAUTHN_RP_ORIGINS")
		assert.Contains(t, err.Error(), "https")
		err = prod(map[string]string{"PUBLIC_URL": "https://ums.example.com", "WEBAUTHN_RP_ORIGINS": "https://ums.example.com,http://ums.example.com"})
		require.Error(t, err)
		// Outside production, http is fine (a development machine's name).
		_, err = parse(map[string]string{"PUBLIC_URL": "http://ums.test:8080"})
		require.NoError(t, err)
	})
}

// TestPasskeysOffOnAnIPPublicURL starts a server whose PUBLIC_URL is an IP
// address, which cannot be a relying party: it serves everything but
// passkeys.
func TestPasskeysOffOnAnIPPublicURL(t *testing.T) {
	s := startServer(t, dbtest.SQLiteURL(t), map[string]string{"PUBLIC_URL": "http://127.0.0.1:8080"})
	res := s.postJSON(t, passkeyLoginOptionsPath, map[string]any{})
	assert.Equal(t, http.StatusNotFound, res.Status, string(res.Body))
	registerUser(t, s, "pk_off")
	tk := login(t, s, "pk_off", testPass)
	res = s.authed(t, http.MethodGet, "/api/v1/me/export", tk.AccessToken, nil)
	require.Equal(t, http.StatusOK, res.Status)
	assert.Equal(t, []any{}, res.JSON(t)["passkeys"])
	page, err := s.client.Get(s.base + "/ui/login")
	require.NoError(t, err)
	_ = page.Body.Close()
	assert.Equal(t, http.StatusOK, page.StatusCode, "the sign-in page works without passkeys")
}

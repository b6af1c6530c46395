package webauthn_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/descope/virtualwebauthn"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	uwa "github.com/ums-project/ums/adapters/webauthn"
	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// The relying party under test, and a software authenticator
// (virtualwebauthn) standing in for the browser and the device: it makes
// real attestations and assertions, signed with its own P-256 keys.
const (
	rpID     = "login.example.com"
	rpOrigin = "https://login.example.com"
)

var rp = virtualwebauthn.RelyingParty{ID: rpID, Name: "UMS", Origin: rpOrigin}

func newRP(t *testing.T) *uwa.WebAuthn {
	t.Helper()
	w, err := uwa.New(uwa.Config{RPID: rpID, RPOrigins: []string{rpOrigin}, RPDisplayName: "UMS", Timeout: time.Minute})
	require.NoError(t, err)
	return w
}

// newCredential makes an authenticator key. The software authenticator
// encodes the public key's coordinates without their leading zero bytes,
// which a COSE P-256 key must have; keys whose coordinates have none are
// drawn so that no test fails one time in a hundred.
func newCredential(t *testing.T) virtualwebauthn.Credential {
	t.Helper()
	for {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		if len(k.X.Bytes()) != 32 || len(k.Y.Bytes()) != 32 {
			continue
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		require.NoError(t, err)
		return virtualwebauthn.NewCredentialWithImportedKey(virtualwebauthn.KeyTypeEC2, der)
	}
}

// device is an authenticator holding one credential of one user.
type device struct {
	auth virtualwebauthn.Authenticator
	cred virtualwebauthn.Credential
}

func newDevice(t *testing.T, user ports.PasskeyUser, opts virtualwebauthn.AuthenticatorOptions) *device {
	t.Helper()
	opts.UserHandle = user.ID[:]
	d := &device{auth: virtualwebauthn.NewAuthenticatorWithOptions(opts), cred: newCredential(t)}
	d.auth.AddCredential(d.cred)
	return d
}

func newUser() ports.PasskeyUser {
	return ports.PasskeyUser{ID: uuid.New(), Name: "ada", DisplayName: "Ada Lovelace"}
}

// register runs a registration ceremony with d and returns the passkey as
// the application would store it.
func register(t *testing.T, w *uwa.WebAuthn, user *ports.PasskeyUser, d *device) domain.Passkey {
	t.Helper()
	options, session, err := w.BeginRegistration(*user)
	require.NoError(t, err)
	opts, err := virtualwebauthn.ParseAttestationOptions(string(options))
	require.NoError(t, err)
	resp := virtualwebauthn.CreateAttestationResponse(rp, d.auth, d.cred, *opts)
	pk, err := w.FinishRegistration(*user, session, []byte(resp))
	require.NoError(t, err)
	pk.ID, pk.UserID, pk.Name, pk.CreatedAt = uuid.New(), user.ID, "Passkey", time.Now()
	user.Passkeys = append(user.Passkeys, pk)
	return pk
}

// assertWith makes d's answer to a login ceremony's options, signed
// with counter, as seen by relying party r.
func assertWith(t *testing.T, r virtualwebauthn.RelyingParty, d *device, options []byte, counter uint32) []byte {
	t.Helper()
	opts, err := virtualwebauthn.ParseAssertionOptions(string(options))
	require.NoError(t, err)
	cred := d.cred
	cred.Counter = counter
	return []byte(virtualwebauthn.CreateAssertionResponse(r, d.auth, cred, *opts))
}

// finder answers find from a fixed set of users, recording its calls.
type finder struct {
	users []ports.PasskeyUser
	calls [][2][]byte
}

func (f *finder) find(handle, credentialID []byte) (ports.PasskeyUser, error) {
	f.calls = append(f.calls, [2][]byte{handle, credentialID})
	for _, u := range f.users {
		if string(u.ID[:]) == string(handle) {
			return u, nil
		}
	}
	return ports.PasskeyUser{}, domain.ErrPasskeyNotFound
}

func TestNewChecksTheRelyingParty(t *testing.T) {
	_, err := uwa.New(uwa.Config{RPOrigins: []string{rpOrigin}})
	assert.Error(t, err, "no RP ID")
	_, err = uwa.New(uwa.Config{RPID: rpID})
	assert.Error(t, err, "no origin")
	_, err = uwa.New(uwa.Config{RPID: "https://login.example.com/", RPOrigins: []string{rpOrigin}})
	assert.Error(t, err, "an RP ID is a domain, not a URL")
}

func TestRegistrationAsksForADiscoverableCredentialWithoutAttestation(t *testing.T) {
	w := newRP(t)
	user := newUser()
	first := register(t, w, &user, newDevice(t, user, virtualwebauthn.AuthenticatorOptions{}))

	options, _, err := w.BeginRegistration(user)
	require.NoError(t, err)
	var got struct {
		PublicKey struct {
			RP        struct{ ID, Name string }
			User      struct{ ID, Name, DisplayName string }
			Challenge string
			Timeout   int
			Selection struct {
				ResidentKey        string `json:"residentKey"`
				RequireResidentKey bool   `json:"requireResidentKey"`
				UserVerification   string `json:"userVerification"`
			} `json:"authenticatorSelection"`
			Attestation string
			Exclude     []struct{ ID string } `json:"excludeCredentials"`
		}
	}
	require.NoError(t, json.Unmarshal(options, &got))
	pk := got.PublicKey
	assert.Equal(t, rpID, pk.RP.ID)
	assert.Equal(t, "UMS", pk.RP.Name)
	assert.Equal(t, base64.RawURLEncoding.EncodeToString(user.ID[:]), pk.User.ID, "the user handle is the account's UUID")
	assert.Equal(t, "ada", pk.User.Name)
	assert.Equal(t, "Ada Lovelace", pk.User.DisplayName)
	assert.Equal(t, "required", pk.Selection.ResidentKey)
	assert.True(t, pk.Selection.RequireResidentKey)
	assert.Equal(t, "preferred", pk.Selection.UserVerification)
	assert.Equal(t, "none", pk.Attestation)
	assert.Equal(t, 60000, pk.Timeout)
	require.Len(t, pk.Exclude, 1, "the user's passkeys are excluded")
	assert.Equal(t, base64.RawURLEncoding.EncodeToString(first.CredentialID), pk.Exclude[0].ID)
	assert.NotEmpty(t, pk.Challenge)
}

func TestRegistrationMapsTheCredential(t *testing.T) {
	w := newRP(t)
	user := newUser()
	d := newDevice(t, user, virtualwebauthn.AuthenticatorOptions{BackupEligible: true, BackupState: true})
	pk := register(t, w, &user, d)
	assert.Equal(t, d.cred.ID, pk.CredentialID)
	assert.NotEmpty(t, pk.PublicKey)
	assert.Equal(t, d.auth.Aaguid[:], pk.AAGUID)
	assert.True(t, pk.BackupEligible)
	assert.True(t, pk.BackedUp)
	assert.Equal(t, uint32(0), pk.SignCount)
	assert.NotEmpty(t, pk.AttestationType)
}

func TestRegistrationRefusals(t *testing.T) {
	w := newRP(t)
	user := newUser()
	d := newDevice(t, user, virtualwebauthn.AuthenticatorOptions{})
	register(t, w, &user, d)

	attest := func(r virtualwebauthn.RelyingParty, d *device) ([]byte, []byte) {
		options, session, err := w.BeginRegistration(user)
		require.NoError(t, err)
		opts, err := virtualwebauthn.ParseAttestationOptions(string(options))
		require.NoError(t, err)
		return session, []byte(virtualwebauthn.CreateAttestationResponse(r, d.auth, d.cred, *opts))
	}
	session, resp := attest(rp, d)
	_, err := w.FinishRegistration(user, session, resp)
	assert.ErrorIs(t, err, domain.ErrPasskeyRefused, "a credential the user has already")

	other := newDevice(t, user, virtualwebauthn.AuthenticatorOptions{})
	session, resp = attest(virtualwebauthn.RelyingParty{ID: rpID, Origin: "https://evil.example"}, other)
	_, err = w.FinishRegistration(user, session, resp)
	assert.ErrorIs(t, err, domain.ErrPasskeyRefused, "wrong origin")

	session, resp = attest(virtualwebauthn.RelyingParty{ID: "evil.example", Origin: rpOrigin}, other)
	_, err = w.FinishRegistration(user, session, resp)
	assert.ErrorIs(t, err, domain.ErrPasskeyRefused, "wrong RP ID")

	session, resp = attest(rp, other)
	stranger := newUser()
	_, err = w.FinishRegistration(stranger, session, resp)
	assert.ErrorIs(t, err, domain.ErrPasskeyRefused, "a ceremony begun for another user")

	_, err = w.FinishRegistration(user, session, []byte(`{"id":"x"}`))
	assert.ErrorIs(t, err, domain.ErrPasskeyRefused, "garbage")

	_, login, err := w.BeginLogin(nil)
	require.NoError(t, err)
	_, err = w.FinishRegistration(user, login, resp)
	assert.ErrorIs(t, err, domain.ErrPasskeyRefused, "a sign-in's session")

	_, err = w.FinishRegistration(user, []byte("not a session"), resp)
	require.Error(t, err)
	assert.NotErrorIs(t, err, domain.ErrPasskeyRefused, "a broken session is the store's fault, not the client's")
}

func TestDiscoverableLogin(t *testing.T) {
	w := newRP(t)
	user := newUser()
	d := newDevice(t, user, virtualwebauthn.AuthenticatorOptions{})
	pk := register(t, w, &user, d)
	f := &finder{users: []ports.PasskeyUser{newUser(), user}}

	options, session, err := w.BeginLogin(nil)
	require.NoError(t, err)
	var got struct {
		PublicKey struct {
			RPID             string            `json:"rpId"`
			AllowCredentials []json.RawMessage `json:"allowCredentials"`
			UserVerification string            `json:"userVerification"`
		}
	}
	require.NoError(t, json.Unmarshal(options, &got))
	assert.Equal(t, rpID, got.PublicKey.RPID)
	assert.Empty(t, got.PublicKey.AllowCredentials, "any passkey of the relying party")
	assert.Equal(t, "preferred", got.PublicKey.UserVerification)

	a, err := w.FinishLogin(session, assertWith(t, rp, d, options, 1), f.find)
	require.NoError(t, err)
	require.Len(t, f.calls, 1)
	assert.Equal(t, user.ID[:], f.calls[0][0], "found by the user handle the authenticator returned")
	assert.Equal(t, pk.CredentialID, f.calls[0][1])
	assert.Equal(t, user.ID, a.UserID)
	assert.Equal(t, pk.ID, a.Passkey.ID)
	assert.Equal(t, uint32(1), a.SignCount)
	assert.True(t, a.UserVerified)
	assert.True(t, a.Hardware, "not backup eligible: bound to the device")
	assert.False(t, a.BackedUp)
}

func TestLoginOfASyncedPasskeyWithoutUserVerification(t *testing.T) {
	w := newRP(t)
	user := newUser()
	d := newDevice(t, user, virtualwebauthn.AuthenticatorOptions{BackupEligible: true, BackupState: true,
		UserNotVerified: true})
	register(t, w, &user, d)
	options, session, err := w.BeginLogin(nil)
	require.NoError(t, err)
	// Synced passkeys do not count: both counters stay zero.
	a, err := w.FinishLogin(session, assertWith(t, rp, d, options, 0), (&finder{users: []ports.PasskeyUser{user}}).find)
	require.NoError(t, err)
	assert.False(t, a.UserVerified)
	assert.False(t, a.Hardware)
	assert.True(t, a.BackedUp)
	assert.Equal(t, uint32(0), a.SignCount)
}

func TestLoginForAGivenUser(t *testing.T) {
	w := newRP(t)
	user := newUser()
	d := newDevice(t, user, virtualwebauthn.AuthenticatorOptions{})
	pk := register(t, w, &user, d)
	f := &finder{users: []ports.PasskeyUser{user}}

	_, _, err := w.BeginLogin(&ports.PasskeyUser{ID: uuid.New(), Name: "nobody"})
	assert.ErrorIs(t, err, domain.ErrPasskeyNotFound, "a user without passkeys has nothing to ask for")

	options, session, err := w.BeginLogin(&user)
	require.NoError(t, err)
	opts, err := virtualwebauthn.ParseAssertionOptions(string(options))
	require.NoError(t, err)
	assert.Equal(t, []string{base64.RawURLEncoding.EncodeToString(pk.CredentialID)}, opts.AllowCredentials)

	// A security key answering a non-discoverable request returns no user
	// handle: the session says whose passkeys were asked for.
	anonymous := *d
	anonymous.auth.Options.UserHandle = nil
	a, err := w.FinishLogin(session, assertWith(t, rp, &anonymous, options, 7), f.find)
	require.NoError(t, err)
	assert.Equal(t, user.ID[:], f.calls[0][0])
	assert.Equal(t, user.ID, a.UserID)
	assert.Equal(t, uint32(7), a.SignCount)

	// Another user's passkey does not answer a ceremony begun for user.
	stranger := newUser()
	sd := newDevice(t, stranger, virtualwebauthn.AuthenticatorOptions{})
	register(t, w, &stranger, sd)
	options, session, err = w.BeginLogin(&user)
	require.NoError(t, err)
	opts, err = virtualwebauthn.ParseAssertionOptions(string(options))
	require.NoError(t, err)
	resp := []byte(virtualwebauthn.CreateAssertionResponse(rp, sd.auth, sd.cred, *opts))
	_, err = w.FinishLogin(session, resp, (&finder{users: []ports.PasskeyUser{user, stranger}}).find)
	assert.ErrorIs(t, err, domain.ErrPasskeyRefused)
}

func TestCounterRegressionIsRefusedAsAClone(t *testing.T) {
	w := newRP(t)
	user := newUser()
	d := newDevice(t, user, virtualwebauthn.AuthenticatorOptions{})
	register(t, w, &user, d)
	f := &finder{users: []ports.PasskeyUser{user}}

	options, session, err := w.BeginLogin(nil)
	require.NoError(t, err)
	a, err := w.FinishLogin(session, assertWith(t, rp, d, options, 5), f.find)
	require.NoError(t, err)
	// The application records the use: the stored counter is now 5.
	user.Passkeys[0].SignCount = a.SignCount

	for name, counter := range map[string]uint32{"lower": 3, "equal (a replayed counter)": 5, "zero": 0} {
		t.Run(name, func(t *testing.T) {
			// A copy of the key signs with a counter of its own.
			options, session, err := w.BeginLogin(nil)
			require.NoError(t, err)
			got, err := w.FinishLogin(session, assertWith(t, rp, d, options, counter), f.find)
			require.ErrorIs(t, err, domain.ErrPasskeyRefused)
			t.Log(err)
			var de *domain.Error
			require.ErrorAs(t, err, &de)
			assert.Equal(t, "passkey_refused", de.Code)
			assert.Equal(t, user.Passkeys[0].ID, got.Passkey.ID, "the refusal says which passkey")
			assert.Equal(t, uint32(5), got.Passkey.SignCount)
			assert.Equal(t, counter, got.SignCount, "and the counter presented, to tell a clone")
		})
	}

	options, session, err = w.BeginLogin(nil)
	require.NoError(t, err)
	_, err = w.FinishLogin(session, assertWith(t, rp, d, options, 6), f.find)
	assert.NoError(t, err, "the genuine authenticator goes on")
}

func TestAssertionRefusals(t *testing.T) {
	w := newRP(t)
	user := newUser()
	d := newDevice(t, user, virtualwebauthn.AuthenticatorOptions{})
	register(t, w, &user, d)
	f := &finder{users: []ports.PasskeyUser{user}}

	begin := func() ([]byte, []byte) {
		options, session, err := w.BeginLogin(nil)
		require.NoError(t, err)
		return options, session
	}
	refused := func(t *testing.T, session, resp []byte) {
		t.Helper()
		_, err := w.FinishLogin(session, resp, f.find)
		assert.ErrorIs(t, err, domain.ErrPasskeyRefused)
		t.Log(err)
	}

	t.Run("wrong origin", func(t *testing.T) {
		options, session := begin()
		refused(t, session, assertWith(t, virtualwebauthn.RelyingParty{ID: rpID, Origin: "https://login.example.com.evil.example"}, d, options, 1))
	})
	t.Run("wrong RP ID", func(t *testing.T) {
		options, session := begin()
		refused(t, session, assertWith(t, virtualwebauthn.RelyingParty{ID: "evil.example", Origin: rpOrigin}, d, options, 1))
	})
	t.Run("tampered signature", func(t *testing.T) {
		options, session := begin()
		refused(t, session, tamper(t, assertWith(t, rp, d, options, 1), "signature", -1))
	})
	t.Run("tampered authenticator data", func(t *testing.T) {
		options, session := begin()
		// The last byte of the counter: signed over, checked nowhere else.
		refused(t, session, tamper(t, assertWith(t, rp, d, options, 1), "authenticatorData", 36))
	})
	t.Run("replayed into another ceremony", func(t *testing.T) {
		options, _ := begin()
		resp := assertWith(t, rp, d, options, 1)
		_, session := begin()
		refused(t, session, resp)
	})
	t.Run("an assertion answering a registration", func(t *testing.T) {
		options, session, err := w.BeginRegistration(user)
		require.NoError(t, err)
		reg, err := virtualwebauthn.ParseAttestationOptions(string(options))
		require.NoError(t, err)
		opts := virtualwebauthn.AssertionOptions{Challenge: reg.Challenge, RelyingPartyID: rpID}
		refused(t, session, []byte(virtualwebauthn.CreateAssertionResponse(rp, d.auth, d.cred, opts)))
	})
	t.Run("another key under the same credential id", func(t *testing.T) {
		options, session := begin()
		forged := *d
		forged.cred = newCredential(t)
		forged.cred.ID = d.cred.ID
		refused(t, session, assertWith(t, rp, &forged, options, 1))
	})
	t.Run("user handle of another account", func(t *testing.T) {
		other := newUser()
		f.users = append(f.users, other)
		options, session := begin()
		wrong := *d
		wrong.auth.Options.UserHandle = other.ID[:]
		refused(t, session, assertWith(t, rp, &wrong, options, 1))
	})
	t.Run("garbage", func(t *testing.T) {
		_, session := begin()
		refused(t, session, []byte(`{"type":"public-key"}`))
	})
}

// tamper flips a bit of byte i (the middle one when negative) of one
// member of an assertion's response.
func tamper(t *testing.T, resp []byte, member string, i int) []byte {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(resp, &m))
	r := m["response"].(map[string]any)
	b, err := base64.RawURLEncoding.DecodeString(r[member].(string))
	require.NoError(t, err)
	if i < 0 {
		i = len(b) / 2
	}
	b[i] ^= 0x01
	r[member] = base64.RawURLEncoding.EncodeToString(b)
	out, err := json.Marshal(m)
	require.NoError(t, err)
	return out
}

func TestFindErrorsComeBackAsTheyAre(t *testing.T) {
	w := newRP(t)
	user := newUser()
	d := newDevice(t, user, virtualwebauthn.AuthenticatorOptions{})
	register(t, w, &user, d)
	locked := domain.LoginLocked(time.Minute)
	for name, want := range map[string]error{"unknown": domain.ErrPasskeyNotFound, "locked": locked,
		"store": errors.New("connection reset")} {
		t.Run(name, func(t *testing.T) {
			options, session, err := w.BeginLogin(nil)
			require.NoError(t, err)
			_, err = w.FinishLogin(session, assertWith(t, rp, d, options, 1),
				func([]byte, []byte) (ports.PasskeyUser, error) { return ports.PasskeyUser{}, want })
			assert.Equal(t, want, err)
		})
	}
}

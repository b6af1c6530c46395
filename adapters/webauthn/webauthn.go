// Package webauthn runs the WebAuthn ceremonies of passkeys with
// github.com/go-webauthn/webauthn: the options a browser passes to
// navigator.credentials and the verification of what comes back. No part
// of the protocol or its cryptography is written here; this package only
// maps the library's users and credentials to and from domain.Passkey and
// fixes the relying party's policy (discoverable credentials, user
// verification preferred, no attestation, sign counters enforced).
package webauthn

import (
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	lib "github.com/go-webauthn/webauthn/webauthn"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// Config is the relying party.
type Config struct {
	// RPID is the relying party id: the registrable domain passkeys are
	// bound to (example.com).
	RPID string
	// RPOrigins are the origins the browser may run a ceremony from
	// (https://login.example.com).
	RPOrigins []string
	// RPDisplayName names the service in the browser's prompts.
	RPDisplayName string
	// Timeout is what the browser is told to wait for the person, and
	// what a ceremony's session is enforced to live; zero is the library's
	// default (five minutes).
	Timeout time.Duration
}

// WebAuthn implements ports.WebAuthn.
type WebAuthn struct {
	lib *lib.WebAuthn
}

var _ ports.WebAuthn = (*WebAuthn)(nil)

// New checks the relying party and returns the ceremonies.
func New(cfg Config) (*WebAuthn, error) {
	if cfg.RPDisplayName == "" {
		cfg.RPDisplayName = cfg.RPID
	}
	if cfg.RPID == "" {
		return nil, errors.New("webauthn: the relying party id is required")
	}
	if cfg.Timeout < 0 {
		return nil, errors.New("webauthn: the timeout cannot be negative")
	}
	timeout := lib.TimeoutConfig{Enforce: true, Timeout: cfg.Timeout, TimeoutUVD: cfg.Timeout}
	w, err := lib.New(&lib.Config{
		RPID:          cfg.RPID,
		RPDisplayName: cfg.RPDisplayName,
		RPOrigins:     append([]string(nil), cfg.RPOrigins...),
		// "none": the make of the authenticator decides nothing here,
		// and asking for it would make browsers prompt about it.
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey:        protocol.ResidentKeyRequirementRequired,
			RequireResidentKey: protocol.ResidentKeyRequired(),
			UserVerification:   protocol.VerificationPreferred,
		},
		Timeouts: lib.TimeoutsConfig{Login: timeout, Registration: timeout},
	})
	if err != nil {
		return nil, fmt.Errorf("webauthn: %w", err)
	}
	return &WebAuthn{lib: w}, nil
}

// BeginRegistration asks for a new discoverable credential for user,
// excluding the ones they have, so one authenticator is not registered
// twice.
func (w *WebAuthn) BeginRegistration(user ports.PasskeyUser) ([]byte, []byte, error) {
	u := newUser(user)
	creation, session, err := w.lib.BeginRegistration(u,
		lib.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired),
		lib.WithConveyancePreference(protocol.PreferNoAttestation),
		lib.WithExclusions(lib.Credentials(u.creds).CredentialDescriptors()),
	)
	if err != nil {
		return nil, nil, fmt.Errorf("webauthn: begin registration: %w", err)
	}
	return marshalCeremony(ceremonyRegistration, creation, session)
}

// FinishRegistration checks the browser's answer to BeginRegistration. A
// response that does not verify is domain.ErrPasskeyRefused.
func (w *WebAuthn) FinishRegistration(user ports.PasskeyUser, session, response []byte) (domain.Passkey, error) {
	sd, err := unmarshalSession(session, ceremonyRegistration)
	if err != nil {
		return domain.Passkey{}, err
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		return domain.Passkey{}, refused("parse registration", err)
	}
	u := newUser(user)
	cred, err := w.lib.CreateCredential(u, sd, parsed)
	if err != nil {
		return domain.Passkey{}, refused("verify registration", err)
	}
	for _, c := range u.creds {
		if bytes.Equal(c.ID, cred.ID) {
			return domain.Passkey{}, refused("verify registration", errors.New("the credential is already registered"))
		}
	}
	return fromCredential(cred), nil
}

// BeginLogin asks for any discoverable credential of the relying party
// (user nil), or for one of user's.
func (w *WebAuthn) BeginLogin(user *ports.PasskeyUser) ([]byte, []byte, error) {
	var (
		assertion *protocol.CredentialAssertion
		session   *lib.SessionData
		err       error
	)
	if user == nil {
		assertion, session, err = w.lib.BeginDiscoverableLogin()
	} else {
		if len(user.Passkeys) == 0 {
			return nil, nil, domain.ErrPasskeyNotFound
		}
		assertion, session, err = w.lib.BeginLogin(newUser(*user))
	}
	if err != nil {
		return nil, nil, fmt.Errorf("webauthn: begin login: %w", err)
	}
	return marshalCeremony(ceremonyLogin, assertion, session)
}

// FinishLogin checks an assertion against the session of BeginLogin.
//
// find is asked for the owner of the credential before anything is
// verified: with the user handle the authenticator returned (a
// discoverable login), or with the one the session was begun for (a
// login for a given user, which the response's handle, when present, must
// match). An error of find is returned as it is, unwrapped, so the caller
// sees its own answers (a lock, a store failure).
//
// Anything that does not verify is domain.ErrPasskeyRefused. A signature
// that verifies with a sign counter that did not increase (either counter
// non-zero) is a cloned authenticator: it is refused too, and the
// Assertion is returned with the error, filled in, so the caller can tell
// this refusal from the others by the counters (Assertion.SignCount not
// above Assertion.Passkey.SignCount) and record it.
func (w *WebAuthn) FinishLogin(session, response []byte,
	find func(userHandle, credentialID []byte) (ports.PasskeyUser, error),
) (ports.Assertion, error) {
	sd, err := unmarshalSession(session, ceremonyLogin)
	if err != nil {
		return ports.Assertion{}, err
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		return ports.Assertion{}, refused("parse assertion", err)
	}
	var (
		owner   ports.PasskeyUser
		findErr error
		cred    *lib.Credential
	)
	if len(sd.UserID) == 0 {
		handler := func(rawID, userHandle []byte) (lib.User, error) {
			owner, findErr = find(userHandle, rawID)
			if findErr != nil {
				return nil, findErr
			}
			return newUser(owner), nil
		}
		_, cred, err = w.lib.ValidatePasskeyLogin(handler, sd, parsed)
	} else {
		owner, findErr = find(sd.UserID, parsed.RawID)
		if findErr == nil {
			cred, err = w.lib.ValidateLogin(newUser(owner), sd, parsed)
		}
	}
	if findErr != nil {
		return ports.Assertion{}, findErr
	}
	if err != nil {
		return ports.Assertion{}, refused("verify assertion", err)
	}
	stored, ok := passkeyOf(owner, cred.ID)
	if !ok {
		// The library verified against one of owner's credentials.
		return ports.Assertion{}, refused("verify assertion", errors.New("the credential is not the user's"))
	}
	flags := parsed.Response.AuthenticatorData.Flags
	a := ports.Assertion{
		UserID:       owner.ID,
		Passkey:      stored,
		SignCount:    parsed.Response.AuthenticatorData.Counter,
		BackedUp:     flags.HasBackupState(),
		UserVerified: flags.HasUserVerified(),
		// A credential that can never leave its authenticator; the
		// library refused any change of the backup-eligible flag.
		Hardware: !stored.BackupEligible,
	}
	if cred.Authenticator.CloneWarning {
		return a, refused("verify assertion", fmt.Errorf("%w: stored %d, presented %d",
			errCounterRegressed, stored.SignCount, a.SignCount))
	}
	return a, nil
}

// errCounterRegressed is the cause of a clone's refusal, for logs.
var errCounterRegressed = errors.New("the sign counter did not increase: a cloned authenticator")

// refusal is a ceremony that did not verify: domain.ErrPasskeyRefused to
// errors.Is and to the client, with the library's reason for logs.
type refusal struct {
	step  string
	cause error
}

func refused(step string, cause error) error { return &refusal{step: step, cause: cause} }

func (r *refusal) Error() string {
	msg := "webauthn: " + r.step + ": " + domain.ErrPasskeyRefused.Code + ": " + r.cause.Error()
	var pe *protocol.Error
	if errors.As(r.cause, &pe) && pe.DevInfo != "" {
		msg += " (" + pe.DevInfo + ")"
	}
	return msg
}

// Unwrap gives both the domain error (for errors.Is, errors.As and the
// client's answer) and the cause (for logs).
func (r *refusal) Unwrap() []error { return []error{domain.ErrPasskeyRefused, r.cause} }

// user is ports.PasskeyUser as the library sees it: the user handle is
// the account's UUID, 16 bytes that say nothing about the person.
type user struct {
	u     ports.PasskeyUser
	creds []lib.Credential
}

func newUser(u ports.PasskeyUser) *user {
	creds := make([]lib.Credential, len(u.Passkeys))
	for i, p := range u.Passkeys {
		creds[i] = toCredential(p)
	}
	return &user{u: u, creds: creds}
}

func (u *user) WebAuthnID() []byte { return userHandle(u.u.ID) }

func (u *user) WebAuthnName() string { return u.u.Name }

func (u *user) WebAuthnDisplayName() string {
	if u.u.DisplayName == "" {
		return u.u.Name
	}
	return u.u.DisplayName
}

func (u *user) WebAuthnCredentials() []lib.Credential { return u.creds }

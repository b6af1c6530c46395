package webauthn

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/go-webauthn/webauthn/protocol"
	lib "github.com/go-webauthn/webauthn/webauthn"
	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// toCredential is a stored passkey as the library verifies against it:
// the public key, the counter and the backup flags (whose eligibility
// must never change) are what matter.
func toCredential(p domain.Passkey) lib.Credential {
	var flags protocol.AuthenticatorFlags
	if p.BackupEligible {
		flags |= protocol.FlagBackupEligible
	}
	if p.BackedUp {
		flags |= protocol.FlagBackupState
	}
	transports := make([]protocol.AuthenticatorTransport, len(p.Transports))
	for i, t := range p.Transports {
		transports[i] = protocol.AuthenticatorTransport(t)
	}
	return lib.Credential{
		ID:              p.CredentialID,
		PublicKey:       p.PublicKey,
		AttestationType: p.AttestationType,
		Transport:       transports,
		Flags:           lib.NewCredentialFlags(flags),
		Authenticator:   lib.Authenticator{AAGUID: p.AAGUID, SignCount: p.SignCount},
	}
}

// fromCredential is a verified registration's public data; the id, owner,
// name and creation time are the caller's.
func fromCredential(c *lib.Credential) domain.Passkey {
	transports := make([]string, 0, len(c.Transport))
	for _, t := range c.Transport {
		transports = append(transports, string(t))
	}
	attestation := c.AttestationType
	if attestation == "" {
		attestation = "none"
	}
	return domain.Passkey{
		CredentialID:    bytes.Clone(c.ID),
		PublicKey:       bytes.Clone(c.PublicKey),
		SignCount:       c.Authenticator.SignCount,
		AAGUID:          bytes.Clone(c.Authenticator.AAGUID),
		Transports:      transports,
		BackupEligible:  c.Flags.BackupEligible,
		BackedUp:        c.Flags.BackupState,
		AttestationType: attestation,
	}
}

// passkeyOf finds the stored passkey of a credential id among owner's.
func passkeyOf(owner ports.PasskeyUser, credentialID []byte) (domain.Passkey, bool) {
	for _, p := range owner.Passkeys {
		if bytes.Equal(p.CredentialID, credentialID) {
			return p, true
		}
	}
	return domain.Passkey{}, false
}

// userHandle is the WebAuthn user handle of an account: its UUID's bytes.
func userHandle(id uuid.UUID) []byte { return bytes.Clone(id[:]) }

// ceremony names what a session was begun for. The library's session
// does not say: without it, an assertion answering a registration's
// challenge would verify as a sign-in.
type ceremony string

const (
	ceremonyRegistration ceremony = "registration"
	ceremonyLogin        ceremony = "login"
)

// sessionEnvelope is the session the caller keeps: the library's
// SessionData as JSON, with the ceremony it belongs to.
type sessionEnvelope struct {
	Ceremony ceremony        `json:"ceremony"`
	Session  lib.SessionData `json:"session"`
}

// marshalCeremony encodes the options for the browser and the session
// for the caller to keep.
func marshalCeremony(kind ceremony, options any, session *lib.SessionData) ([]byte, []byte, error) {
	o, err := json.Marshal(options)
	if err != nil {
		return nil, nil, fmt.Errorf("webauthn: encode options: %w", err)
	}
	s, err := json.Marshal(sessionEnvelope{Ceremony: kind, Session: *session})
	if err != nil {
		return nil, nil, fmt.Errorf("webauthn: encode session: %w", err)
	}
	return o, s, nil
}

// unmarshalSession decodes what marshalCeremony made. The caller stored
// it: bytes that do not decode are a fault of the store, not the client.
// A session of another ceremony is refused.
func unmarshalSession(b []byte, kind ceremony) (lib.SessionData, error) {
	var env sessionEnvelope
	if err := json.Unmarshal(b, &env); err != nil {
		return lib.SessionData{}, fmt.Errorf("webauthn: decode session: %w", err)
	}
	if env.Session.Challenge == "" {
		return lib.SessionData{}, fmt.Errorf("webauthn: decode session: no challenge")
	}
	if env.Ceremony != kind {
		return lib.SessionData{}, refused("session", fmt.Errorf("a %s session, not a %s one", env.Ceremony, kind))
	}
	return env.Session, nil
}

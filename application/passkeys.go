package application

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// Passkeys are WebAuthn credentials: registered from a signed-in session,
// used to sign in without a password, or as the second factor of a
// password sign-in. The protocol is the WebAuthn port's (a certified
// library); this is who may do what, with which lockout and audit.
type Passkeys struct {
	d PasskeysDeps
}

// PasskeysDeps are what passkeys need.
type PasskeysDeps struct {
	Repo       ports.PasskeyRepository
	Ceremonies ports.CeremonyStore
	WebAuthn   ports.WebAuthn
	Users      ports.UserRepository
	Login      *Login
	Sessions   *Sessions
	Tx         ports.TxManager
	Audit      ports.AuditLog
	Clock      ports.Clock
	IDs        ports.IDGenerator
	Random     io.Reader
	// CeremonyTTL bounds the time between a ceremony's two steps
	// (default 5 minutes).
	CeremonyTTL time.Duration
}

// NewPasskeys wires passkeys.
func NewPasskeys(d PasskeysDeps) *Passkeys {
	if d.CeremonyTTL <= 0 {
		d.CeremonyTTL = 5 * time.Minute
	}
	return &Passkeys{d: d}
}

// Ceremony is the first step of a WebAuthn ceremony: the options the
// browser passes to navigator.credentials, and the id to send back with
// its answer.
type Ceremony struct {
	ID        string
	Options   json.RawMessage
	ExpiresIn time.Duration
}

// Reauth is how a registration proves the person is still there: the
// password (the API), or a sign-in the caller checked is recent (the
// console, which asks for the password again when it is not).
type Reauth struct {
	Password     string
	RecentSignIn bool
}

// PasskeySignIn is a sign-in with a passkey: the session's tokens and how
// the person authenticated (RFC 8176 amr: hwk or swk, user, and pwd + mfa
// when the passkey was the second factor).
type PasskeySignIn struct {
	Pair TokenPair
	AMR  []string
}

// BeginRegistration starts registering a passkey for the signed-in user.
// It needs the person to prove they are still there (proof): a leaked
// access token alone must not put a way into the account in a stranger's
// hands. A wrong password counts towards the login lock.
func (p *Passkeys) BeginRegistration(ctx context.Context, pr domain.Principal, proof Reauth) (Ceremony, error) {
	u, err := loadPrincipal(ctx, p.d.Users, pr)
	if err != nil {
		return Ceremony{}, err
	}
	if !proof.RecentSignIn {
		if err := p.d.Login.creds.Confirm(ctx, u, proof.Password, "password", nil); err != nil {
			return Ceremony{}, err
		}
	}
	keys, err := p.d.Repo.ByUser(ctx, u.ID())
	if err != nil {
		return Ceremony{}, err
	}
	if len(keys) >= maxPasskeys {
		return Ceremony{}, ErrPasskeyLimit
	}
	options, session, err := p.d.WebAuthn.BeginRegistration(passkeyUser(u, keys))
	if err != nil {
		return Ceremony{}, err
	}
	return p.begin(ctx, ceremonyRegister, u.ID(), options, session, p.d.CeremonyTTL)
}

// FinishRegistration checks the browser's answer and stores the passkey
// under name (a default name when empty).
func (p *Passkeys) FinishRegistration(ctx context.Context, pr domain.Principal, ceremonyID string, response []byte, name string) (domain.Passkey, error) {
	if name != "" {
		n, ferr := domain.ParsePasskeyName("name", name)
		if ferr != nil {
			return domain.Passkey{}, domain.Invalid(*ferr)
		}
		name = n
	}
	rec, err := p.take(ctx, ceremonyID, ceremonyRegister, pr.UserID)
	if err != nil {
		return domain.Passkey{}, err
	}
	u, err := loadPrincipal(ctx, p.d.Users, pr)
	if err != nil {
		return domain.Passkey{}, err
	}
	keys, err := p.d.Repo.ByUser(ctx, u.ID())
	if err != nil {
		return domain.Passkey{}, err
	}
	if len(keys) >= maxPasskeys {
		return domain.Passkey{}, ErrPasskeyLimit
	}
	pk, err := p.d.WebAuthn.FinishRegistration(passkeyUser(u, keys), rec.Session, response)
	if err != nil {
		return domain.Passkey{}, err
	}
	if name == "" {
		name = defaultPasskeyName(keys)
	}
	now := p.d.Clock.Now()
	pk.ID, pk.UserID, pk.Name, pk.CreatedAt, pk.LastUsedAt = p.d.IDs.NewID(), u.ID(), name, now, nil
	err = p.d.Tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := p.d.Repo.Create(ctx, pk); err != nil {
			return err
		}
		return p.record(ctx, u.ID(), domain.ActionPasskeyRegistered, map[string]any{
			"passkey_id": pk.ID.String(), "name": pk.Name, "synced": pk.BackupEligible,
			"attestation": pk.AttestationType,
		})
	})
	if err != nil {
		return domain.Passkey{}, err
	}
	return pk, nil
}

// List returns the signed-in user's passkeys.
func (p *Passkeys) List(ctx context.Context, pr domain.Principal) ([]domain.Passkey, error) {
	return p.d.Repo.ByUser(ctx, pr.UserID)
}

// Rename renames one of the signed-in user's passkeys.
func (p *Passkeys) Rename(ctx context.Context, pr domain.Principal, id uuid.UUID, name string) error {
	n, ferr := domain.ParsePasskeyName("name", name)
	if ferr != nil {
		return domain.Invalid(*ferr)
	}
	return p.d.Tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := p.d.Repo.Rename(ctx, pr.UserID, id, n); err != nil {
			return err
		}
		return p.record(ctx, pr.UserID, domain.ActionPasskeyRenamed, map[string]any{"passkey_id": id.String(), "name": n})
	})
}

// Delete removes one of the signed-in user's passkeys.
func (p *Passkeys) Delete(ctx context.Context, pr domain.Principal, id uuid.UUID) error {
	return p.d.Tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := p.d.Repo.Delete(ctx, pr.UserID, id); err != nil {
			return err
		}
		return p.record(ctx, pr.UserID, domain.ActionPasskeyDeleted, map[string]any{"passkey_id": id.String()})
	})
}

// BeginLogin starts a passwordless sign-in: any discoverable passkey of
// this relying party.
func (p *Passkeys) BeginLogin(ctx context.Context) (Ceremony, error) {
	options, session, err := p.d.WebAuthn.BeginLogin(nil)
	if err != nil {
		return Ceremony{}, err
	}
	return p.begin(ctx, ceremonyLogin, uuid.Nil, options, session, p.d.CeremonyTTL)
}

// FinishLogin checks the assertion and starts a session, under the same
// lockout, audit and session rules as a password sign-in.
func (p *Passkeys) FinishLogin(ctx context.Context, ceremonyID string, response []byte) (PasskeySignIn, error) {
	out, err := p.finishLogin(ctx, ceremonyID, response)
	p.d.Login.count(err)
	return out, err
}

// BeginSecondFactor starts a passkey second factor for the user a
// two-step sign-in's ticket names (Login.Begin).
func (p *Passkeys) BeginSecondFactor(ctx context.Context, ticket string) (Ceremony, error) {
	t, ok := p.d.Login.openTicket(ticket)
	if !ok {
		return Ceremony{}, ErrMFATicketInvalid
	}
	u, err := p.d.Users.ByID(ctx, t.User)
	if errors.Is(err, domain.ErrUserNotFound) {
		return Ceremony{}, ErrMFATicketInvalid
	}
	if err != nil {
		return Ceremony{}, err
	}
	if !u.IsActive() {
		return Ceremony{}, ErrMFATicketInvalid
	}
	keys, err := p.d.Repo.ByUser(ctx, u.ID())
	if err != nil {
		return Ceremony{}, err
	}
	if len(keys) == 0 {
		return Ceremony{}, domain.ErrPasskeyNotFound
	}
	pu := passkeyUser(u, keys)
	options, session, err := p.d.WebAuthn.BeginLogin(&pu)
	if err != nil {
		return Ceremony{}, err
	}
	// The ceremony is of no use once the ticket has expired.
	ttl := min(p.d.CeremonyTTL, t.Expires.Sub(p.d.Clock.Now()))
	return p.begin(ctx, ceremonySecondFactor, u.ID(), options, session, ttl)
}

// FinishSecondFactor checks the assertion against the ticket's user and
// finishes the sign-in as Login.Finish does with a code.
func (p *Passkeys) FinishSecondFactor(ctx context.Context, ticket, ceremonyID string, response []byte) (PasskeySignIn, error) {
	out, err := p.finishSecondFactor(ctx, ticket, ceremonyID, response)
	p.d.Login.count(err)
	return out, err
}

package ports

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
)

// PasskeyRepository stores users' WebAuthn credentials.
type PasskeyRepository interface {
	// Create stores a new passkey; a credential id already registered (by
	// anyone) is domain.ErrConflict-kind.
	Create(ctx context.Context, p domain.Passkey) error
	// ByUser returns the user's passkeys, oldest first.
	ByUser(ctx context.Context, userID uuid.UUID) ([]domain.Passkey, error)
	// ByCredentialID returns the passkey or domain.ErrPasskeyNotFound.
	ByCredentialID(ctx context.Context, credentialID []byte) (domain.Passkey, error)
	// RecordUse writes a successful assertion's counter, backup flag and
	// time, only if the stored counter is still use.From: a lost guard is
	// domain.ErrConcurrentChange (two uses raced, or a clone).
	RecordUse(ctx context.Context, id uuid.UUID, use domain.PasskeyUse) error
	// Rename changes the name of one of the user's passkeys;
	// domain.ErrPasskeyNotFound when the user has no such passkey.
	Rename(ctx context.Context, userID, id uuid.UUID, name string) error
	// Delete removes one of the user's passkeys; domain.ErrPasskeyNotFound
	// when the user has no such passkey.
	Delete(ctx context.Context, userID, id uuid.UUID) error
}

// CeremonyStore keeps the state of WebAuthn ceremonies between their two
// requests, so any instance can finish what another began.
type CeremonyStore interface {
	// Put stores data under id until expiresAt.
	Put(ctx context.Context, id string, data []byte, expiresAt time.Time) error
	// Take returns and deletes the data in one step: of concurrent takes
	// exactly one gets it. Unknown or expired ids are
	// domain.ErrCeremonyExpired.
	Take(ctx context.Context, id string, now time.Time) ([]byte, error)
	// DeleteExpired removes ceremonies expired before now.
	DeleteExpired(ctx context.Context, now time.Time) (int, error)
}

// PasskeyUser is a user as a WebAuthn ceremony sees them.
type PasskeyUser struct {
	ID          uuid.UUID
	Name        string
	DisplayName string
	Passkeys    []domain.Passkey
}

// Assertion is a verified WebAuthn assertion.
type Assertion struct {
	UserID  uuid.UUID
	Passkey domain.Passkey
	// SignCount and BackedUp are what the authenticator reported now.
	SignCount uint32
	BackedUp  bool
	// UserVerified is whether the authenticator verified the person (PIN,
	// biometrics); Hardware whether the credential is device-bound (not
	// synced), for the amr claim.
	UserVerified bool
	Hardware     bool
}

// WebAuthn runs the protocol's ceremonies (a certified library's job): it
// makes the options a browser passes to navigator.credentials and checks
// what comes back. Session data is opaque bytes the caller stores between
// the two steps.
type WebAuthn interface {
	// BeginRegistration asks for a new discoverable credential for user,
	// excluding the ones they have.
	BeginRegistration(user PasskeyUser) (options []byte, session []byte, err error)
	// FinishRegistration checks the browser's response (the JSON of a
	// PublicKeyCredential) and returns the new passkey (ID, UserID, Name
	// and CreatedAt left to the caller).
	FinishRegistration(user PasskeyUser, session, response []byte) (domain.Passkey, error)
	// BeginLogin asks for any discoverable credential of this relying
	// party (passwordless sign-in), or, with user set, for one of theirs
	// (a second factor).
	BeginLogin(user *PasskeyUser) (options []byte, session []byte, err error)
	// FinishLogin checks an assertion; find loads the user a credential
	// belongs to (by the user handle the authenticator returned and the
	// credential id). A refused assertion is domain.ErrPasskeyRefused.
	FinishLogin(session, response []byte, find func(userHandle, credentialID []byte) (PasskeyUser, error)) (Assertion, error)
}

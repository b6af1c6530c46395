package ports

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
)

// ServiceAccountFilter narrows a list of service accounts.
type ServiceAccountFilter struct {
	// OrgID, when set, keeps that organization's accounts.
	OrgID *uuid.UUID
}

// ServiceTokenState is what the store knows, now, about the session a
// service account's access token was issued against.
type ServiceTokenState struct {
	UserID         uuid.UUID
	SessionRevoked bool
	SessionExpires time.Time
	UserActive     bool
	OrgActive      bool
}

// ServiceAccountRepository stores the organization facts of service
// accounts. Their users rows, memberships and OAuth clients are written
// through those ports, in the same transaction. Every method joins a
// transaction in ctx.
type ServiceAccountRepository interface {
	// Create stores a new account whose users row exists;
	// domain.ErrServiceAccountNameTaken when its organization has one of
	// that name (case-insensitively), domain.ErrTooManyServiceAccounts
	// when it already has limit accounts. Concurrent creations never pass
	// the limit.
	Create(ctx context.Context, a domain.ServiceAccount, limit int) error
	// LockCredentials locks the account against concurrent credential
	// changes until the transaction in ctx ends, and returns its
	// credentials as they stand; domain.ErrServiceAccountNotFound when
	// there is no such account. A change (rotating or removing a
	// credential) takes it exclusively; issuing a token takes it shared,
	// so tokens are issued side by side but never on a credential whose
	// change has committed.
	LockCredentials(ctx context.Context, id uuid.UUID, change bool) (domain.ServiceAccountCredentials, error)
	// ByID returns the account with its username, activity, role in its
	// organization and whether it has a secret, or
	// domain.ErrServiceAccountNotFound.
	ByID(ctx context.Context, id uuid.UUID) (domain.ServiceAccount, error)
	// List returns one page of accounts, oldest first, and the next
	// cursor ("" at the end); a cursor of another list is a KindInvalid
	// error on field "cursor".
	List(ctx context.Context, f ServiceAccountFilter, p Page) ([]domain.ServiceAccount, string, error)
	// Update writes the name and description ch names, and updated_at,
	// nothing else; domain.ErrServiceAccountNotFound or
	// domain.ErrServiceAccountNameTaken.
	Update(ctx context.Context, id uuid.UUID, ch domain.ServiceAccountChange) error
	// Delete removes the account's users row, which takes the account,
	// its membership, grants, client, keys and sessions with it;
	// domain.ErrServiceAccountNotFound when it is not a service account.
	Delete(ctx context.Context, id uuid.UUID) error
	// TokenState reads the session of a token with its account and
	// organization; domain.ErrSessionNotFound when the session is not a
	// service account's.
	TokenState(ctx context.Context, sessionID uuid.UUID) (ServiceTokenState, error)
	// PruneSessions deletes at most limit sessions of service accounts
	// that expired before before, and says how many.
	PruneSessions(ctx context.Context, before time.Time, limit int) (int, error)
}

// ServiceAccountKeyRepository keeps the public keys service accounts sign
// client assertions with.
type ServiceAccountKeyRepository interface {
	// Add stores a key unless the account already holds limit keys
	// (domain.ErrServiceAccountTooManyKeys; concurrent adds never pass
	// the bound together) or one of the same kid or thumbprint
	// (domain.ErrServiceAccountKeyExists); domain.ErrServiceAccountNotFound
	// when the account is gone.
	Add(ctx context.Context, k domain.ServiceAccountKey, limit int) error
	// List returns the account's keys, oldest first.
	List(ctx context.Context, accountID uuid.UUID) ([]domain.ServiceAccountKey, error)
	// Get returns one key or domain.ErrServiceAccountKeyNotFound.
	Get(ctx context.Context, accountID uuid.UUID, kid string) (domain.ServiceAccountKey, error)
	// Delete removes one key; domain.ErrServiceAccountKeyNotFound when it
	// is not there.
	Delete(ctx context.Context, accountID uuid.UUID, kid string) error
}

// AssertionLedger remembers the client assertions spent, so each
// authenticates once.
type AssertionLedger interface {
	// Spend records the assertion jti of clientID until expiresAt and
	// reports true, or false when it was spent already: of concurrent
	// spends of one jti exactly one gets true.
	Spend(ctx context.Context, clientID, jti string, expiresAt time.Time) (bool, error)
	// Prune forgets assertions expired before now and says how many.
	Prune(ctx context.Context, now time.Time) (int, error)
}

// ClientKeyParser reads the public keys clients register.
type ClientKeyParser interface {
	// ParsePublicKey reads a public JWK (a JSON object) or a PEM public
	// key. A private key, a symmetric or unsupported key type, or an RSA
	// key under 2048 bits is a KindInvalid error on field.
	ParsePublicKey(field, raw string) (domain.ClientPublicKey, error)
}

// ClientAssertionVerifier checks the JWTs clients authenticate with
// (RFC 7523). Neither method checks a claim's meaning; the use case does.
type ClientAssertionVerifier interface {
	// Peek reads the unverified kid of the header and iss of the claims;
	// anything that is not a compact JWS is domain.ErrInvalidCredentials.
	Peek(raw string) (kid, issuer string, err error)
	// Verify checks the signature with key (and that the header names
	// key's algorithm) and returns the claims; any failure is
	// domain.ErrInvalidCredentials.
	Verify(raw string, key domain.ClientPublicKey) (domain.ClientAssertion, error)
}

package ports

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
)

// OAuthClientRepository is the registry of OpenID Connect clients.
type OAuthClientRepository interface {
	// Create stores a new client; a taken id is domain.ErrConflict-kind.
	Create(ctx context.Context, c domain.OAuthClient) error
	// ByID returns the client or domain.ErrOAuthClientNotFound.
	ByID(ctx context.Context, id string) (domain.OAuthClient, error)
	// List returns every client, oldest first.
	List(ctx context.Context) ([]domain.OAuthClient, error)
	// Update writes the settings a change names (never the secret or the
	// public flag); domain.ErrOAuthClientNotFound when it is gone.
	Update(ctx context.Context, id string, ch domain.OAuthClientChange) error
	// SetSecret replaces the secret's hash; domain.ErrOAuthClientNotFound
	// when it is gone.
	SetSecret(ctx context.Context, id string, hash []byte, at time.Time) error
	// Delete removes the client, its consents and its pending requests;
	// domain.ErrOAuthClientNotFound when it was not there.
	Delete(ctx context.Context, id string) error
}

// AuthRequestRepository keeps authorization requests between the
// redirect to the sign-in page and the code exchange.
type AuthRequestRepository interface {
	Create(ctx context.Context, r domain.AuthRequest) error
	// ByID returns the request unless it expired at now, or
	// domain.ErrAuthRequestNotFound.
	ByID(ctx context.Context, id uuid.UUID, now time.Time) (domain.AuthRequest, error)
	// Complete records who signed in, once: a request already completed
	// (or gone) is domain.ErrAuthRequestNotFound.
	Complete(ctx context.Context, id, userID uuid.UUID, authTime time.Time, amr []string) error
	// SetCode stores the hash of the code issued for a completed request.
	SetCode(ctx context.Context, id uuid.UUID, codeHash []byte) error
	// TakeByCode deletes the request holding the code and returns it:
	// of concurrent exchanges of one code exactly one gets it; the others,
	// and any later one, get domain.ErrAuthRequestNotFound. An expired
	// request is deleted but not returned.
	TakeByCode(ctx context.Context, codeHash []byte, now time.Time) (domain.AuthRequest, error)
	// Delete removes the request (no error when it is gone).
	Delete(ctx context.Context, id uuid.UUID) error
	// DeleteExpired removes requests expired before now and says how many.
	DeleteExpired(ctx context.Context, now time.Time) (int, error)
}

// OAuthGrantRepository records which client each OIDC session belongs
// to. A grant lives and dies with its session.
type OAuthGrantRepository interface {
	Create(ctx context.Context, g domain.OAuthGrant) error
	// BySession returns the session's grant or domain.ErrSessionNotFound.
	BySession(ctx context.Context, sessionID uuid.UUID) (domain.OAuthGrant, error)
	// ActiveSessions returns the unrevoked sessions of the user issued to
	// the client.
	ActiveSessions(ctx context.Context, userID uuid.UUID, clientID string) ([]uuid.UUID, error)
}

// ConsentRepository keeps what users agreed to share with third-party
// clients.
type ConsentRepository interface {
	// Get returns the consent or domain.ErrConsentNotFound.
	Get(ctx context.Context, userID uuid.UUID, clientID string) (domain.Consent, error)
	// Grant stores the consent, replacing the user's earlier one for the
	// client.
	Grant(ctx context.Context, c domain.Consent) error
	// List returns the user's consents, newest first.
	List(ctx context.Context, userID uuid.UUID) ([]domain.Consent, error)
	// Revoke deletes the consent; domain.ErrConsentNotFound when none.
	Revoke(ctx context.Context, userID uuid.UUID, clientID string) error
}

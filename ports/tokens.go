package ports

import (
	"context"

	"github.com/ums-project/ums/domain"
)

// AccessTokenCodec signs and verifies access tokens.
type AccessTokenCodec interface {
	// Sign returns the compact token for claims, signed with key.
	Sign(claims domain.AccessClaims, key domain.SigningKey) (string, error)
	// Verify checks the token's algorithm, key id, signature, issuer,
	// audience and times, finding the public key with lookup. Any failure
	// of the token is domain.ErrInvalidToken; other errors are lookup
	// failures.
	Verify(ctx context.Context, token string, lookup KeyLookup) (domain.AccessClaims, error)
}

// KeyLookup finds the published signing key with a key id, or reports
// false.
type KeyLookup func(ctx context.Context, kid string) (domain.SigningKey, bool, error)

// RevocationBus tells every instance that sessions were revoked, so their
// access tokens are refused everywhere within a second.
type RevocationBus interface {
	// Publish announces revoked sessions to every subscriber, this
	// instance's included. It is called after the revocation committed.
	Publish(ctx context.Context, revoked []domain.RevokedSession) error
	// Subscribe delivers announcements to h from a goroutine of its own
	// until ctx ends, reconnecting after failures. It returns nil once it
	// is listening and the first Resync succeeded; when the first attempt
	// fails it calls h.Lost, returns the error and keeps retrying in the
	// background.
	Subscribe(ctx context.Context, h RevocationHandler) error
}

// RevocationHandler receives what a RevocationBus delivers. Its methods
// may be called concurrently; Lost is called once per outage.
type RevocationHandler interface {
	// Revoked is called for each announcement.
	Revoked(revoked []domain.RevokedSession)
	// Resync is called whenever the subscription (re)starts, after it is
	// listening: announcements sent while it was down were lost, so the
	// handler reloads them from the store.
	Resync(ctx context.Context) error
	// Lost is called when the subscription breaks; until the next Resync
	// the handler must not trust that it heard every revocation.
	Lost(err error)
}

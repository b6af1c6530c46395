package ports

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// PasswordHasher turns passwords into slow, salted hashes.
type PasswordHasher interface {
	// Hash returns an encoded hash of password. It returns
	// domain.ErrHashingOverloaded when too many hashes are queued.
	Hash(ctx context.Context, password string) (string, error)
	// Verify reports whether password matches encoded, and whether encoded
	// should be re-made because the configured parameters changed. It
	// returns domain.ErrHashingOverloaded when too many hashes are queued.
	Verify(ctx context.Context, password, encoded string) (match, rehash bool, err error)
	// CurrentPrefix is the start every hash made with the current
	// parameters shares. A stored hash without it was made by another
	// system or with other parameters, and costs another time to check.
	CurrentPrefix() string
	// Admit takes a place for a request that will ask for a hash after
	// some work of its own (a login: lookups, throttle reservations), or
	// returns domain.ErrHashingOverloaded when the requests admitted
	// already would keep it waiting past the pool's timeout: a storm is
	// shed before it does that work. release gives the place back.
	Admit() (release func(), err error)
}

// Clock tells the time; tests control it.
type Clock interface {
	Now() time.Time
}

// IDGenerator makes new identifiers; time-ordered so keyset pagination over
// ids follows creation order.
type IDGenerator interface {
	NewID() uuid.UUID
}

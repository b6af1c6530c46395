package ports

import (
	"context"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
)

// UserRepository stores users.
type UserRepository interface {
	// Create inserts a new user. It returns domain.ErrEmailTaken or
	// domain.ErrUsernameTaken when either is already used, compared
	// case-insensitively.
	Create(ctx context.Context, u *domain.User) error
	// ByID returns the user or domain.ErrUserNotFound.
	ByID(ctx context.Context, id uuid.UUID) (*domain.User, error)
	// ByLogin finds a user by email or username, case-insensitively, or
	// returns domain.ErrUserNotFound.
	ByLogin(ctx context.Context, login string) (*domain.User, error)
	// Update writes every mutable field of u, or returns
	// domain.ErrUserNotFound, domain.ErrEmailTaken or domain.ErrUsernameTaken.
	Update(ctx context.Context, u *domain.User) error
}

// MFASteps records the TOTP time step last used by each user.
type MFASteps interface {
	// AdvanceMFAStep stores step as the user's last used one if it is
	// newer than the stored one, and reports whether it was.
	AdvanceMFAStep(ctx context.Context, userID uuid.UUID, step int64) (bool, error)
}

// TxManager runs a function in one database transaction. Repositories called
// with the context passed to fn take part in the transaction.
type TxManager interface {
	// WithinTx commits when fn returns nil and rolls back otherwise,
	// returning fn's error unchanged.
	WithinTx(ctx context.Context, fn func(ctx context.Context) error) error
}

// AuditLog appends audit events.
type AuditLog interface {
	// Record stores the event; it takes part in a transaction in ctx so an
	// action and its audit record commit together.
	Record(ctx context.Context, e domain.AuditEvent) error
}

// HealthCheck is one named dependency the readiness probe asks.
type HealthCheck interface {
	// Name identifies the dependency in the readiness report.
	Name() string
	// Check returns nil when the dependency answers.
	Check(ctx context.Context) error
}

// OptionalCheck is a HealthCheck whose failure degrades the service
// without making it unready: the service keeps serving without it (Redis,
// with in-process fallbacks).
type OptionalCheck interface {
	HealthCheck
	Optional() bool
}

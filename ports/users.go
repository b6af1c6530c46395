package ports

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
)

// UserRepository stores users. Every write names its intent and touches
// only its own columns; writes that depend on what a use case read carry
// that as a guard and return domain.ErrConcurrentChange, writing nothing, when
// a concurrent request changed it first. A write to an unknown id returns
// domain.ErrUserNotFound. Every method joins a transaction in ctx.
type UserRepository interface {
	// Create inserts a new user. It returns domain.ErrEmailTaken or
	// domain.ErrUsernameTaken when either is already used, compared
	// case-insensitively.
	Create(ctx context.Context, u *domain.User) error
	// ByID returns the user or domain.ErrUserNotFound.
	ByID(ctx context.Context, id uuid.UUID) (*domain.User, error)
	// ByLogin finds a person by email or username, case-insensitively, or
	// returns domain.ErrUserNotFound: service accounts are never found.
	ByLogin(ctx context.Context, login string) (*domain.User, error)

	// RecordLogin stores a sign-in's trace (and a rehashed password) only
	// while the account is active with the password hash and MFA state in
	// guard; otherwise domain.ErrConcurrentChange.
	RecordLogin(ctx context.Context, id uuid.UUID, rec domain.LoginRecord, guard domain.LoginGuard) error
	// SetPassword stores a new password, ending a forced change and an
	// account lock, only while the stored hash is ch.Previous; otherwise
	// domain.ErrConcurrentChange.
	SetPassword(ctx context.Context, id uuid.UUID, ch domain.PasswordChange) error
	// RequirePasswordChange sets the forced-change flag.
	RequirePasswordChange(ctx context.Context, id uuid.UUID, at time.Time) error
	// SetProfile writes the names ch changes.
	SetProfile(ctx context.Context, id uuid.UUID, ch domain.ProfileChange) error
	// SetAccess writes the flags ch changes.
	SetAccess(ctx context.Context, id uuid.UUID, ch domain.AccessChange) error
	// SetEmail moves the account to a verified address only while its
	// address is still ch.Previous (domain.ErrConcurrentChange otherwise);
	// domain.ErrEmailTaken when another account has it.
	SetEmail(ctx context.Context, id uuid.UUID, ch domain.EmailChange) error
	// SetPendingMFASecret stores a TOTP secret awaiting activation only
	// while MFA is off; otherwise domain.ErrMFAAlreadyEnabled.
	SetPendingMFASecret(ctx context.Context, id uuid.UUID, sealed []byte, at time.Time) error
	// EnableMFA turns MFA on only while it is off with a.Secret pending;
	// otherwise domain.ErrConcurrentChange.
	EnableMFA(ctx context.Context, id uuid.UUID, a domain.MFAActivation) error
	// DisableMFA turns MFA off and forgets its secret.
	DisableMFA(ctx context.Context, id uuid.UUID, at time.Time) error
	// Unlock lifts a lock held on the account.
	Unlock(ctx context.Context, id uuid.UUID, at time.Time) error
	// OutdatedHash returns the password hash of one user whose hash does
	// not start with currentPrefix (made by another system or with other
	// parameters), or "" when every hash is current.
	OutdatedHash(ctx context.Context, currentPrefix string) (string, error)
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

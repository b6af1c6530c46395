package ports

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
)

// SessionRepository stores sessions and their refresh-token families.
type SessionRepository interface {
	// Create stores a new session with the first token of its family.
	Create(ctx context.Context, s domain.Session, first domain.RefreshToken) error
	// ByID returns the session or domain.ErrSessionNotFound.
	ByID(ctx context.Context, id uuid.UUID) (domain.Session, error)
	// ActiveByUser returns the user's sessions neither revoked nor expired
	// at now, newest first.
	ActiveByUser(ctx context.Context, userID uuid.UUID, now time.Time) ([]domain.Session, error)
	// Touch records that the session was used at when, from ip and userAgent.
	Touch(ctx context.Context, id uuid.UUID, at time.Time, ip, userAgent string) error
	// Revoke ends the session; it reports false when the session was
	// already revoked or does not exist.
	Revoke(ctx context.Context, id uuid.UUID, at time.Time, reason string) (bool, error)
	// RevokeAllForUser ends every unrevoked session of the user and
	// returns their ids.
	RevokeAllForUser(ctx context.Context, userID uuid.UUID, at time.Time, reason string) ([]uuid.UUID, error)
	// RevokedSince returns the ids of sessions revoked at or after since, so
	// a starting (or reconnecting) instance learns revocations it missed.
	RevokedSince(ctx context.Context, since time.Time) ([]domain.RevokedSession, error)

	// RefreshTokenByHash returns the token with that SHA-256 hash, spent or
	// not, or domain.ErrInvalidToken.
	RefreshTokenByHash(ctx context.Context, hash []byte) (domain.RefreshToken, error)
	// RefreshTokenWithSession is RefreshTokenByHash with the token's
	// session, in one read.
	RefreshTokenWithSession(ctx context.Context, hash []byte) (domain.RefreshToken, domain.Session, error)
	// RotateRefreshToken is one refresh as one atomic write: it marks the
	// token spent at next.CreatedAt and replaced by next, stores next in
	// the same family and records the session's use from ip and
	// userAgent, only if the token was unused and its session not
	// revoked. Exactly one of many concurrent callers gets true; the
	// others get false and change nothing. This is what makes reuse
	// detection race-free.
	RotateRefreshToken(ctx context.Context, spent uuid.UUID, next domain.RefreshToken, ip, userAgent string) (bool, error)
	// ExtendRefreshToken moves an unspent token's idle limit later to
	// expiresAt (never earlier) and reports whether it did; it is the
	// idle clock of a client that refreshes without rotating (the old
	// service's clients).
	ExtendRefreshToken(ctx context.Context, id uuid.UUID, expiresAt time.Time) (bool, error)
}

package ports

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
)

// PersonalTokenRepository stores personal access tokens.
type PersonalTokenRepository interface {
	// Create stores a new token unless its owner already holds max
	// unrevoked, unexpired ones at t.CreatedAt
	// (domain.ErrTooManyPersonalTokens); concurrent creations for one
	// owner never pass the limit together. A gone owner is
	// domain.ErrUserNotFound, a gone organization domain.ErrOrgNotFound.
	Create(ctx context.Context, t domain.PersonalToken, max int) error
	// ByHash returns the token with that SHA-256 hash, revoked or not,
	// or domain.ErrPersonalTokenNotFound.
	ByHash(ctx context.Context, hash []byte) (domain.PersonalToken, error)
	// ByUser returns the user's unrevoked tokens, newest first.
	ByUser(ctx context.Context, userID uuid.UUID) ([]domain.PersonalToken, error)
	// RecordUse sets last_used_at to at unless it is already at or after
	// notBefore: of many concurrent uses at most a few write.
	RecordUse(ctx context.Context, id uuid.UUID, at, notBefore time.Time) error
	// Revoke ends one unrevoked token of the user;
	// domain.ErrPersonalTokenNotFound when the user has no such token.
	Revoke(ctx context.Context, userID, id uuid.UUID, at time.Time, reason string) error
	// RevokeAllForUser ends every unrevoked token of the user and
	// returns how many.
	RevokeAllForUser(ctx context.Context, userID uuid.UUID, at time.Time, reason string) (int, error)
}

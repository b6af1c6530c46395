package ports

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Kinds of the integer ids the old service's API speaks.
const (
	LegacyIDUser = LegacyUser
	LegacyIDLab  = LegacyLab
)

// LegacyIDs translates between UMS ids and the integer ids the old
// service's clients use: the import's mapping for imported rows, and new
// integers (above every imported one) for rows made after the cutover.
type LegacyIDs interface {
	// OldID returns the integer id of kind for newID, giving it the next
	// free one when it has none yet; concurrent callers agree on one.
	OldID(ctx context.Context, kind string, newID uuid.UUID) (int64, error)
	// NewID returns the UMS id of kind for oldID, or a domain not-found
	// error of kind (domain.ErrUserNotFound, domain.ErrOrgNotFound).
	NewID(ctx context.Context, kind string, oldID int64) (uuid.UUID, error)
}

// LegacyClaims are the facts of a token the old service signed.
type LegacyClaims struct {
	// Subject is the old integer user id (a JSON integer or a numeric
	// string in the token).
	Subject int64
	// Type is "access" or "refresh".
	Type      string
	IssuedAt  time.Time
	ExpiresAt time.Time
}

// LegacyTokenVerifier checks tokens the old service issued (HS256 with its
// secret) so users stay signed in through the cutover.
type LegacyTokenVerifier interface {
	// Verify checks the signature (HS256 only), the expiry at now (no
	// leeway, as the old service) and the claims; any failure is
	// domain.ErrInvalidToken.
	Verify(token string, now time.Time) (LegacyClaims, error)
}

// LegacySessionLinks remembers which UMS session an old refresh token was
// exchanged for, so presenting it again lands in the same session (and a
// revoked session stays revoked).
type LegacySessionLinks interface {
	// Session returns the session linked to the token's hash, or false.
	Session(ctx context.Context, tokenHash []byte) (uuid.UUID, bool, error)
	// Link records the session of a token hash and returns the linked
	// session: sessionID, or the one a concurrent caller linked first.
	Link(ctx context.Context, tokenHash []byte, sessionID uuid.UUID, at time.Time) (uuid.UUID, error)
}

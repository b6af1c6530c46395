package ports

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
)

// InvitationRepository stores invitations into organizations. Tokens are
// stored hashed. Every method joins a transaction in ctx. The guarded
// writes (Accept, Renew, Revoke) change an invitation only while it is
// open, so of racing writers exactly one wins; a loser gets
// domain.ErrConcurrentChange and the caller reads the invitation again to
// say why.
type InvitationRepository interface {
	// Create stores a new invitation. An open invitation for the same
	// organization and address (compared case-insensitively) is
	// domain.ErrInvitationPending; an organization that is not there is
	// domain.ErrOrgNotFound.
	Create(ctx context.Context, inv domain.Invitation) error
	// Get returns the organization's invitation or
	// domain.ErrInvitationNotFound (also for another organization's).
	Get(ctx context.Context, orgID, id uuid.UUID) (domain.Invitation, error)
	// ByTokenHash returns the invitation whose current token hashes to
	// hash, or domain.ErrInvitationNotFound.
	ByTokenHash(ctx context.Context, hash []byte) (domain.Invitation, error)
	// Open lists the organization's open invitations (neither accepted
	// nor revoked, expired ones included) ordered by (created_at, id),
	// keyset-paginated.
	Open(ctx context.Context, orgID uuid.UUID, p Page) ([]domain.Invitation, string, error)
	// DeleteExpired deletes the open invitations of the organization to
	// the address that expired by now, so a new one can take their place.
	DeleteExpired(ctx context.Context, orgID uuid.UUID, email domain.Email, now time.Time) error
	// Accept marks the invitation accepted by `by` at `at`, only while its
	// token is still tokenHash, it is open and it expires after `at`;
	// otherwise domain.ErrConcurrentChange (domain.ErrInvitationNotFound
	// when there is no such invitation).
	Accept(ctx context.Context, id uuid.UUID, tokenHash []byte, by uuid.UUID, at time.Time) error
	// Renew writes a new token hash, expiry and send time, only while the
	// invitation is open and its token is still previousHash; otherwise
	// domain.ErrConcurrentChange (domain.ErrInvitationNotFound when the
	// organization has no such invitation). A hash already stored is
	// domain.ErrConflict.
	Renew(ctx context.Context, orgID, id uuid.UUID, previousHash []byte, r domain.InvitationRenewal) error
	// Revoke marks the invitation revoked at `at`, only while it is open;
	// otherwise domain.ErrConcurrentChange (domain.ErrInvitationNotFound
	// when the organization has no such invitation).
	Revoke(ctx context.Context, orgID, id uuid.UUID, at time.Time) error
}

package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// invitationRow is a row of org_invitations.
type invitationRow struct {
	bun.BaseModel `bun:"table:org_invitations,alias:inv"`

	ID         uuid.UUID  `bun:"id,pk,type:uuid"`
	OrgID      uuid.UUID  `bun:"org_id,type:uuid"`
	Email      string     `bun:"email"`
	Role       string     `bun:"role"`
	TokenHash  []byte     `bun:"token_hash"`
	InvitedBy  *uuid.UUID `bun:"invited_by,type:uuid"`
	CreatedAt  time.Time  `bun:"created_at"`
	ExpiresAt  time.Time  `bun:"expires_at"`
	LastSentAt time.Time  `bun:"last_sent_at"`
	AcceptedAt *time.Time `bun:"accepted_at"`
	AcceptedBy *uuid.UUID `bun:"accepted_by,type:uuid"`
	RevokedAt  *time.Time `bun:"revoked_at"`
}

func toInvitationRow(i domain.Invitation) *invitationRow {
	return &invitationRow{
		ID: i.ID, OrgID: i.OrgID, Email: i.Email.String(), Role: string(i.Role), TokenHash: i.TokenHash,
		InvitedBy: i.InvitedBy, CreatedAt: i.CreatedAt.UTC(), ExpiresAt: i.ExpiresAt.UTC(),
		LastSentAt: i.LastSentAt.UTC(), AcceptedAt: utcPtr(i.AcceptedAt), AcceptedBy: i.AcceptedBy,
		RevokedAt: utcPtr(i.RevokedAt),
	}
}

func (r *invitationRow) toDomain() (domain.Invitation, error) {
	// Rows were validated on the way in; a parse failure means the table
	// was edited by hand and is reported, not hidden.
	email, fe := domain.ParseEmail(r.Email)
	if fe != nil {
		return domain.Invitation{}, fmt.Errorf("invitation %s: stored email is invalid", r.ID)
	}
	role, fe := domain.ParseRole("role", r.Role)
	if fe != nil {
		return domain.Invitation{}, fmt.Errorf("invitation %s: stored role is invalid", r.ID)
	}
	return domain.Invitation{
		ID: r.ID, OrgID: r.OrgID, Email: email, Role: role, TokenHash: r.TokenHash, InvitedBy: r.InvitedBy,
		CreatedAt: r.CreatedAt.UTC(), ExpiresAt: r.ExpiresAt.UTC(), LastSentAt: r.LastSentAt.UTC(),
		AcceptedAt: utcPtr(r.AcceptedAt), AcceptedBy: r.AcceptedBy, RevokedAt: utcPtr(r.RevokedAt),
	}, nil
}

// InvitationRepository stores invitations in org_invitations. At most one
// open invitation per organization and address is the partial unique
// index org_invitations_open_key; single use is the guard of Accept.
type InvitationRepository struct{ db *DB }

var _ ports.InvitationRepository = (*InvitationRepository)(nil)

// NewInvitationRepository returns an InvitationRepository on db.
func NewInvitationRepository(db *DB) *InvitationRepository { return &InvitationRepository{db: db} }

// openInvitationIndex is the partial unique index of open invitations; a
// violation of any other unique index (the token hash) is a plain
// conflict.
const openInvitationIndex = "org_invitations_open_key"

// Create implements ports.InvitationRepository. A foreign key that misses
// is reported as the organization: the inviter is the caller, who exists.
func (r *InvitationRepository) Create(ctx context.Context, inv domain.Invitation) error {
	if len(inv.TokenHash) == 0 {
		return fmt.Errorf("insert invitation: empty token hash")
	}
	if _, err := conn(ctx, r.db).NewInsert().Model(toInvitationRow(inv)).Exec(ctx); err != nil {
		if name, ok := uniqueViolation(err); ok {
			if strings.Contains(name, openInvitationIndex) {
				return domain.ErrInvitationPending
			}
			return domain.ErrConflict
		}
		if oauthParentMissing(err) {
			return domain.ErrOrgNotFound
		}
		return dbError("insert invitation", err)
	}
	return nil
}

// Get implements ports.InvitationRepository.
func (r *InvitationRepository) Get(ctx context.Context, orgID, id uuid.UUID) (domain.Invitation, error) {
	return r.one(ctx, "select invitation", func(q *bun.SelectQuery) *bun.SelectQuery {
		return q.Where("inv.id = ?", id).Where("inv.org_id = ?", orgID)
	})
}

// ByTokenHash implements ports.InvitationRepository.
func (r *InvitationRepository) ByTokenHash(ctx context.Context, hash []byte) (domain.Invitation, error) {
	if len(hash) == 0 {
		return domain.Invitation{}, domain.ErrInvitationNotFound
	}
	return r.one(ctx, "select invitation by token", func(q *bun.SelectQuery) *bun.SelectQuery {
		return q.Where("inv.token_hash = ?", hash)
	})
}

func (r *InvitationRepository) one(ctx context.Context, op string, where func(*bun.SelectQuery) *bun.SelectQuery) (domain.Invitation, error) {
	row := new(invitationRow)
	if err := where(conn(ctx, r.db).NewSelect().Model(row)).Limit(1).Scan(ctx); err != nil {
		if isNoRows(err) {
			return domain.Invitation{}, domain.ErrInvitationNotFound
		}
		return domain.Invitation{}, dbError(op, err)
	}
	return row.toDomain()
}

// Open implements ports.InvitationRepository.
func (r *InvitationRepository) Open(ctx context.Context, orgID uuid.UUID, p ports.Page) ([]domain.Invitation, string, error) {
	after, ok, err := decodeKeyset("invitations", p.Cursor)
	if err != nil {
		return nil, "", err
	}
	limit := keysetLimit(p.Limit)
	var rows []invitationRow
	q := conn(ctx, r.db).NewSelect().Model(&rows).Where("inv.org_id = ?", orgID).
		Where("inv.accepted_at IS NULL").Where("inv.revoked_at IS NULL")
	if ok {
		q = q.Where("(inv.created_at, inv.id) > (?, ?)", after.at, after.id)
	}
	if err := q.OrderExpr("inv.created_at ASC, inv.id ASC").Limit(int64(limit + 1)).Scan(ctx); err != nil {
		return nil, "", dbError("list invitations", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		next = keyset{list: "invitations", at: last.CreatedAt, id: last.ID}.encode()
	}
	out := make([]domain.Invitation, len(rows))
	for i := range rows {
		if out[i], err = rows[i].toDomain(); err != nil {
			return nil, "", err
		}
	}
	return out, next, nil
}

// DeleteExpired implements ports.InvitationRepository.
func (r *InvitationRepository) DeleteExpired(ctx context.Context, orgID uuid.UUID, email domain.Email, now time.Time) error {
	_, err := conn(ctx, r.db).NewDelete().Model((*invitationRow)(nil)).
		Where("org_id = ?", orgID).Where("lower(email) = ?", email.String()).
		Where("accepted_at IS NULL").Where("revoked_at IS NULL").Where("expires_at <= ?", now.UTC()).Exec(ctx)
	return dbError("delete expired invitations", err)
}

// Accept implements ports.InvitationRepository. The state and the token
// are the guard of one conditional UPDATE: Postgres re-checks it after a
// concurrent writer commits and SQLite runs writers one at a time, so of
// racing accepts (or an accept racing a resend or a revocation) exactly
// one changes the row.
func (r *InvitationRepository) Accept(ctx context.Context, id uuid.UUID, tokenHash []byte, by uuid.UUID, at time.Time) error {
	if len(tokenHash) == 0 {
		return domain.ErrInvitationNotFound
	}
	res, err := conn(ctx, r.db).NewUpdate().Model((*invitationRow)(nil)).
		Set("accepted_at = ?", at.UTC()).Set("accepted_by = ?", by).
		Where("id = ?", id).Where("token_hash = ?", tokenHash).
		Where("accepted_at IS NULL").Where("revoked_at IS NULL").Where("expires_at > ?", at.UTC()).Exec(ctx)
	return r.guarded(ctx, "accept invitation", res, err, func(q *bun.SelectQuery) *bun.SelectQuery {
		return q.Where("id = ?", id)
	})
}

// Renew implements ports.InvitationRepository, guarded like Accept.
func (r *InvitationRepository) Renew(ctx context.Context, orgID, id uuid.UUID, previousHash []byte, rn domain.InvitationRenewal) error {
	if len(rn.TokenHash) == 0 {
		return fmt.Errorf("renew invitation: empty token hash")
	}
	res, err := conn(ctx, r.db).NewUpdate().Model((*invitationRow)(nil)).
		Set("token_hash = ?", rn.TokenHash).Set("expires_at = ?", rn.ExpiresAt.UTC()).
		Set("last_sent_at = ?", rn.SentAt.UTC()).
		Where("id = ?", id).Where("org_id = ?", orgID).Where("token_hash = ?", previousHash).
		Where("accepted_at IS NULL").Where("revoked_at IS NULL").Exec(ctx)
	if _, ok := uniqueViolation(err); ok {
		return domain.ErrConflict
	}
	return r.guarded(ctx, "renew invitation", res, err, func(q *bun.SelectQuery) *bun.SelectQuery {
		return q.Where("id = ?", id).Where("org_id = ?", orgID)
	})
}

// Revoke implements ports.InvitationRepository, guarded like Accept.
func (r *InvitationRepository) Revoke(ctx context.Context, orgID, id uuid.UUID, at time.Time) error {
	res, err := conn(ctx, r.db).NewUpdate().Model((*invitationRow)(nil)).
		Set("revoked_at = ?", at.UTC()).
		Where("id = ?", id).Where("org_id = ?", orgID).
		Where("accepted_at IS NULL").Where("revoked_at IS NULL").Exec(ctx)
	return r.guarded(ctx, "revoke invitation", res, err, func(q *bun.SelectQuery) *bun.SelectQuery {
		return q.Where("id = ?", id).Where("org_id = ?", orgID)
	})
}

// guarded finishes a guarded write: nil when it changed the row;
// otherwise domain.ErrInvitationNotFound when no row matches where, and
// domain.ErrConcurrentChange when one does but the guard refused it.
func (r *InvitationRepository) guarded(ctx context.Context, op string, res interface{ RowsAffected() (int64, error) },
	err error, where func(*bun.SelectQuery) *bun.SelectQuery,
) error {
	if err != nil {
		return dbError(op, err)
	}
	n, err := oauthRowsChanged(op, res)
	if err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	exists, err := where(conn(ctx, r.db).NewSelect().Model((*invitationRow)(nil))).Exists(ctx)
	if err != nil {
		return dbError(op+": find invitation", err)
	}
	if !exists {
		return domain.ErrInvitationNotFound
	}
	return domain.ErrConcurrentChange
}

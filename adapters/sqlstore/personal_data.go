package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// pdMembershipRow is a memberships row as the export reads it.
type pdMembershipRow struct {
	OrgID     uuid.UUID `bun:"org_id"`
	UserID    uuid.UUID `bun:"user_id"`
	Role      string    `bun:"role"`
	CreatedAt time.Time `bun:"created_at"`
	UpdatedAt time.Time `bun:"updated_at"`
}

// pdGrantRow is a grants row with its permission's name.
type pdGrantRow struct {
	ID         uuid.UUID  `bun:"id"`
	OrgID      uuid.UUID  `bun:"org_id"`
	UserID     uuid.UUID  `bun:"user_id"`
	Permission string     `bun:"permission"`
	IsActive   bool       `bun:"is_active"`
	ExpiresAt  *time.Time `bun:"expires_at"`
	GrantedBy  *uuid.UUID `bun:"granted_by"`
	CreatedAt  time.Time  `bun:"created_at"`
}

// PersonalData exports and erases everything the database holds on one
// user.
type PersonalData struct{ db *DB }

var _ ports.PersonalData = (*PersonalData)(nil)

// NewPersonalData returns a PersonalData on db.
func NewPersonalData(db *DB) *PersonalData { return &PersonalData{db: db} }

// Export implements ports.PersonalData. Sessions include revoked and
// expired ones; audit events are those the user did or that were done to
// them, newest first.
func (p *PersonalData) Export(ctx context.Context, userID uuid.UUID) (ports.UserExport, error) {
	u, err := NewUserRepository(p.db).ByID(ctx, userID)
	if err != nil {
		return ports.UserExport{}, err
	}
	db := conn(ctx, p.db)
	out := ports.UserExport{User: *u}

	var sessions []sessionRow
	if err := db.NewSelect().Model(&sessions).Where("user_id = ?", userID).
		OrderExpr("created_at ASC, id ASC").Scan(ctx); err != nil {
		return ports.UserExport{}, dbError("export sessions", err)
	}
	out.Sessions = make([]domain.Session, len(sessions))
	for i := range sessions {
		out.Sessions[i] = sessions[i].toDomain()
	}

	var members []pdMembershipRow
	if err := db.NewRaw("SELECT org_id, user_id, role, created_at, updated_at FROM memberships"+
		" WHERE user_id = ? ORDER BY created_at ASC, org_id ASC", userID).Scan(ctx, &members); err != nil {
		return ports.UserExport{}, dbError("export memberships", err)
	}
	out.Memberships = make([]domain.Membership, len(members))
	for i, m := range members {
		out.Memberships[i] = domain.Membership{OrgID: m.OrgID, UserID: m.UserID, Role: domain.Role(m.Role),
			CreatedAt: m.CreatedAt.UTC(), UpdatedAt: m.UpdatedAt.UTC()}
	}

	var grants []pdGrantRow
	if err := db.NewRaw("SELECT g.id, g.org_id, g.user_id, p.name AS permission, g.is_active, g.expires_at,"+
		" g.granted_by, g.created_at FROM grants AS g JOIN permissions AS p ON p.id = g.permission_id"+
		" WHERE g.user_id = ? ORDER BY g.created_at ASC, g.id ASC", userID).Scan(ctx, &grants); err != nil {
		return ports.UserExport{}, dbError("export grants", err)
	}
	out.Grants = make([]domain.Grant, len(grants))
	for i, g := range grants {
		out.Grants[i] = domain.Grant{ID: g.ID, OrgID: g.OrgID, UserID: g.UserID, Permission: g.Permission,
			IsActive: g.IsActive, ExpiresAt: utcPtr(g.ExpiresAt), GrantedBy: g.GrantedBy, CreatedAt: g.CreatedAt.UTC()}
	}

	var events []auditRow
	if err := db.NewSelect().Model(&events).Where("actor_id = ? OR target_id = ?", userID, userID.String()).
		OrderExpr("occurred_at DESC, id DESC").Scan(ctx); err != nil {
		return ports.UserExport{}, dbError("export audit events", err)
	}
	out.AuditEvents = auditEvents(events)

	var tokens []personalTokenRow
	if err := db.NewSelect().Model(&tokens).Where("pat.user_id = ?", userID).
		OrderExpr("pat.created_at ASC, pat.id ASC").Scan(ctx); err != nil {
		return ports.UserExport{}, dbError("export personal access tokens", err)
	}
	out.PersonalTokens = make([]domain.PersonalToken, len(tokens))
	for i := range tokens {
		out.PersonalTokens[i] = tokens[i].toDomain()
		// The hash verifies the token: of no use to the person.
		out.PersonalTokens[i].Hash = nil
	}

	var invitations []invitationRow
	if err := db.NewSelect().Model(&invitations).
		Where("lower(inv.email) = ? OR inv.accepted_by = ?", strings.ToLower(u.Email().String()), userID).
		OrderExpr("inv.created_at ASC, inv.id ASC").Scan(ctx); err != nil {
		return ports.UserExport{}, dbError("export invitations", err)
	}
	out.Invitations = make([]domain.Invitation, len(invitations))
	for i := range invitations {
		inv, err := invitations[i].toDomain()
		if err != nil {
			return ports.UserExport{}, err
		}
		inv.TokenHash = nil
		out.Invitations[i] = inv
	}
	return out, nil
}

// Erase implements ports.PersonalData. Deleting the users row removes
// what hangs off it by ON DELETE CASCADE (sessions and their refresh
// tokens, one-time tokens, password history, recovery codes, memberships,
// grants) and clears grants.granted_by; the rest names the user by value
// and is handled here: the audit trail, the login throttle and queued mail.
func (p *PersonalData) Erase(ctx context.Context, userID, pseudonym uuid.UUID) error {
	return NewTxManager(p.db).WithinTx(ctx, func(ctx context.Context) error {
		db := conn(ctx, p.db)
		var email, username string
		sel := db.NewSelect().Model((*userRow)(nil)).Column("email", "username").Where("id = ?", userID)
		if p.db.Dialect == Postgres {
			sel = sel.For("UPDATE")
		}
		if err := sel.Scan(ctx, &email, &username); err != nil {
			if isNoRows(err) {
				return domain.ErrUserNotFound
			}
			return dbError("erase user", err)
		}
		// Verification mail goes to the address being verified, which may
		// not be the account's yet; the tokens remember those addresses.
		var payloads []string
		if err := db.NewSelect().Model((*oneTimeTokenRow)(nil)).Column("payload").
			Where("user_id = ?", userID).Where("payload <> ''").Scan(ctx, &payloads); err != nil {
			return dbError("erase user: read token addresses", err)
		}
		recipients := pdRecipients(email, payloads)

		if err := pdExec(ctx, "pseudonymise audit actor", db.NewUpdate().Model((*auditRow)(nil)).
			Set("actor_id = ?", pseudonym).Set("details = '{}'").Set("ip = ''").Set("user_agent = ''").
			Where("actor_id = ?", userID)); err != nil {
			return err
		}
		if err := pdExec(ctx, "pseudonymise audit target", db.NewUpdate().Model((*auditRow)(nil)).
			Set("target_id = ?", pseudonym.String()).Set("details = '{}'").Set("ip = ''").Set("user_agent = ''").
			Where("target_id = ?", userID.String())); err != nil {
			return err
		}
		// A known user's failures count under its id; failures typed as its
		// email or username before the account existed count under the text.
		keys := []string{"user:" + userID.String(), "login:" + strings.ToLower(email), "login:" + strings.ToLower(username)}
		if err := pdExec(ctx, "delete login attempts", db.NewDelete().Model((*loginAttemptRow)(nil)).
			Where("identifier IN (?)", bun.List(keys))); err != nil {
			return err
		}
		if len(recipients) > 0 {
			if err := pdExec(ctx, "delete queued mail", db.NewDelete().Model((*mailOutboxRow)(nil)).
				Where("lower(recipient) IN (?)", bun.List(recipients))); err != nil {
				return err
			}
		}
		// Invitations to the address are about the person too: open ones
		// would mail them again, spent ones only keep the address.
		if err := pdExec(ctx, "delete invitations to the address", db.NewDelete().TableExpr("org_invitations").
			Where("lower(email) = ?", strings.ToLower(email))); err != nil {
			return err
		}
		return pdExec(ctx, "delete user", db.NewDelete().Model((*userRow)(nil)).Where("id = ?", userID))
	})
}

// pdExecer is any Bun write query.
type pdExecer interface {
	Exec(ctx context.Context, dest ...any) (sql.Result, error)
}

func pdExec(ctx context.Context, what string, q pdExecer) error {
	if _, err := q.Exec(ctx); err != nil {
		return dbError("erase user: "+what, err)
	}
	return nil
}

// pdRecipients is the account's address and every address its tokens
// were mailed to, lower-cased and without repeats.
func pdRecipients(email string, payloads []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, a := range append([]string{email}, payloads...) {
		e, fe := domain.ParseEmail(a)
		if fe != nil || seen[e.String()] {
			continue
		}
		seen[e.String()] = true
		out = append(out, e.String())
	}
	return out
}

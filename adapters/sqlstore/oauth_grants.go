package sqlstore

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

type oauthGrantRow struct {
	bun.BaseModel `bun:"table:oauth_grants,alias:g"`

	SessionID uuid.UUID `bun:"session_id,pk,type:uuid"`
	ClientID  string    `bun:"client_id"`
	Scopes    []string  `bun:"scopes,type:jsonb"`
	AuthTime  time.Time `bun:"auth_time"`
	AMR       []string  `bun:"amr,type:jsonb"`
}

func toOAuthGrantRow(g domain.OAuthGrant) *oauthGrantRow {
	return &oauthGrantRow{SessionID: g.SessionID, ClientID: g.ClientID, Scopes: oauthList(g.Scopes),
		AuthTime: g.AuthTime.UTC(), AMR: oauthList(g.AMR)}
}

func (r *oauthGrantRow) toDomain() domain.OAuthGrant {
	return domain.OAuthGrant{SessionID: r.SessionID, ClientID: r.ClientID, Scopes: oauthList(r.Scopes),
		AuthTime: r.AuthTime.UTC(), AMR: oauthList(r.AMR)}
}

// OAuthGrantRepository stores in oauth_grants which client each OIDC
// session was issued to. A grant is deleted with its session (and with its
// client) by the foreign keys.
type OAuthGrantRepository struct{ db *DB }

var _ ports.OAuthGrantRepository = (*OAuthGrantRepository)(nil)

// NewOAuthGrantRepository returns an OAuthGrantRepository on db.
func NewOAuthGrantRepository(db *DB) *OAuthGrantRepository { return &OAuthGrantRepository{db: db} }

// Create implements ports.OAuthGrantRepository. A session that already has
// a grant is domain.ErrConflict; a session or client that is not there is
// domain.ErrSessionNotFound (the foreign-key error does not say which).
func (r *OAuthGrantRepository) Create(ctx context.Context, g domain.OAuthGrant) error {
	if _, err := conn(ctx, r.db).NewInsert().Model(toOAuthGrantRow(g)).Exec(ctx); err != nil {
		if _, ok := uniqueViolation(err); ok {
			return domain.ErrConflict
		}
		if oauthParentMissing(err) {
			return domain.ErrSessionNotFound
		}
		return dbError("insert oauth grant", err)
	}
	return nil
}

// BySession implements ports.OAuthGrantRepository.
func (r *OAuthGrantRepository) BySession(ctx context.Context, sessionID uuid.UUID) (domain.OAuthGrant, error) {
	row := new(oauthGrantRow)
	if err := conn(ctx, r.db).NewSelect().Model(row).Where("g.session_id = ?", sessionID).Limit(1).Scan(ctx); err != nil {
		if isNoRows(err) {
			return domain.OAuthGrant{}, domain.ErrSessionNotFound
		}
		return domain.OAuthGrant{}, dbError("select oauth grant", err)
	}
	return row.toDomain(), nil
}

// ActiveSessions implements ports.OAuthGrantRepository, oldest session
// first. The port passes no now, so an expired but unrevoked session is
// included: its refresh tokens end with it anyway.
func (r *OAuthGrantRepository) ActiveSessions(ctx context.Context, userID uuid.UUID, clientID string) ([]uuid.UUID, error) {
	ids := []uuid.UUID{}
	err := conn(ctx, r.db).NewSelect().Model((*oauthGrantRow)(nil)).Column("g.session_id").
		Join("JOIN sessions AS s ON s.id = g.session_id").
		Where("s.user_id = ?", userID).Where("g.client_id = ?", clientID).Where("s.revoked_at IS NULL").
		OrderExpr("s.created_at ASC, s.id ASC").Scan(ctx, &ids)
	if err != nil {
		return nil, dbError("select active oauth sessions", err)
	}
	return ids, nil
}

type consentRow struct {
	bun.BaseModel `bun:"table:oauth_consents,alias:c"`

	UserID    uuid.UUID `bun:"user_id,pk,type:uuid"`
	ClientID  string    `bun:"client_id,pk"`
	Scopes    []string  `bun:"scopes,type:jsonb"`
	GrantedAt time.Time `bun:"granted_at"`
}

func (r *consentRow) toDomain() domain.Consent {
	return domain.Consent{UserID: r.UserID, ClientID: r.ClientID, Scopes: oauthList(r.Scopes), GrantedAt: r.GrantedAt.UTC()}
}

// ConsentRepository stores users' consents in oauth_consents, one per user
// and client.
type ConsentRepository struct{ db *DB }

var _ ports.ConsentRepository = (*ConsentRepository)(nil)

// NewConsentRepository returns a ConsentRepository on db.
func NewConsentRepository(db *DB) *ConsentRepository { return &ConsentRepository{db: db} }

// Get implements ports.ConsentRepository.
func (r *ConsentRepository) Get(ctx context.Context, userID uuid.UUID, clientID string) (domain.Consent, error) {
	row := new(consentRow)
	err := conn(ctx, r.db).NewSelect().Model(row).
		Where("c.user_id = ?", userID).Where("c.client_id = ?", clientID).Limit(1).Scan(ctx)
	if err != nil {
		if isNoRows(err) {
			return domain.Consent{}, domain.ErrConsentNotFound
		}
		return domain.Consent{}, dbError("select consent", err)
	}
	return row.toDomain(), nil
}

// Grant implements ports.ConsentRepository: one upsert on (user_id,
// client_id), so racing grants leave one row, the last writer's. A client
// or user that is not there is domain.ErrOAuthClientNotFound (the
// foreign-key error does not say which).
func (r *ConsentRepository) Grant(ctx context.Context, c domain.Consent) error {
	row := &consentRow{UserID: c.UserID, ClientID: c.ClientID, Scopes: oauthList(c.Scopes), GrantedAt: c.GrantedAt.UTC()}
	_, err := conn(ctx, r.db).NewInsert().Model(row).
		On("CONFLICT (user_id, client_id) DO UPDATE").
		Set("scopes = EXCLUDED.scopes").Set("granted_at = EXCLUDED.granted_at").
		Exec(ctx)
	if err != nil {
		if oauthParentMissing(err) {
			return domain.ErrOAuthClientNotFound
		}
		return dbError("upsert consent", err)
	}
	return nil
}

// List implements ports.ConsentRepository: newest first, ties by client.
func (r *ConsentRepository) List(ctx context.Context, userID uuid.UUID) ([]domain.Consent, error) {
	var rows []consentRow
	err := conn(ctx, r.db).NewSelect().Model(&rows).Where("c.user_id = ?", userID).
		OrderExpr("c.granted_at DESC, c.client_id ASC").Scan(ctx)
	if err != nil {
		return nil, dbError("list consents", err)
	}
	out := make([]domain.Consent, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// Revoke implements ports.ConsentRepository.
func (r *ConsentRepository) Revoke(ctx context.Context, userID uuid.UUID, clientID string) error {
	res, err := conn(ctx, r.db).NewDelete().Model((*consentRow)(nil)).
		Where("user_id = ?", userID).Where("client_id = ?", clientID).Exec(ctx)
	if err != nil {
		return dbError("delete consent", err)
	}
	n, err := oauthRowsChanged("delete consent", res)
	if err != nil {
		return err
	}
	if n == 0 {
		return domain.ErrConsentNotFound
	}
	return nil
}

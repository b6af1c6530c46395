package sqlstore

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

type sessionRow struct {
	bun.BaseModel `bun:"table:sessions"`

	ID           uuid.UUID  `bun:"id,pk,type:uuid"`
	UserID       uuid.UUID  `bun:"user_id,type:uuid"`
	CreatedAt    time.Time  `bun:"created_at"`
	LastUsedAt   time.Time  `bun:"last_used_at"`
	ExpiresAt    time.Time  `bun:"expires_at"`
	IP           string     `bun:"ip"`
	UserAgent    string     `bun:"user_agent"`
	RevokedAt    *time.Time `bun:"revoked_at"`
	RevokeReason *string    `bun:"revoke_reason"`
}

func toSessionRow(s domain.Session) *sessionRow {
	row := &sessionRow{
		ID: s.ID, UserID: s.UserID, CreatedAt: s.CreatedAt.UTC(), LastUsedAt: s.LastUsedAt.UTC(),
		ExpiresAt: s.ExpiresAt.UTC(), IP: s.IP, UserAgent: s.UserAgent, RevokedAt: utcPtr(s.RevokedAt),
	}
	if s.RevokeReason != "" {
		reason := s.RevokeReason
		row.RevokeReason = &reason
	}
	return row
}

func (r *sessionRow) toDomain() domain.Session {
	s := domain.Session{
		ID: r.ID, UserID: r.UserID, CreatedAt: r.CreatedAt.UTC(), LastUsedAt: r.LastUsedAt.UTC(),
		ExpiresAt: r.ExpiresAt.UTC(), IP: r.IP, UserAgent: r.UserAgent, RevokedAt: utcPtr(r.RevokedAt),
	}
	if r.RevokeReason != nil {
		s.RevokeReason = *r.RevokeReason
	}
	return s
}

type refreshTokenRow struct {
	bun.BaseModel `bun:"table:refresh_tokens"`

	ID         uuid.UUID  `bun:"id,pk,type:uuid"`
	SessionID  uuid.UUID  `bun:"session_id,type:uuid"`
	TokenHash  []byte     `bun:"token_hash"`
	CreatedAt  time.Time  `bun:"created_at"`
	ExpiresAt  time.Time  `bun:"expires_at"`
	UsedAt     *time.Time `bun:"used_at"`
	ReplacedBy *uuid.UUID `bun:"replaced_by,type:uuid"`
}

func toRefreshTokenRow(t domain.RefreshToken) *refreshTokenRow {
	return &refreshTokenRow{
		ID: t.ID, SessionID: t.SessionID, TokenHash: t.Hash, CreatedAt: t.CreatedAt.UTC(),
		ExpiresAt: t.ExpiresAt.UTC(), UsedAt: utcPtr(t.UsedAt), ReplacedBy: t.ReplacedBy,
	}
}

func (r *refreshTokenRow) toDomain() domain.RefreshToken {
	return domain.RefreshToken{
		ID: r.ID, SessionID: r.SessionID, Hash: r.TokenHash, CreatedAt: r.CreatedAt.UTC(),
		ExpiresAt: r.ExpiresAt.UTC(), UsedAt: utcPtr(r.UsedAt), ReplacedBy: r.ReplacedBy,
	}
}

// SessionRepository stores sessions in the sessions table and their
// refresh-token families in refresh_tokens, by SHA-256 hash only.
type SessionRepository struct{ db *DB }

var _ ports.SessionRepository = (*SessionRepository)(nil)

// NewSessionRepository returns a SessionRepository on db.
func NewSessionRepository(db *DB) *SessionRepository { return &SessionRepository{db: db} }

// Create implements ports.SessionRepository. The session and its first
// token are written together: in the caller's transaction, or in one of
// their own.
func (r *SessionRepository) Create(ctx context.Context, s domain.Session, first domain.RefreshToken) error {
	if r.db.Dialect == Postgres && s.RevokedAt == nil && first.UsedAt == nil && first.ReplacedBy == nil {
		// Every login writes a session and its first token: one statement
		// (one round trip, planned once per connection) on Postgres.
		var id uuid.UUID
		err := r.db.queryRow(ctx, createSessionPostgres, []any{&id},
			s.ID, s.UserID, s.CreatedAt.UTC(), s.LastUsedAt.UTC(), s.ExpiresAt.UTC(), s.IP, s.UserAgent,
			first.ID, first.Hash, first.CreatedAt.UTC(), first.ExpiresAt.UTC())
		if err != nil {
			return sessionWriteError("insert session", err)
		}
		return nil
	}
	return NewTxManager(r.db).WithinTx(ctx, func(ctx context.Context) error {
		db := conn(ctx, r.db)
		if _, err := db.NewInsert().Model(toSessionRow(s)).Exec(ctx); err != nil {
			return sessionWriteError("insert session", err)
		}
		if _, err := db.NewInsert().Model(toRefreshTokenRow(first)).Exec(ctx); err != nil {
			return sessionWriteError("insert refresh token", err)
		}
		return nil
	})
}

// createSessionPostgres inserts a new session and the first token of its
// family; the token's foreign key is checked at the end of the statement,
// when the session row exists.
var createSessionPostgres = prepared{postgres: `WITH s AS (
		INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at, ip, user_agent)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id
	)
	INSERT INTO refresh_tokens (id, session_id, token_hash, created_at, expires_at)
	SELECT $8, s.id, $9, $10, $11 FROM s RETURNING id`}

// ByID implements ports.SessionRepository.
func (r *SessionRepository) ByID(ctx context.Context, id uuid.UUID) (domain.Session, error) {
	row := new(sessionRow)
	if err := conn(ctx, r.db).NewSelect().Model(row).Where("id = ?", id).Limit(1).Scan(ctx); err != nil {
		if isNoRows(err) {
			return domain.Session{}, domain.ErrSessionNotFound
		}
		return domain.Session{}, dbError("select session", err)
	}
	return row.toDomain(), nil
}

// ActiveByUser implements ports.SessionRepository.
func (r *SessionRepository) ActiveByUser(ctx context.Context, userID uuid.UUID, now time.Time) ([]domain.Session, error) {
	var rows []sessionRow
	err := conn(ctx, r.db).NewSelect().Model(&rows).
		Where("user_id = ?", userID).Where("revoked_at IS NULL").Where("expires_at > ?", now.UTC()).
		OrderExpr("created_at DESC, id DESC").Scan(ctx)
	if err != nil {
		return nil, dbError("select active sessions", err)
	}
	out := make([]domain.Session, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// Touch implements ports.SessionRepository. It returns
// domain.ErrSessionNotFound for an unknown session.
func (r *SessionRepository) Touch(ctx context.Context, id uuid.UUID, at time.Time, ip, userAgent string) error {
	res, err := conn(ctx, r.db).NewUpdate().Model((*sessionRow)(nil)).
		Set("last_used_at = ?", at.UTC()).Set("ip = ?", ip).Set("user_agent = ?", userAgent).
		Where("id = ?", id).Exec(ctx)
	if err != nil {
		return dbError("touch session", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return dbError("touch session", err)
	}
	if n == 0 {
		return domain.ErrSessionNotFound
	}
	return nil
}

// Revoke implements ports.SessionRepository. The revoked_at IS NULL guard
// makes the first revocation's time and reason the ones that stay.
func (r *SessionRepository) Revoke(ctx context.Context, id uuid.UUID, at time.Time, reason string) (bool, error) {
	res, err := conn(ctx, r.db).NewUpdate().Model((*sessionRow)(nil)).
		Set("revoked_at = ?", at.UTC()).Set("revoke_reason = ?", reason).
		Where("id = ?", id).Where("revoked_at IS NULL").Exec(ctx)
	if err != nil {
		return false, dbError("revoke session", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, dbError("revoke session", err)
	}
	return n == 1, nil
}

// RevokeAllForUser implements ports.SessionRepository. One UPDATE …
// RETURNING (Postgres, SQLite ≥ 3.35) both revokes and names the sessions,
// so a concurrent revocation is never reported twice.
func (r *SessionRepository) RevokeAllForUser(ctx context.Context, userID uuid.UUID, at time.Time, reason string) ([]uuid.UUID, error) {
	ids := []uuid.UUID{}
	_, err := conn(ctx, r.db).NewUpdate().Model((*sessionRow)(nil)).
		Set("revoked_at = ?", at.UTC()).Set("revoke_reason = ?", reason).
		Where("user_id = ?", userID).Where("revoked_at IS NULL").
		Returning("id").Exec(ctx, &ids)
	if err != nil {
		return nil, dbError("revoke sessions of user", err)
	}
	return ids, nil
}

// RevokedSince implements ports.SessionRepository, oldest revocation first.
func (r *SessionRepository) RevokedSince(ctx context.Context, since time.Time) ([]domain.RevokedSession, error) {
	var rows []sessionRow
	err := conn(ctx, r.db).NewSelect().Model(&rows).Column("id", "revoked_at").
		Where("revoked_at >= ?", since.UTC()).OrderExpr("revoked_at ASC, id ASC").Scan(ctx)
	if err != nil {
		return nil, dbError("select revoked sessions", err)
	}
	out := make([]domain.RevokedSession, len(rows))
	for i, row := range rows {
		out[i] = domain.RevokedSession{SessionID: row.ID, RevokedAt: row.RevokedAt.UTC()}
	}
	return out, nil
}

// RefreshTokenByHash implements ports.SessionRepository.
func (r *SessionRepository) RefreshTokenByHash(ctx context.Context, hash []byte) (domain.RefreshToken, error) {
	if len(hash) == 0 {
		return domain.RefreshToken{}, domain.ErrInvalidToken
	}
	row := new(refreshTokenRow)
	if err := conn(ctx, r.db).NewSelect().Model(row).Where("token_hash = ?", hash).Limit(1).Scan(ctx); err != nil {
		if isNoRows(err) {
			return domain.RefreshToken{}, domain.ErrInvalidToken
		}
		return domain.RefreshToken{}, dbError("select refresh token", err)
	}
	return row.toDomain(), nil
}

// refreshWithSessionRow is a refresh token and its session in one row.
type refreshWithSessionRow struct {
	TokenID      uuid.UUID  `bun:"t_id,type:uuid"`
	TokenHash    []byte     `bun:"t_token_hash"`
	TokenCreated time.Time  `bun:"t_created_at"`
	TokenExpires time.Time  `bun:"t_expires_at"`
	UsedAt       *time.Time `bun:"t_used_at"`
	ReplacedBy   *uuid.UUID `bun:"t_replaced_by,type:uuid"`
	Session      sessionRow `bun:"embed:s_"`
	// ClientID is the OpenID Connect client of the session, if any.
	ClientID *string `bun:"g_client_id"`
}

// refreshTokenWithSession is the first read of every refresh.
var refreshTokenWithSession = prepare(`SELECT t.id AS t_id, t.token_hash AS t_token_hash, t.created_at AS t_created_at,
	t.expires_at AS t_expires_at, t.used_at AS t_used_at, t.replaced_by AS t_replaced_by,
	s.id AS s_id, s.user_id AS s_user_id, s.created_at AS s_created_at, s.last_used_at AS s_last_used_at,
	s.expires_at AS s_expires_at, s.ip AS s_ip, s.user_agent AS s_user_agent, s.revoked_at AS s_revoked_at,
	s.revoke_reason AS s_revoke_reason, g.client_id AS g_client_id
	FROM refresh_tokens AS t JOIN sessions AS s ON s.id = t.session_id
	LEFT JOIN oauth_grants AS g ON g.session_id = s.id WHERE t.token_hash = ?`)

// RefreshTokenWithSession implements ports.SessionRepository.
func (r *SessionRepository) RefreshTokenWithSession(ctx context.Context, hash []byte) (domain.RefreshToken, domain.Session, error) {
	if len(hash) == 0 {
		return domain.RefreshToken{}, domain.Session{}, domain.ErrInvalidToken
	}
	row := new(refreshWithSessionRow)
	if err := r.db.queryRow(ctx, refreshTokenWithSession, []any{row}, hash); err != nil {
		if isNoRows(err) {
			return domain.RefreshToken{}, domain.Session{}, domain.ErrInvalidToken
		}
		return domain.RefreshToken{}, domain.Session{}, dbError("select refresh token", err)
	}
	tok := refreshTokenRow{ID: row.TokenID, SessionID: row.Session.ID, TokenHash: row.TokenHash, CreatedAt: row.TokenCreated,
		ExpiresAt: row.TokenExpires, UsedAt: row.UsedAt, ReplacedBy: row.ReplacedBy}
	sess := row.Session.toDomain()
	if row.ClientID != nil {
		sess.ClientID = *row.ClientID
	}
	return tok.toDomain(), sess, nil
}

// rotatePostgres is a refresh on Postgres in one statement: spend the
// token (only if unused and its session live), add its successor to the
// family, touch the session. $1 is the time, $2 the successor's id, $3 the
// spent token's id, $4 and $5 the successor's hash and expiry, $6 and $7
// the client's IP and user agent.
var rotatePostgres = prepared{postgres: `WITH spent AS (
		UPDATE refresh_tokens SET used_at = $1, replaced_by = $2
		WHERE id = $3 AND used_at IS NULL
		AND EXISTS (SELECT 1 FROM sessions WHERE sessions.id = refresh_tokens.session_id AND sessions.revoked_at IS NULL)
		RETURNING session_id
	), added AS (
		INSERT INTO refresh_tokens (id, session_id, token_hash, created_at, expires_at)
		SELECT $2, session_id, $4, $1, $5 FROM spent
		RETURNING session_id
	)
	UPDATE sessions SET last_used_at = $1, ip = $6, user_agent = $7
	FROM added WHERE sessions.id = added.session_id
	RETURNING sessions.id`}

// RotateRefreshToken implements ports.SessionRepository. On Postgres it is
// one statement (a data-modifying CTE, so the three writes commit or fail
// together); on SQLite three in a transaction, which its single writer
// runs one at a time. Either way the spend's used_at IS NULL guard picks
// the one winner: Postgres re-checks it on the row after a concurrent
// writer commits.
func (r *SessionRepository) RotateRefreshToken(ctx context.Context, spent uuid.UUID, next domain.RefreshToken, ip, userAgent string) (bool, error) {
	at := next.CreatedAt.UTC()
	if r.db.Dialect == Postgres {
		rows, err := r.db.query(ctx, rotatePostgres, at, next.ID, spent, next.Hash, next.ExpiresAt.UTC(), ip, userAgent)
		if err != nil {
			return false, sessionWriteError("rotate refresh token", err)
		}
		defer rows.Close()
		won := rows.Next()
		if err := rows.Err(); err != nil {
			return false, sessionWriteError("rotate refresh token", err)
		}
		return won, nil
	}
	won := false
	err := NewTxManager(r.db).WithinTx(ctx, func(ctx context.Context) error {
		db := conn(ctx, r.db)
		var sessions []uuid.UUID
		_, err := db.NewUpdate().Model((*refreshTokenRow)(nil)).
			Set("used_at = ?", at).Set("replaced_by = ?", next.ID).
			Where("id = ?", spent).Where("used_at IS NULL").
			// session_id is the updated row's: sessions has no such column.
			Where("EXISTS (SELECT 1 FROM sessions AS s WHERE s.id = session_id AND s.revoked_at IS NULL)").
			Returning("session_id").Exec(ctx, &sessions)
		if err != nil {
			return dbError("spend refresh token", err)
		}
		if len(sessions) != 1 {
			return nil
		}
		sessionID := sessions[0]
		row := toRefreshTokenRow(next)
		row.SessionID, row.CreatedAt, row.UsedAt, row.ReplacedBy = sessionID, at, nil, nil
		if _, err := db.NewInsert().Model(row).Exec(ctx); err != nil {
			return sessionWriteError("insert refresh token", err)
		}
		if _, err := db.NewUpdate().Model((*sessionRow)(nil)).
			Set("last_used_at = ?", at).Set("ip = ?", ip).Set("user_agent = ?", userAgent).
			Where("id = ?", sessionID).Exec(ctx); err != nil {
			return dbError("touch session", err)
		}
		won = true
		return nil
	})
	return won, err
}

// ExtendRefreshToken implements ports.SessionRepository.
func (r *SessionRepository) ExtendRefreshToken(ctx context.Context, id uuid.UUID, expiresAt time.Time) (bool, error) {
	res, err := conn(ctx, r.db).NewUpdate().Model((*refreshTokenRow)(nil)).
		Set("expires_at = ?", expiresAt.UTC()).
		Where("id = ?", id).Where("used_at IS NULL").Where("expires_at < ?", expiresAt.UTC()).Exec(ctx)
	if err != nil {
		return false, dbError("extend refresh token", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, dbError("extend refresh token", err)
	}
	return n == 1, nil
}

func sessionWriteError(what string, err error) error {
	if _, ok := uniqueViolation(err); ok {
		return domain.ErrConflict
	}
	return dbError(what, err)
}

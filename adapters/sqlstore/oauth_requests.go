package sqlstore

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// authRequestParams is what the client asked for, kept in the params JSON
// column: nothing queries these fields, so one column holds them all.
type authRequestParams struct {
	RedirectURI         string   `json:"redirect_uri"`
	Scopes              []string `json:"scopes"`
	State               string   `json:"state"`
	Nonce               string   `json:"nonce"`
	ResponseType        string   `json:"response_type"`
	ResponseMode        string   `json:"response_mode"`
	CodeChallenge       string   `json:"code_challenge"`
	CodeChallengeMethod string   `json:"code_challenge_method"`
	Prompt              []string `json:"prompt"`
	// MaxAge is in whole seconds (OIDC's unit); null accepts any sign-in.
	MaxAge    *int64 `json:"max_age"`
	LoginHint string `json:"login_hint"`
}

type authRequestRow struct {
	bun.BaseModel `bun:"table:oauth_auth_requests"`

	ID        uuid.UUID         `bun:"id,pk,type:uuid"`
	ClientID  string            `bun:"client_id"`
	Params    authRequestParams `bun:"params,type:jsonb"`
	UserID    *uuid.UUID        `bun:"user_id,type:uuid"`
	AuthTime  *time.Time        `bun:"auth_time"`
	AMR       []string          `bun:"amr,type:jsonb"`
	CodeHash  []byte            `bun:"code_hash"`
	CreatedAt time.Time         `bun:"created_at"`
	ExpiresAt time.Time         `bun:"expires_at"`
}

func toAuthRequestRow(r domain.AuthRequest) *authRequestRow {
	row := &authRequestRow{
		ID: r.ID, ClientID: r.ClientID,
		Params: authRequestParams{
			RedirectURI: r.RedirectURI, Scopes: oauthList(r.Scopes), State: r.State, Nonce: r.Nonce,
			ResponseType: r.ResponseType, ResponseMode: r.ResponseMode, CodeChallenge: r.CodeChallenge,
			CodeChallengeMethod: r.CodeChallengeMethod, Prompt: oauthList(r.Prompt), LoginHint: r.LoginHint,
		},
		UserID: r.UserID, AMR: oauthList(r.AMR), CreatedAt: r.CreatedAt.UTC(), ExpiresAt: r.ExpiresAt.UTC(),
	}
	if r.MaxAge != nil {
		secs := int64(*r.MaxAge / time.Second)
		row.Params.MaxAge = &secs
	}
	if r.UserID != nil {
		at := r.AuthTime.UTC()
		row.AuthTime = &at
	}
	return row
}

func (r *authRequestRow) toDomain() domain.AuthRequest {
	p := r.Params
	out := domain.AuthRequest{
		ID: r.ID, ClientID: r.ClientID, RedirectURI: p.RedirectURI, Scopes: oauthList(p.Scopes), State: p.State,
		Nonce: p.Nonce, ResponseType: p.ResponseType, ResponseMode: p.ResponseMode, CodeChallenge: p.CodeChallenge,
		CodeChallengeMethod: p.CodeChallengeMethod, Prompt: oauthList(p.Prompt), LoginHint: p.LoginHint,
		UserID: r.UserID, AMR: oauthList(r.AMR), CreatedAt: r.CreatedAt.UTC(), ExpiresAt: r.ExpiresAt.UTC(),
	}
	if p.MaxAge != nil {
		d := time.Duration(*p.MaxAge) * time.Second
		out.MaxAge = &d
	}
	if r.AuthTime != nil {
		out.AuthTime = r.AuthTime.UTC()
	}
	return out
}

// AuthRequestRepository stores authorization requests in
// oauth_auth_requests, and the code issued for one by its hash only.
type AuthRequestRepository struct{ db *DB }

var _ ports.AuthRequestRepository = (*AuthRequestRepository)(nil)

// NewAuthRequestRepository returns an AuthRequestRepository on db.
func NewAuthRequestRepository(db *DB) *AuthRequestRepository { return &AuthRequestRepository{db: db} }

// Create implements ports.AuthRequestRepository. A taken id is
// domain.ErrConflict; a client that is not registered (any more) is
// domain.ErrOAuthClientNotFound.
func (r *AuthRequestRepository) Create(ctx context.Context, req domain.AuthRequest) error {
	if _, err := conn(ctx, r.db).NewInsert().Model(toAuthRequestRow(req)).Exec(ctx); err != nil {
		if _, ok := uniqueViolation(err); ok {
			return domain.ErrConflict
		}
		if oauthParentMissing(err) {
			return domain.ErrOAuthClientNotFound
		}
		return dbError("insert auth request", err)
	}
	return nil
}

// ByID implements ports.AuthRequestRepository: a request is live while
// now is before its expires_at.
func (r *AuthRequestRepository) ByID(ctx context.Context, id uuid.UUID, now time.Time) (domain.AuthRequest, error) {
	row := new(authRequestRow)
	err := conn(ctx, r.db).NewSelect().Model(row).
		Where("id = ?", id).Where("expires_at > ?", now.UTC()).Limit(1).Scan(ctx)
	if err != nil {
		if isNoRows(err) {
			return domain.AuthRequest{}, domain.ErrAuthRequestNotFound
		}
		return domain.AuthRequest{}, dbError("select auth request", err)
	}
	return row.toDomain(), nil
}

// Complete implements ports.AuthRequestRepository. The user_id IS NULL
// guard is in the statement, so of two racing completions one changes the
// row and the other gets domain.ErrAuthRequestNotFound. The port passes no
// now, so expiry is not checked here: ByID refuses an expired request
// before the sign-in, and TakeByCode refuses it at the exchange.
func (r *AuthRequestRepository) Complete(ctx context.Context, id, userID uuid.UUID, authTime time.Time, amr []string) error {
	v, err := oauthJSON(amr)
	if err != nil {
		return err
	}
	res, err := conn(ctx, r.db).NewUpdate().Model((*authRequestRow)(nil)).
		Set("user_id = ?", userID).Set("auth_time = ?", authTime.UTC()).Set("amr = ?", v).
		Where("id = ?", id).Where("user_id IS NULL").Exec(ctx)
	if err != nil {
		if oauthParentMissing(err) {
			return domain.ErrUserNotFound
		}
		return dbError("complete auth request", err)
	}
	n, err := oauthRowsChanged("complete auth request", res)
	if err != nil {
		return err
	}
	if n == 0 {
		return domain.ErrAuthRequestNotFound
	}
	return nil
}

// SetCode implements ports.AuthRequestRepository. Only a completed
// request gets a code: one not completed, or gone, is
// domain.ErrAuthRequestNotFound. A later code replaces an earlier one, so
// a request has at most one code that works. A hash another request holds
// is domain.ErrConflict.
func (r *AuthRequestRepository) SetCode(ctx context.Context, id uuid.UUID, codeHash []byte) error {
	if len(codeHash) == 0 {
		return errors.New("set auth request code: empty code hash")
	}
	res, err := conn(ctx, r.db).NewUpdate().Model((*authRequestRow)(nil)).
		Set("code_hash = ?", codeHash).
		Where("id = ?", id).Where("user_id IS NOT NULL").Exec(ctx)
	if err != nil {
		if _, ok := uniqueViolation(err); ok {
			return domain.ErrConflict
		}
		return dbError("set auth request code", err)
	}
	n, err := oauthRowsChanged("set auth request code", res)
	if err != nil {
		return err
	}
	if n == 0 {
		return domain.ErrAuthRequestNotFound
	}
	return nil
}

// TakeByCode implements ports.AuthRequestRepository. Finding and deleting
// the request are one DELETE … RETURNING (Postgres, SQLite ≥ 3.35): on
// Postgres a concurrent delete of the same row waits for the first and
// then finds nothing, and SQLite runs writers one at a time, so exactly
// one caller gets the row. An expired request is deleted all the same,
// but reported as domain.ErrAuthRequestNotFound.
func (r *AuthRequestRepository) TakeByCode(ctx context.Context, codeHash []byte, now time.Time) (domain.AuthRequest, error) {
	if len(codeHash) == 0 {
		return domain.AuthRequest{}, domain.ErrAuthRequestNotFound
	}
	var rows []authRequestRow
	_, err := conn(ctx, r.db).NewDelete().Model((*authRequestRow)(nil)).
		Where("code_hash = ?", codeHash).Returning("*").Exec(ctx, &rows)
	if err != nil {
		if isNoRows(err) {
			return domain.AuthRequest{}, domain.ErrAuthRequestNotFound
		}
		return domain.AuthRequest{}, dbError("take auth request by code", err)
	}
	if len(rows) != 1 || !rows[0].ExpiresAt.After(now) {
		return domain.AuthRequest{}, domain.ErrAuthRequestNotFound
	}
	return rows[0].toDomain(), nil
}

// Delete implements ports.AuthRequestRepository.
func (r *AuthRequestRepository) Delete(ctx context.Context, id uuid.UUID) error {
	if _, err := conn(ctx, r.db).NewDelete().Model((*authRequestRow)(nil)).Where("id = ?", id).Exec(ctx); err != nil {
		return dbError("delete auth request", err)
	}
	return nil
}

// DeleteExpired implements ports.AuthRequestRepository: it removes the
// requests ByID would no longer return at now (expires_at <= now).
func (r *AuthRequestRepository) DeleteExpired(ctx context.Context, now time.Time) (int, error) {
	res, err := conn(ctx, r.db).NewDelete().Model((*authRequestRow)(nil)).
		Where("expires_at <= ?", now.UTC()).Exec(ctx)
	if err != nil {
		return 0, dbError("delete expired auth requests", err)
	}
	n, err := oauthRowsChanged("delete expired auth requests", res)
	return int(n), err
}

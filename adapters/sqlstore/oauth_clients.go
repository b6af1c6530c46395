package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// oauthClientRow is a row of oauth_clients. The lists are JSON arrays
// (jsonb on Postgres, text on SQLite).
type oauthClientRow struct {
	bun.BaseModel `bun:"table:oauth_clients,alias:oc"`

	ID                     string    `bun:"id,pk"`
	Name                   string    `bun:"name"`
	SecretHash             []byte    `bun:"secret_hash"`
	Public                 bool      `bun:"public"`
	FirstParty             bool      `bun:"first_party"`
	RedirectURIs           []string  `bun:"redirect_uris,type:jsonb"`
	PostLogoutRedirectURIs []string  `bun:"post_logout_redirect_uris,type:jsonb"`
	GrantTypes             []string  `bun:"grant_types,type:jsonb"`
	CreatedAt              time.Time `bun:"created_at"`
	UpdatedAt              time.Time `bun:"updated_at"`
	// ServiceAccountID links a service account's client to its account.
	ServiceAccountID *uuid.UUID `bun:"service_account_id,type:uuid"`
}

func toOAuthClientRow(c domain.OAuthClient) *oauthClientRow {
	return &oauthClientRow{
		ID: c.ID, Name: c.Name, SecretHash: oauthSecret(c.SecretHash), Public: c.Public, FirstParty: c.FirstParty,
		RedirectURIs: oauthList(c.RedirectURIs), PostLogoutRedirectURIs: oauthList(c.PostLogoutRedirectURIs),
		GrantTypes: oauthList(c.GrantTypes), CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC(),
		ServiceAccountID: c.ServiceAccountID,
	}
}

func (r *oauthClientRow) toDomain() domain.OAuthClient {
	return domain.OAuthClient{
		ID: r.ID, Name: r.Name, SecretHash: oauthSecret(r.SecretHash), Public: r.Public, FirstParty: r.FirstParty,
		RedirectURIs: oauthList(r.RedirectURIs), PostLogoutRedirectURIs: oauthList(r.PostLogoutRedirectURIs),
		GrantTypes: oauthList(r.GrantTypes), CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
		ServiceAccountID: r.ServiceAccountID,
	}
}

// oauthList is l, or an empty list for nil: stored lists are JSON arrays,
// never null, and come back as (possibly empty) slices.
func oauthList(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// oauthSecret is nil for a hash that is absent or empty: a public client
// has no secret, stored as NULL.
func oauthSecret(h []byte) []byte {
	if len(h) == 0 {
		return nil
	}
	return h
}

// oauthJSON renders l as the JSON array a Set writes into a list column.
func oauthJSON(l []string) (string, error) {
	b, err := json.Marshal(oauthList(l))
	if err != nil {
		return "", fmt.Errorf("encode list: %w", err)
	}
	return string(b), nil
}

// oauthParentMissing reports a write that named a row of another table
// (client, user or session) that is not there: a foreign-key violation.
func oauthParentMissing(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "23503"
	}
	var sqErr *sqlite.Error
	return errors.As(err, &sqErr) && sqErr.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// oauthRowsChanged is the number of rows a write changed.
func oauthRowsChanged(what string, res interface{ RowsAffected() (int64, error) }) (int64, error) {
	n, err := res.RowsAffected()
	if err != nil {
		return 0, dbError(what, err)
	}
	return n, nil
}

// OAuthClientRepository stores OpenID Connect clients in oauth_clients.
// Deleting a client deletes its requests, grants and consents with it
// (ON DELETE CASCADE).
type OAuthClientRepository struct{ db *DB }

var _ ports.OAuthClientRepository = (*OAuthClientRepository)(nil)

// NewOAuthClientRepository returns an OAuthClientRepository on db.
func NewOAuthClientRepository(db *DB) *OAuthClientRepository { return &OAuthClientRepository{db: db} }

// Create implements ports.OAuthClientRepository. A taken id is
// domain.ErrConflict.
func (r *OAuthClientRepository) Create(ctx context.Context, c domain.OAuthClient) error {
	if _, err := conn(ctx, r.db).NewInsert().Model(toOAuthClientRow(c)).Exec(ctx); err != nil {
		if _, ok := uniqueViolation(err); ok {
			return domain.ErrConflict
		}
		return dbError("insert oauth client", err)
	}
	return nil
}

// ByID implements ports.OAuthClientRepository.
func (r *OAuthClientRepository) ByID(ctx context.Context, id string) (domain.OAuthClient, error) {
	row := new(oauthClientRow)
	if err := conn(ctx, r.db).NewSelect().Model(row).Where("oc.id = ?", id).Limit(1).Scan(ctx); err != nil {
		if isNoRows(err) {
			return domain.OAuthClient{}, domain.ErrOAuthClientNotFound
		}
		return domain.OAuthClient{}, dbError("select oauth client", err)
	}
	return row.toDomain(), nil
}

// List implements ports.OAuthClientRepository: oldest first, ties by id.
func (r *OAuthClientRepository) List(ctx context.Context) ([]domain.OAuthClient, error) {
	var rows []oauthClientRow
	if err := conn(ctx, r.db).NewSelect().Model(&rows).OrderExpr("oc.created_at ASC, oc.id ASC").Scan(ctx); err != nil {
		return nil, dbError("list oauth clients", err)
	}
	out := make([]domain.OAuthClient, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// Update implements ports.OAuthClientRepository. It writes the columns
// the change names and updated_at, nothing else, so concurrent changes of
// different settings both stay.
func (r *OAuthClientRepository) Update(ctx context.Context, id string, ch domain.OAuthClientChange) error {
	q := conn(ctx, r.db).NewUpdate().Model((*oauthClientRow)(nil))
	if ch.Name != nil {
		q = q.Set("name = ?", *ch.Name)
	}
	if ch.FirstParty != nil {
		q = q.Set("first_party = ?", *ch.FirstParty)
	}
	lists := []struct {
		column string
		value  *[]string
	}{
		{"redirect_uris", ch.RedirectURIs},
		{"post_logout_redirect_uris", ch.PostLogoutRedirectURIs},
		{"grant_types", ch.GrantTypes},
	}
	for _, l := range lists {
		if l.value == nil {
			continue
		}
		v, err := oauthJSON(*l.value)
		if err != nil {
			return err
		}
		q = q.Set("? = ?", bun.Ident(l.column), v)
	}
	res, err := q.Set("updated_at = ?", ch.At.UTC()).Where("id = ?", id).Exec(ctx)
	if err != nil {
		return dbError("update oauth client", err)
	}
	n, err := oauthRowsChanged("update oauth client", res)
	if err != nil {
		return err
	}
	if n == 0 {
		return domain.ErrOAuthClientNotFound
	}
	return nil
}

// SetSecret implements ports.OAuthClientRepository. It writes secret_hash
// and updated_at only.
func (r *OAuthClientRepository) SetSecret(ctx context.Context, id string, hash []byte, at time.Time) error {
	res, err := conn(ctx, r.db).NewUpdate().Model((*oauthClientRow)(nil)).
		Set("secret_hash = ?", oauthSecret(hash)).Set("updated_at = ?", at.UTC()).
		Where("id = ?", id).Exec(ctx)
	if err != nil {
		return dbError("set oauth client secret", err)
	}
	n, err := oauthRowsChanged("set oauth client secret", res)
	if err != nil {
		return err
	}
	if n == 0 {
		return domain.ErrOAuthClientNotFound
	}
	return nil
}

// Delete implements ports.OAuthClientRepository. The foreign keys delete
// the client's requests, grants and consents in the same statement.
func (r *OAuthClientRepository) Delete(ctx context.Context, id string) error {
	res, err := conn(ctx, r.db).NewDelete().Model((*oauthClientRow)(nil)).Where("id = ?", id).Exec(ctx)
	if err != nil {
		return dbError("delete oauth client", err)
	}
	n, err := oauthRowsChanged("delete oauth client", res)
	if err != nil {
		return err
	}
	if n == 0 {
		return domain.ErrOAuthClientNotFound
	}
	return nil
}

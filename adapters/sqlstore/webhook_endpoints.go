package sqlstore

import (
	"context"
	"encoding/base64"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

type webhookEndpointRow struct {
	bun.BaseModel `bun:"table:webhook_endpoints,alias:we"`

	ID                      uuid.UUID  `bun:"id,pk,type:uuid"`
	OrgID                   *uuid.UUID `bun:"org_id,type:uuid"`
	URL                     string     `bun:"url"`
	Description             string     `bun:"description"`
	Events                  []string   `bun:"events,type:jsonb"`
	Enabled                 bool       `bun:"enabled"`
	DisabledReason          *string    `bun:"disabled_reason"`
	FailingSince            *time.Time `bun:"failing_since"`
	Secret                  string     `bun:"secret"`
	PreviousSecret          *string    `bun:"previous_secret"`
	PreviousSecretExpiresAt *time.Time `bun:"previous_secret_expires_at"`
	CreatedBy               *uuid.UUID `bun:"created_by,type:uuid"`
	CreatedAt               time.Time  `bun:"created_at"`
	UpdatedAt               time.Time  `bun:"updated_at"`
}

func (r *webhookEndpointRow) toDomain() domain.WebhookEndpoint {
	e := domain.WebhookEndpoint{ID: r.ID, OrgID: r.OrgID, URL: r.URL, Description: r.Description,
		Events: oauthList(r.Events), Enabled: r.Enabled, FailingSince: utcPtr(r.FailingSince),
		PreviousSecretExpiresAt: utcPtr(r.PreviousSecretExpiresAt), CreatedBy: r.CreatedBy,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	if r.DisabledReason != nil {
		e.DisabledReason = *r.DisabledReason
	}
	return e
}

// webhookSecretLabel binds a sealed secret to its endpoint, so it cannot
// be copied into another endpoint's row and sign for it.
func webhookSecretLabel(id uuid.UUID) string { return "webhook_endpoints.secret:" + id.String() }

// WebhookEndpointRepository stores webhook endpoints in
// webhook_endpoints, their secrets sealed with the SecretBox.
type WebhookEndpointRepository struct {
	db  *DB
	box ports.SecretBox
}

var _ ports.WebhookEndpointRepository = (*WebhookEndpointRepository)(nil)

// NewWebhookEndpointRepository returns a WebhookEndpointRepository on db
// sealing secrets with box.
func NewWebhookEndpointRepository(db *DB, box ports.SecretBox) *WebhookEndpointRepository {
	return &WebhookEndpointRepository{db: db, box: box}
}

func (r *WebhookEndpointRepository) seal(id uuid.UUID, secret string) (string, error) {
	sealed, err := r.box.Seal([]byte(secret), webhookSecretLabel(id))
	if err != nil {
		return "", dbError("seal webhook secret", err)
	}
	return base64.StdEncoding.EncodeToString(sealed), nil
}

// openWebhookSecret returns the secret stored for endpoint id.
func openWebhookSecret(box ports.SecretBox, id uuid.UUID, stored string) (string, error) {
	sealed, err := base64.StdEncoding.DecodeString(stored)
	if err != nil {
		return "", errors.New("stored webhook secret is not base64")
	}
	b, err := box.Open(sealed, webhookSecretLabel(id))
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// Create implements ports.WebhookEndpointRepository. The endpoints of
// e's scope are counted under a transaction-scoped advisory lock of that
// scope on Postgres (a SQLite transaction holds the write lock from its
// start), so concurrent creations are counted one after the other.
func (r *WebhookEndpointRepository) Create(ctx context.Context, e domain.WebhookEndpoint, secret string, limit int) error {
	sealed, err := r.seal(e.ID, secret)
	if err != nil {
		return err
	}
	return NewTxManager(r.db).WithinTx(ctx, func(ctx context.Context) error {
		db := conn(ctx, r.db)
		scope := "system"
		count := db.NewSelect().Model((*webhookEndpointRow)(nil))
		if e.OrgID != nil {
			scope = e.OrgID.String()
			count = count.Where("org_id = ?", *e.OrgID)
		} else {
			count = count.Where("org_id IS NULL")
		}
		if r.db.Dialect == Postgres {
			if _, err := db.NewRaw("SELECT pg_advisory_xact_lock(hashtext(?))", "webhook_endpoints:"+scope).Exec(ctx); err != nil {
				return dbError("lock webhook endpoints", err)
			}
		}
		n, err := count.Count(ctx)
		if err != nil {
			return dbError("count webhook endpoints", err)
		}
		if n >= int64(limit) {
			return domain.ErrTooManyWebhookEndpoints
		}
		return r.insert(ctx, e, sealed)
	})
}

func (r *WebhookEndpointRepository) insert(ctx context.Context, e domain.WebhookEndpoint, sealed string) error {
	row := &webhookEndpointRow{ID: e.ID, OrgID: e.OrgID, URL: e.URL, Description: e.Description,
		Events: oauthList(e.Events), Enabled: e.Enabled, Secret: sealed, CreatedBy: e.CreatedBy,
		CreatedAt: e.CreatedAt.UTC(), UpdatedAt: e.UpdatedAt.UTC()}
	if !e.Enabled {
		reason := domain.WebhookDisabledManually
		row.DisabledReason = &reason
	}
	if _, err := conn(ctx, r.db).NewInsert().Model(row).Exec(ctx); err != nil {
		if _, ok := uniqueViolation(err); ok {
			return domain.ErrConflict
		}
		if oauthParentMissing(err) {
			return domain.ErrOrgNotFound
		}
		return dbError("insert webhook endpoint", err)
	}
	return nil
}

// selectEndpoints reads endpoints without their secrets.
func (r *WebhookEndpointRepository) selectEndpoints(ctx context.Context, rows *[]webhookEndpointRow) *bun.SelectQuery {
	return conn(ctx, r.db).NewSelect().Model(rows).ExcludeColumn("secret", "previous_secret")
}

// ByID implements ports.WebhookEndpointRepository.
func (r *WebhookEndpointRepository) ByID(ctx context.Context, id uuid.UUID) (domain.WebhookEndpoint, error) {
	var rows []webhookEndpointRow
	if err := r.selectEndpoints(ctx, &rows).Where("we.id = ?", id).Limit(1).Scan(ctx); err != nil {
		return domain.WebhookEndpoint{}, dbError("select webhook endpoint", err)
	}
	if len(rows) == 0 {
		return domain.WebhookEndpoint{}, domain.ErrWebhookNotFound
	}
	return rows[0].toDomain(), nil
}

// webhookEndpointList names the one order of the list in its cursors.
const webhookEndpointList = "webhook_endpoints:created_at"

// List implements ports.WebhookEndpointRepository: oldest first, ties by
// id, a keyset page.
func (r *WebhookEndpointRepository) List(ctx context.Context, f ports.WebhookEndpointFilter, p ports.Page) ([]domain.WebhookEndpoint, string, error) {
	limit := dirPageLimit(p.Limit)
	var rows []webhookEndpointRow
	q := r.selectEndpoints(ctx, &rows)
	if p.Cursor != "" {
		c, err := decodeDirCursor(p.Cursor, webhookEndpointList)
		if err != nil {
			return nil, "", err
		}
		at, err := parseDirTimeKey(c.Key)
		if err != nil {
			return nil, "", err
		}
		q = q.Where("(we.created_at, we.id) > (?, ?)", at, c.ID)
	}
	if f.OrgID != nil {
		q = q.Where("we.org_id = ?", *f.OrgID)
	}
	if f.OrgIDs != nil {
		if len(f.OrgIDs) == 0 {
			return []domain.WebhookEndpoint{}, "", nil
		}
		q = q.Where("we.org_id IN (?)", bun.List(f.OrgIDs))
	}
	if err := q.OrderExpr("we.created_at ASC, we.id ASC").Limit(int64(limit + 1)).Scan(ctx); err != nil {
		return nil, "", dbError("list webhook endpoints", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		next = encodeDirCursor(dirCursor{List: webhookEndpointList, Key: dirTimeKey(last.CreatedAt), ID: last.ID})
	}
	out := make([]domain.WebhookEndpoint, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, next, nil
}

// Update implements ports.WebhookEndpointRepository: only the columns the
// change names (and updated_at), so concurrent changes of other fields
// stay.
func (r *WebhookEndpointRepository) Update(ctx context.Context, id uuid.UUID, ch domain.WebhookEndpointChange) error {
	q := conn(ctx, r.db).NewUpdate().Model((*webhookEndpointRow)(nil))
	if ch.URL != nil {
		q = q.Set("url = ?", *ch.URL)
	}
	if ch.Events != nil {
		v, err := oauthJSON(*ch.Events)
		if err != nil {
			return err
		}
		q = q.Set("events = ?", v)
	}
	if ch.Description != nil {
		q = q.Set("description = ?", *ch.Description)
	}
	if ch.Enabled != nil {
		if *ch.Enabled {
			q = q.Set("enabled = ?", true).Set("disabled_reason = NULL").Set("failing_since = NULL")
		} else {
			// Disabling again keeps the first reason: an endpoint UMS
			// disabled for failing stays explained as such.
			q = q.Set("enabled = ?", false).
				Set("disabled_reason = COALESCE(disabled_reason, ?)", domain.WebhookDisabledManually)
		}
	}
	res, err := q.Set("updated_at = ?", ch.At.UTC()).Where("id = ?", id).Exec(ctx)
	if err != nil {
		return dbError("update webhook endpoint", err)
	}
	return webhookFound("update webhook endpoint", res)
}

func webhookFound(what string, res interface{ RowsAffected() (int64, error) }) error {
	n, err := oauthRowsChanged(what, res)
	if err != nil {
		return err
	}
	if n == 0 {
		return domain.ErrWebhookNotFound
	}
	return nil
}

// RotateSecret implements ports.WebhookEndpointRepository. The current
// secret moves to previous_secret in the statement itself, guarded by "no
// previous secret still signs": no read between check and write, so of
// concurrent rotations one changes the row (Postgres re-checks the guard
// on the row a concurrent rotation committed; SQLite has one writer) and
// no secret receivers still use is dropped.
func (r *WebhookEndpointRepository) RotateSecret(ctx context.Context, id uuid.UUID, secret string, previousUntil, at time.Time) error {
	sealed, err := r.seal(id, secret)
	if err != nil {
		return err
	}
	q := conn(ctx, r.db).NewUpdate().Model((*webhookEndpointRow)(nil)).Set("secret = ?", sealed)
	if previousUntil.After(at) {
		q = q.Set("previous_secret = secret").Set("previous_secret_expires_at = ?", previousUntil.UTC())
	} else {
		q = q.Set("previous_secret = NULL").Set("previous_secret_expires_at = NULL")
	}
	res, err := q.Set("updated_at = ?", at.UTC()).Where("id = ?", id).
		Where("previous_secret IS NULL OR previous_secret_expires_at IS NULL OR previous_secret_expires_at <= ?", at.UTC()).
		Exec(ctx)
	if err != nil {
		return dbError("rotate webhook secret", err)
	}
	n, err := oauthRowsChanged("rotate webhook secret", res)
	if err != nil || n > 0 {
		return err
	}
	// Nothing changed: the endpoint is gone, or a previous secret signs.
	var rows []webhookEndpointRow
	if err := conn(ctx, r.db).NewSelect().Model(&rows).Column("previous_secret_expires_at").
		Where("id = ?", id).Limit(1).Scan(ctx); err != nil {
		return dbError("rotate webhook secret", err)
	}
	if len(rows) == 0 {
		return domain.ErrWebhookNotFound
	}
	if until := rows[0].PreviousSecretExpiresAt; until != nil {
		return domain.WebhookRotationInProgress(*until)
	}
	return domain.ErrRotationInProgress
}

// Delete implements ports.WebhookEndpointRepository; the deliveries go
// with the endpoint (foreign key).
func (r *WebhookEndpointRepository) Delete(ctx context.Context, id uuid.UUID) error {
	res, err := conn(ctx, r.db).NewDelete().Model((*webhookEndpointRow)(nil)).Where("id = ?", id).Exec(ctx)
	if err != nil {
		return dbError("delete webhook endpoint", err)
	}
	return webhookFound("delete webhook endpoint", res)
}

// Enabled implements ports.WebhookEndpointRepository.
func (r *WebhookEndpointRepository) Enabled(ctx context.Context) ([]domain.WebhookEndpoint, error) {
	var rows []webhookEndpointRow
	if err := r.selectEndpoints(ctx, &rows).Where("we.enabled = ?", true).OrderExpr("we.created_at, we.id").Scan(ctx); err != nil {
		return nil, dbError("list enabled webhook endpoints", err)
	}
	out := make([]domain.WebhookEndpoint, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, nil
}

// Subscriptions implements ports.WebhookEndpointRepository.
func (r *WebhookEndpointRepository) Subscriptions(ctx context.Context) ([]ports.WebhookSubscription, error) {
	var rows []webhookEndpointRow
	if err := conn(ctx, r.db).NewSelect().Model(&rows).Column("org_id", "events").
		Where("enabled = ?", true).Scan(ctx); err != nil {
		return nil, dbError("list webhook subscriptions", err)
	}
	out := make([]ports.WebhookSubscription, len(rows))
	for i, row := range rows {
		out[i] = ports.WebhookSubscription{OrgID: row.OrgID, Events: oauthList(row.Events)}
	}
	return out, nil
}

// RecordSuccess implements ports.WebhookEndpointRepository.
func (r *WebhookEndpointRepository) RecordSuccess(ctx context.Context, id uuid.UUID) error {
	_, err := conn(ctx, r.db).NewUpdate().Model((*webhookEndpointRow)(nil)).Set("failing_since = NULL").
		Where("id = ?", id).Where("failing_since IS NOT NULL").Exec(ctx)
	return dbError("record webhook success", err)
}

// RecordFailure implements ports.WebhookEndpointRepository.
func (r *WebhookEndpointRepository) RecordFailure(ctx context.Context, id uuid.UUID, at time.Time) error {
	_, err := conn(ctx, r.db).NewUpdate().Model((*webhookEndpointRow)(nil)).Set("failing_since = ?", at.UTC()).
		Where("id = ?", id).Where("failing_since IS NULL").Exec(ctx)
	return dbError("record webhook failure", err)
}

// DisableFailing implements ports.WebhookEndpointRepository: one guarded
// statement, so of racing instances exactly one sees its row change.
func (r *WebhookEndpointRepository) DisableFailing(ctx context.Context, id uuid.UUID, since, at time.Time) (bool, error) {
	res, err := conn(ctx, r.db).NewUpdate().Model((*webhookEndpointRow)(nil)).
		Set("enabled = ?", false).Set("disabled_reason = ?", domain.WebhookDisabledFailing).Set("updated_at = ?", at.UTC()).
		Where("id = ?", id).Where("enabled = ?", true).
		Where("failing_since IS NOT NULL").Where("failing_since <= ?", since.UTC()).Exec(ctx)
	if err != nil {
		return false, dbError("disable failing webhook endpoint", err)
	}
	n, err := oauthRowsChanged("disable failing webhook endpoint", res)
	return n == 1, err
}

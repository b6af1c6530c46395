package sqlstore

import (
	"context"
	"errors"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

type webhookMessageRow struct {
	bun.BaseModel `bun:"table:webhook_messages,alias:wm"`

	ID          uuid.UUID  `bun:"id,pk,type:uuid"`
	EventType   string     `bun:"event_type"`
	OrgID       *uuid.UUID `bun:"org_id,type:uuid"`
	Payload     string     `bun:"payload"`
	CreatedAt   time.Time  `bun:"created_at"`
	FannedOutAt *time.Time `bun:"fanned_out_at"`
}

type webhookDeliveryRow struct {
	bun.BaseModel `bun:"table:webhook_deliveries,alias:wd"`

	ID            uuid.UUID  `bun:"id,pk,type:uuid"`
	EndpointID    uuid.UUID  `bun:"endpoint_id,type:uuid"`
	MessageID     uuid.UUID  `bun:"message_id,type:uuid"`
	EventType     string     `bun:"event_type"`
	Status        string     `bun:"status"`
	Attempts      int        `bun:"attempts"`
	NextAttemptAt time.Time  `bun:"next_attempt_at"`
	LastAttemptAt *time.Time `bun:"last_attempt_at"`
	LastStatus    *int       `bun:"last_status"`
	LastError     *string    `bun:"last_error"`
	ReplayOf      *uuid.UUID `bun:"replay_of,type:uuid"`
	CreatedAt     time.Time  `bun:"created_at"`
	FinishedAt    *time.Time `bun:"finished_at"`
}

func (r *webhookDeliveryRow) toDomain() domain.WebhookDelivery {
	d := domain.WebhookDelivery{ID: r.ID, EndpointID: r.EndpointID, MessageID: r.MessageID, EventType: r.EventType,
		Status: r.Status, Attempts: r.Attempts, LastStatus: r.LastStatus, LastAttemptAt: utcPtr(r.LastAttemptAt),
		CreatedAt: r.CreatedAt.UTC(), FinishedAt: utcPtr(r.FinishedAt), ReplayOf: r.ReplayOf}
	if r.LastError != nil {
		d.LastError = *r.LastError
	}
	if r.Status == domain.DeliveryPending {
		d.NextAttemptAt = utcPtr(&r.NextAttemptAt)
	}
	return d
}

// dueDeliveryRow is a claimed delivery with its endpoint and message.
type dueDeliveryRow struct {
	webhookDeliveryRow `bun:",extend"`

	URL                     string     `bun:"url"`
	Secret                  string     `bun:"secret"`
	PreviousSecret          *string    `bun:"previous_secret"`
	PreviousSecretExpiresAt *time.Time `bun:"previous_secret_expires_at"`
	Payload                 string     `bun:"payload"`
}

// WebhookOutbox keeps webhook messages and their deliveries in
// webhook_messages and webhook_deliveries. Payloads hold ids only, so
// unlike mail bodies they are stored in the clear; the endpoints' secrets
// are opened (SecretBox) only to hand a claimed delivery to its sender.
type WebhookOutbox struct {
	db  *DB
	box ports.SecretBox
}

var _ ports.WebhookOutbox = (*WebhookOutbox)(nil)

// NewWebhookOutbox returns a WebhookOutbox on db opening secrets with box.
func NewWebhookOutbox(db *DB, box ports.SecretBox) *WebhookOutbox {
	return &WebhookOutbox{db: db, box: box}
}

// Enqueue implements ports.WebhookOutbox.
func (o *WebhookOutbox) Enqueue(ctx context.Context, m ports.WebhookMessage) error {
	row := &webhookMessageRow{ID: m.ID, EventType: m.EventType, OrgID: m.OrgID, Payload: string(m.Payload),
		CreatedAt: m.CreatedAt.UTC()}
	if _, err := conn(ctx, o.db).NewInsert().Model(row).Exec(ctx); err != nil {
		if _, ok := uniqueViolation(err); ok {
			return domain.ErrConflict
		}
		return dbError("enqueue webhook message", err)
	}
	return nil
}

// TakeMessages implements ports.WebhookOutbox. On Postgres, FOR UPDATE
// SKIP LOCKED lets instances take at once without waiting on or taking
// each other's messages; SQLite runs one writer at a time.
func (o *WebhookOutbox) TakeMessages(ctx context.Context, at time.Time, limit int) ([]ports.WebhookMessage, error) {
	if limit <= 0 {
		return nil, nil
	}
	var rows []webhookMessageRow
	var q *bun.RawQuery
	if o.db.Dialect == Postgres {
		q = conn(ctx, o.db).NewRaw(`
			WITH due AS (
				SELECT id FROM webhook_messages WHERE fanned_out_at IS NULL
				ORDER BY created_at, id LIMIT ? FOR UPDATE SKIP LOCKED
			)
			UPDATE webhook_messages AS m SET fanned_out_at = ? FROM due WHERE m.id = due.id
			RETURNING m.id, m.event_type, m.org_id, m.created_at`, limit, at.UTC())
	} else {
		q = conn(ctx, o.db).NewRaw(`
			UPDATE webhook_messages SET fanned_out_at = ? WHERE id IN (
				SELECT id FROM webhook_messages WHERE fanned_out_at IS NULL ORDER BY created_at, id LIMIT ?
			)
			RETURNING id, event_type, org_id, created_at`, at.UTC(), limit)
	}
	if err := q.Scan(ctx, &rows); err != nil {
		return nil, dbError("take webhook messages", err)
	}
	sort.Slice(rows, func(i, j int) bool {
		if !rows[i].CreatedAt.Equal(rows[j].CreatedAt) {
			return rows[i].CreatedAt.Before(rows[j].CreatedAt)
		}
		return rows[i].ID.String() < rows[j].ID.String()
	})
	out := make([]ports.WebhookMessage, len(rows))
	for i, r := range rows {
		out[i] = ports.WebhookMessage{ID: r.ID, EventType: r.EventType, OrgID: r.OrgID, CreatedAt: r.CreatedAt.UTC()}
	}
	return out, nil
}

// webhookPendingIndex is the unique index of pending deliveries per
// endpoint and message; SQLite names its columns instead.
const webhookPendingIndex = "webhook_deliveries_pending_idx"

// AddDeliveries implements ports.WebhookOutbox. The unique index on
// pending deliveries of (endpoint, message) refuses a second one, so
// racing replays cannot both get in; fan-out never trips it, taking each
// message once and adding one delivery per endpoint.
func (o *WebhookOutbox) AddDeliveries(ctx context.Context, ds []domain.WebhookDelivery) error {
	if len(ds) == 0 {
		return nil
	}
	rows := make([]webhookDeliveryRow, len(ds))
	for i, d := range ds {
		next := d.CreatedAt
		if d.NextAttemptAt != nil {
			next = *d.NextAttemptAt
		}
		rows[i] = webhookDeliveryRow{ID: d.ID, EndpointID: d.EndpointID, MessageID: d.MessageID, EventType: d.EventType,
			Status: domain.DeliveryPending, NextAttemptAt: next.UTC(), ReplayOf: d.ReplayOf, CreatedAt: d.CreatedAt.UTC()}
	}
	if _, err := conn(ctx, o.db).NewInsert().Model(&rows).Exec(ctx); err != nil {
		if oauthParentMissing(err) {
			return domain.ErrWebhookNotFound
		}
		if name, ok := uniqueViolation(err); ok && (name == webhookPendingIndex || name == "webhook_deliveries.endpoint_id") {
			return domain.ErrReplayPending
		}
		return dbError("add webhook deliveries", err)
	}
	return nil
}

// ClaimDeliveries implements ports.WebhookOutbox. The lease is the row's
// next attempt time: a claimed delivery is due again at now+lease unless
// Finish or Release says otherwise first.
func (o *WebhookOutbox) ClaimDeliveries(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]ports.DueDelivery, error) {
	if limit <= 0 {
		return nil, nil
	}
	if lease <= 0 {
		return nil, errors.New("claim webhook deliveries: lease must be positive")
	}
	now = now.UTC()
	var ids []uuid.UUID
	var q *bun.RawQuery
	if o.db.Dialect == Postgres {
		q = conn(ctx, o.db).NewRaw(`
			WITH due AS (
				SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
				WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND e.enabled
				ORDER BY d.next_attempt_at, d.id LIMIT ?
				FOR UPDATE OF d SKIP LOCKED
			)
			UPDATE webhook_deliveries AS w SET next_attempt_at = ?, attempts = w.attempts + 1, last_attempt_at = ?
			FROM due WHERE w.id = due.id
			RETURNING w.id`, now, limit, now.Add(lease), now)
	} else {
		q = conn(ctx, o.db).NewRaw(`
			UPDATE webhook_deliveries SET next_attempt_at = ?, attempts = attempts + 1, last_attempt_at = ?
			WHERE id IN (
				SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
				WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND e.enabled
				ORDER BY d.next_attempt_at, d.id LIMIT ?
			)
			RETURNING id`, now.Add(lease), now, now, limit)
	}
	if err := q.Scan(ctx, &ids); err != nil {
		return nil, dbError("claim webhook deliveries", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	var rows []dueDeliveryRow
	err := conn(ctx, o.db).NewSelect().Model(&rows).
		ColumnExpr("wd.*").
		ColumnExpr("e.url, e.secret, e.previous_secret, e.previous_secret_expires_at, m.payload").
		Join("JOIN webhook_endpoints AS e ON e.id = wd.endpoint_id").
		Join("JOIN webhook_messages AS m ON m.id = wd.message_id").
		Where("wd.id IN (?)", bun.List(ids)).
		OrderExpr("wd.created_at, wd.id").Scan(ctx)
	if err != nil {
		return nil, dbError("read claimed webhook deliveries", err)
	}
	out := make([]ports.DueDelivery, 0, len(rows))
	for _, r := range rows {
		d, err := o.due(r, now)
		if err != nil {
			// A secret that does not open will not open next time either.
			if ferr := o.Finish(ctx, r.ID, ports.DeliveryOutcome{Error: err.Error(), At: now}); ferr != nil {
				return nil, ferr
			}
			continue
		}
		out = append(out, d)
	}
	return out, nil
}

func (o *WebhookOutbox) due(r dueDeliveryRow, now time.Time) (ports.DueDelivery, error) {
	cur, err := openWebhookSecret(o.box, r.EndpointID, r.Secret)
	if err != nil {
		return ports.DueDelivery{}, errors.New("the endpoint's signing secret could not be opened")
	}
	secrets := []string{cur}
	if r.PreviousSecret != nil && r.PreviousSecretExpiresAt != nil && r.PreviousSecretExpiresAt.After(now) {
		prev, err := openWebhookSecret(o.box, r.EndpointID, *r.PreviousSecret)
		if err == nil {
			secrets = append(secrets, prev)
		}
	}
	return ports.DueDelivery{WebhookDelivery: r.toDomain(), URL: r.URL, Secrets: secrets, Payload: []byte(r.Payload)}, nil
}

// Finish implements ports.WebhookOutbox.
func (o *WebhookOutbox) Finish(ctx context.Context, id uuid.UUID, out ports.DeliveryOutcome) error {
	var status *int
	if out.Status != 0 {
		status = &out.Status
	}
	reason := truncateRunes(printable(out.Error), maxLastError)
	q := conn(ctx, o.db).NewUpdate().Model((*webhookDeliveryRow)(nil)).Set("last_status = ?", status).
		Where("id = ?", id).Where("status = ?", domain.DeliveryPending)
	switch {
	case out.Error == "":
		q = q.Set("status = ?", domain.DeliverySucceeded).Set("last_error = NULL").Set("finished_at = ?", out.At.UTC())
	case out.Next != nil:
		q = q.Set("last_error = ?", reason).Set("next_attempt_at = ?", out.Next.UTC())
	default:
		q = q.Set("status = ?", domain.DeliveryFailed).Set("last_error = ?", reason).
			Set("finished_at = ?", out.At.UTC())
	}
	if _, err := q.Exec(ctx); err != nil {
		return dbError("finish webhook delivery", err)
	}
	return nil
}

// Release implements ports.WebhookOutbox.
func (o *WebhookOutbox) Release(ctx context.Context, id uuid.UUID, at time.Time) error {
	_, err := conn(ctx, o.db).NewUpdate().Model((*webhookDeliveryRow)(nil)).
		Set("next_attempt_at = ?", at.UTC()).Set("attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END").
		Where("id = ?", id).Where("status = ?", domain.DeliveryPending).Exec(ctx)
	return dbError("release webhook delivery", err)
}

// webhookDeliveryList names the one order of the list in its cursors.
const webhookDeliveryList = "webhook_deliveries:created_at_desc"

// Deliveries implements ports.WebhookOutbox: newest first, ties by id
// descending, a keyset page.
func (o *WebhookOutbox) Deliveries(ctx context.Context, endpointID uuid.UUID, status string, p ports.Page) ([]domain.WebhookDelivery, string, error) {
	limit := dirPageLimit(p.Limit)
	var rows []webhookDeliveryRow
	q := conn(ctx, o.db).NewSelect().Model(&rows).Where("wd.endpoint_id = ?", endpointID)
	if p.Cursor != "" {
		c, err := decodeDirCursor(p.Cursor, webhookDeliveryList)
		if err != nil {
			return nil, "", err
		}
		at, err := parseDirTimeKey(c.Key)
		if err != nil {
			return nil, "", err
		}
		q = q.Where("(wd.created_at, wd.id) < (?, ?)", at, c.ID)
	}
	if status != "" {
		q = q.Where("wd.status = ?", status)
	}
	if err := q.OrderExpr("wd.created_at DESC, wd.id DESC").Limit(int64(limit + 1)).Scan(ctx); err != nil {
		return nil, "", dbError("list webhook deliveries", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[limit-1]
		next = encodeDirCursor(dirCursor{List: webhookDeliveryList, Key: dirTimeKey(last.CreatedAt), ID: last.ID})
	}
	out := make([]domain.WebhookDelivery, len(rows))
	for i := range rows {
		out[i] = rows[i].toDomain()
	}
	return out, next, nil
}

// Delivery implements ports.WebhookOutbox.
func (o *WebhookOutbox) Delivery(ctx context.Context, endpointID, id uuid.UUID) (domain.WebhookDelivery, error) {
	var rows []webhookDeliveryRow
	if err := conn(ctx, o.db).NewSelect().Model(&rows).Where("wd.id = ?", id).Where("wd.endpoint_id = ?", endpointID).
		Limit(1).Scan(ctx); err != nil {
		return domain.WebhookDelivery{}, dbError("select webhook delivery", err)
	}
	if len(rows) == 0 {
		return domain.WebhookDelivery{}, domain.ErrDeliveryNotFound
	}
	return rows[0].toDomain(), nil
}

// Prune implements ports.WebhookOutbox; deliveries go with their message
// (foreign key).
func (o *WebhookOutbox) Prune(ctx context.Context, before time.Time, limit int) (int, error) {
	res, err := conn(ctx, o.db).NewRaw(`DELETE FROM webhook_messages WHERE id IN (
		SELECT m.id FROM webhook_messages m
		WHERE m.created_at < ? AND m.fanned_out_at IS NOT NULL
		AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.message_id = m.id AND d.status = 'pending')
		LIMIT ?)`, before.UTC(), limit).Exec(ctx)
	if err != nil {
		return 0, dbError("prune webhook messages", err)
	}
	n, err := oauthRowsChanged("prune webhook messages", res)
	return int(n), err
}

// printable drops control characters (NUL included, which Postgres text
// refuses) from a failure reason.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, ""))
}

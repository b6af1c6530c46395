package sqlstore

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// outboxBodyLabel binds sealed bodies to the mail_outbox table.
const outboxBodyLabel = "mail_outbox.body"

// maxLastError bounds the stored failure reason, in characters.
const maxLastError = 500

type mailOutboxRow struct {
	bun.BaseModel `bun:"table:mail_outbox"`

	ID            uuid.UUID  `bun:"id,pk,type:uuid"`
	Recipient     string     `bun:"recipient"`
	Subject       string     `bun:"subject"`
	TextBody      string     `bun:"text_body"`
	HTMLBody      string     `bun:"html_body"`
	CreatedAt     time.Time  `bun:"created_at"`
	Attempts      int        `bun:"attempts"`
	NextAttemptAt time.Time  `bun:"next_attempt_at"`
	SentAt        *time.Time `bun:"sent_at"`
	FailedAt      *time.Time `bun:"failed_at"`
	LastError     *string    `bun:"last_error"`
}

// claimedRow is what a claim returns.
type claimedRow struct {
	ID        uuid.UUID `bun:"id"`
	Recipient string    `bun:"recipient"`
	Subject   string    `bun:"subject"`
	TextBody  string    `bun:"text_body"`
	HTMLBody  string    `bun:"html_body"`
	CreatedAt time.Time `bun:"created_at"`
	Attempts  int       `bun:"attempts"`
}

// MailOutbox queues mail in the mail_outbox table. Bodies carry one-time
// links, so they are sealed with the SecretBox at rest and blanked once the
// message is sent or given up on; recipient and subject stay readable for
// operators.
type MailOutbox struct {
	db  *DB
	box ports.SecretBox
}

var _ ports.MailOutbox = (*MailOutbox)(nil)

// NewMailOutbox returns a MailOutbox on db sealing bodies with box.
func NewMailOutbox(db *DB, box ports.SecretBox) *MailOutbox {
	return &MailOutbox{db: db, box: box}
}

// Enqueue implements ports.MailOutbox. at is also stored as the creation
// time; a duplicate id is domain.ErrConflict.
func (o *MailOutbox) Enqueue(ctx context.Context, id uuid.UUID, m ports.Mail, at time.Time) error {
	text, err := o.seal(m.Text)
	if err != nil {
		return err
	}
	html, err := o.seal(m.HTML)
	if err != nil {
		return err
	}
	row := &mailOutboxRow{
		ID: id, Recipient: m.To, Subject: m.Subject, TextBody: text, HTMLBody: html,
		CreatedAt: at.UTC(), NextAttemptAt: at.UTC(),
	}
	if _, err := conn(ctx, o.db).NewInsert().Model(row).Exec(ctx); err != nil {
		if _, ok := uniqueViolation(err); ok {
			return domain.ErrConflict
		}
		return dbError("enqueue mail", err)
	}
	return nil
}

// Claim implements ports.MailOutbox. The lease is the row's next attempt
// time: a claimed row is due again at now+lease unless MarkSent or
// MarkFailed says otherwise first. On Postgres, FOR UPDATE SKIP LOCKED lets
// instances claim at once without waiting on or taking each other's rows;
// SQLite runs one writer at a time, so the statement alone is enough.
func (o *MailOutbox) Claim(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]ports.OutboxMail, error) {
	if limit <= 0 {
		return nil, nil
	}
	if lease <= 0 {
		return nil, errors.New("claim mail: lease must be positive")
	}
	now = now.UTC()
	until := now.Add(lease)
	var rows []claimedRow
	var q *bun.RawQuery
	if o.db.Dialect == Postgres {
		q = conn(ctx, o.db).NewRaw(`
			WITH due AS (
				SELECT id FROM mail_outbox
				WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ?
				ORDER BY next_attempt_at, id
				LIMIT ?
				FOR UPDATE SKIP LOCKED
			)
			UPDATE mail_outbox AS m SET next_attempt_at = ?, attempts = m.attempts + 1
			FROM due WHERE m.id = due.id
			RETURNING m.id, m.recipient, m.subject, m.text_body, m.html_body, m.created_at, m.attempts`,
			now, limit, until)
	} else {
		q = conn(ctx, o.db).NewRaw(`
			UPDATE mail_outbox SET next_attempt_at = ?, attempts = attempts + 1
			WHERE id IN (
				SELECT id FROM mail_outbox
				WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ?
				ORDER BY next_attempt_at, id
				LIMIT ?
			)
			RETURNING id, recipient, subject, text_body, html_body, created_at, attempts`,
			until, now, limit)
	}
	if err := q.Scan(ctx, &rows); err != nil {
		return nil, dbError("claim mail", err)
	}
	// RETURNING comes in no particular order; oldest first is what a
	// reader of the worker's log expects.
	sort.Slice(rows, func(i, j int) bool {
		if !rows[i].CreatedAt.Equal(rows[j].CreatedAt) {
			return rows[i].CreatedAt.Before(rows[j].CreatedAt)
		}
		return rows[i].ID.String() < rows[j].ID.String()
	})
	out := make([]ports.OutboxMail, 0, len(rows))
	for _, r := range rows {
		m, err := o.openRow(r)
		if err != nil {
			// A body that does not open will not open next time either;
			// giving up on it keeps it from failing every later claim.
			if ferr := o.MarkFailed(ctx, r.ID, err.Error(), nil); ferr != nil {
				return nil, fmt.Errorf("claim mail %s: %w; give up: %w", r.ID, err, ferr)
			}
			continue
		}
		out = append(out, m)
	}
	return out, nil
}

func (o *MailOutbox) openRow(r claimedRow) (ports.OutboxMail, error) {
	text, err := o.open(r.TextBody)
	if err != nil {
		return ports.OutboxMail{}, dbError("text body", err)
	}
	html, err := o.open(r.HTMLBody)
	if err != nil {
		return ports.OutboxMail{}, dbError("HTML body", err)
	}
	return ports.OutboxMail{
		ID:       r.ID,
		Mail:     ports.Mail{To: r.Recipient, Subject: r.Subject, Text: text, HTML: html},
		Attempts: r.Attempts,
	}, nil
}

// MarkSent implements ports.MailOutbox. The bodies are blanked: their links
// are no business of the database any more. A message already sent or given
// up on is left as it is.
func (o *MailOutbox) MarkSent(ctx context.Context, id uuid.UUID, at time.Time) error {
	_, err := conn(ctx, o.db).NewUpdate().Model((*mailOutboxRow)(nil)).
		Set("sent_at = ?", at.UTC()).Set("text_body = ''").Set("html_body = ''").
		Where("id = ?", id).Where("sent_at IS NULL").Where("failed_at IS NULL").
		Exec(ctx)
	if err != nil {
		return dbError("mark mail sent", err)
	}
	return nil
}

// MarkFailed implements ports.MailOutbox. reason is kept, cut to 500
// characters. With next nil the message is given up on: failed_at is set,
// the bodies are blanked and it is never claimed again. A message already
// sent or given up on is left as it is.
func (o *MailOutbox) MarkFailed(ctx context.Context, id uuid.UUID, reason string, next *time.Time) error {
	q := conn(ctx, o.db).NewUpdate().Model((*mailOutboxRow)(nil)).
		Set("last_error = ?", truncateRunes(reason, maxLastError)).
		Where("id = ?", id).Where("sent_at IS NULL").Where("failed_at IS NULL")
	if next != nil {
		q = q.Set("next_attempt_at = ?", next.UTC())
	} else {
		// The port gives no time for giving up; the wall clock only
		// records when, nothing depends on it.
		q = q.Set("failed_at = ?", time.Now().UTC()).Set("text_body = ''").Set("html_body = ''")
	}
	if _, err := q.Exec(ctx); err != nil {
		return dbError("mark mail failed", err)
	}
	return nil
}

func (o *MailOutbox) seal(body string) (string, error) {
	if body == "" {
		return "", nil
	}
	sealed, err := o.box.Seal([]byte(body), outboxBodyLabel)
	if err != nil {
		return "", dbError("seal mail body", err)
	}
	return base64.StdEncoding.EncodeToString(sealed), nil
}

func (o *MailOutbox) open(stored string) (string, error) {
	if stored == "" {
		return "", nil
	}
	sealed, err := base64.StdEncoding.DecodeString(stored)
	if err != nil {
		return "", errors.New("stored body is not base64")
	}
	body, err := o.box.Open(sealed, outboxBodyLabel)
	if err != nil {
		return "", err
	}
	return string(body), nil
}

// truncateRunes cuts s to at most n characters without splitting one.
func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for k := range s {
		if i == n {
			return s[:k]
		}
		i++
	}
	return s
}

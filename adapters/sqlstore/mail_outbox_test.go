package sqlstore_test

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/adapters/sqlstore"
	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
	"github.com/ums-project/ums/ports/porttest"
)

func TestMailOutboxContract(t *testing.T) {
	for name, url := range stores() {
		t.Run(name, func(t *testing.T) {
			porttest.RunMailOutbox(t, func(t *testing.T) porttest.OutboxStore {
				db := openMigrated(t, url(t))
				return porttest.OutboxStore{
					Outbox: sqlstore.NewMailOutbox(db, newOutboxTestBox(t)),
					Tx:     sqlstore.NewTxManager(db),
				}
			})
		})
	}
}

// outboxRaw is a mail_outbox row as stored.
type outboxRaw struct {
	TextBody  string     `bun:"text_body"`
	HTMLBody  string     `bun:"html_body"`
	Subject   string     `bun:"subject"`
	Recipient string     `bun:"recipient"`
	Attempts  int        `bun:"attempts"`
	SentAt    *time.Time `bun:"sent_at"`
	FailedAt  *time.Time `bun:"failed_at"`
	LastError *string    `bun:"last_error"`
}

func readOutboxRow(t *testing.T, db *sqlstore.DB, id uuid.UUID) outboxRaw {
	t.Helper()
	var r outboxRaw
	require.NoError(t, db.NewRaw(
		"SELECT text_body, html_body, subject, recipient, attempts, sent_at, failed_at, last_error FROM mail_outbox WHERE id = ?",
		id).Scan(context.Background(), &r))
	return r
}

func TestMailOutboxAtRest(t *testing.T) {
	ctx := context.Background()
	base := time.Date(2030, 3, 4, 5, 6, 7, 0, time.UTC)
	for name, url := range stores() {
		t.Run(name, func(t *testing.T) {
			setup := func(t *testing.T) (*sqlstore.DB, *outboxTestBox, *sqlstore.MailOutbox) {
				db := openMigrated(t, url(t))
				box := newOutboxTestBox(t)
				return db, box, sqlstore.NewMailOutbox(db, box)
			}

			t.Run("bodies_are_sealed", func(t *testing.T) {
				db, box, outbox := setup(t)
				id, m := uuid.New(), porttest.OutboxTestMail()
				require.NoError(t, outbox.Enqueue(ctx, id, m, base))

				raw := readOutboxRow(t, db, id)
				assert.Equal(t, m.To, raw.Recipient)
				assert.Equal(t, m.Subject, raw.Subject)
				for body, stored := range map[string]string{m.Text: raw.TextBody, m.HTML: raw.HTMLBody} {
					assert.NotContains(t, stored, "token=")
					assert.NotContains(t, stored, "ums.example.com")
					sealed, err := base64.StdEncoding.DecodeString(stored)
					require.NoError(t, err, "stored as base64")
					opened, err := box.Open(sealed, "mail_outbox.body")
					require.NoError(t, err)
					assert.Equal(t, body, string(opened))
					_, err = box.Open(sealed, "signing_keys.private_key")
					assert.Error(t, err, "sealed for this table only")
				}
			})

			t.Run("bodies_are_blanked_once_sent", func(t *testing.T) {
				db, _, outbox := setup(t)
				id := uuid.New()
				require.NoError(t, outbox.Enqueue(ctx, id, porttest.OutboxTestMail(), base))
				_, err := outbox.Claim(ctx, base, time.Minute, 1)
				require.NoError(t, err)
				require.NoError(t, outbox.MarkSent(ctx, id, base.Add(time.Second)))

				raw := readOutboxRow(t, db, id)
				assert.Empty(t, raw.TextBody)
				assert.Empty(t, raw.HTMLBody)
				require.NotNil(t, raw.SentAt)
				assert.True(t, raw.SentAt.Equal(base.Add(time.Second)), "got %v", raw.SentAt)
				assert.Nil(t, raw.FailedAt)
				assert.Equal(t, 1, raw.Attempts)
			})

			t.Run("bodies_are_blanked_on_giving_up_and_the_reason_is_cut", func(t *testing.T) {
				db, _, outbox := setup(t)
				id := uuid.New()
				require.NoError(t, outbox.Enqueue(ctx, id, porttest.OutboxTestMail(), base))
				_, err := outbox.Claim(ctx, base, time.Minute, 1)
				require.NoError(t, err)
				next := base.Add(time.Minute)
				require.NoError(t, outbox.MarkFailed(ctx, id, "451 later", &next))
				raw := readOutboxRow(t, db, id)
				assert.NotEmpty(t, raw.TextBody, "kept for the next attempt")
				require.NotNil(t, raw.LastError)
				assert.Equal(t, "451 later", *raw.LastError)

				reason := "550 " + strings.Repeat("ü", 1000)
				require.NoError(t, outbox.MarkFailed(ctx, id, reason, nil))
				raw = readOutboxRow(t, db, id)
				assert.Empty(t, raw.TextBody)
				assert.Empty(t, raw.HTMLBody)
				assert.NotNil(t, raw.FailedAt)
				assert.Nil(t, raw.SentAt)
				require.NotNil(t, raw.LastError)
				assert.Equal(t, 500, utf8.RuneCountInString(*raw.LastError))
				assert.True(t, utf8.ValidString(*raw.LastError))
				assert.True(t, strings.HasPrefix(reason, *raw.LastError))
			})

			t.Run("a_body_that_does_not_open_is_given_up", func(t *testing.T) {
				db, _, outbox := setup(t)
				bad, good := uuid.New(), uuid.New()
				require.NoError(t, outbox.Enqueue(ctx, good, porttest.OutboxTestMail(), base))
				other := sqlstore.NewMailOutbox(db, newOutboxTestBox(t)) // another key
				require.NoError(t, other.Enqueue(ctx, bad, porttest.OutboxTestMail(), base))

				got, err := outbox.Claim(ctx, base, time.Minute, 10)
				require.NoError(t, err)
				require.Len(t, got, 1)
				assert.Equal(t, good, got[0].ID)

				raw := readOutboxRow(t, db, bad)
				assert.NotNil(t, raw.FailedAt)
				assert.Empty(t, raw.TextBody)
				require.NotNil(t, raw.LastError)
				assert.Contains(t, *raw.LastError, "text body")
				got, err = outbox.Claim(ctx, base.Add(time.Hour), time.Minute, 10)
				require.NoError(t, err)
				assert.Equal(t, []uuid.UUID{good}, []uuid.UUID{got[0].ID})
			})

			t.Run("a_duplicate_id_is_a_conflict", func(t *testing.T) {
				_, _, outbox := setup(t)
				id := uuid.New()
				require.NoError(t, outbox.Enqueue(ctx, id, porttest.OutboxTestMail(), base))
				err := outbox.Enqueue(ctx, id, porttest.OutboxTestMail(), base)
				assert.ErrorIs(t, err, domain.ErrConflict)
			})
		})
	}
}

// outboxTestBox is AES-256-GCM with the label as associated data, like the
// crypto adapter's SecretBox, which this package may not import.
type outboxTestBox struct{ aead cipher.AEAD }

var _ ports.SecretBox = (*outboxTestBox)(nil)

func newOutboxTestBox(t *testing.T) *outboxTestBox {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	block, err := aes.NewCipher(key)
	require.NoError(t, err)
	aead, err := cipher.NewGCM(block)
	require.NoError(t, err)
	return &outboxTestBox{aead: aead}
}

func (b *outboxTestBox) Seal(plaintext []byte, label string) ([]byte, error) {
	nonce := make([]byte, b.aead.NonceSize())
	_, _ = rand.Read(nonce)
	return b.aead.Seal(nonce, nonce, plaintext, []byte(label)), nil
}

func (b *outboxTestBox) Open(sealed []byte, label string) ([]byte, error) {
	n := b.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("sealed value is malformed")
	}
	return b.aead.Open(nil, sealed[:n], sealed[n:], []byte(label))
}

package application

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// mailboxTokens keeps nothing: the links are what these tests read.
type mailboxTokens struct{}

func (mailboxTokens) Create(context.Context, domain.OneTimeToken) error { return nil }
func (mailboxTokens) Consume(context.Context, domain.TokenPurpose, []byte, time.Time) (domain.OneTimeToken, error) {
	return domain.OneTimeToken{}, domain.ErrInvalidToken
}
func (mailboxTokens) InvalidateForUser(context.Context, uuid.UUID, domain.TokenPurpose, time.Time) error {
	return nil
}

// mailboxOutbox keeps what was queued.
type mailboxOutbox struct{ mails []ports.Mail }

func (o *mailboxOutbox) Enqueue(_ context.Context, _ uuid.UUID, m ports.Mail, _ time.Time) error {
	o.mails = append(o.mails, m)
	return nil
}
func (o *mailboxOutbox) Claim(context.Context, time.Time, time.Duration, int) ([]ports.OutboxMail, error) {
	return nil, nil
}
func (o *mailboxOutbox) MarkSent(context.Context, uuid.UUID, time.Time) error { return nil }
func (o *mailboxOutbox) MarkFailed(context.Context, uuid.UUID, string, *time.Time) error {
	return nil
}

// linkComposer writes the link as the body.
type linkComposer struct{}

func (linkComposer) Compose(kind ports.MailKind, to string, d ports.MailData) (ports.Mail, error) {
	return ports.Mail{To: to, Subject: string(kind), Text: d.Link}, nil
}

type mailboxClock struct{}

func (mailboxClock) Now() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }

type mailboxIDs struct{}

func (mailboxIDs) NewID() uuid.UUID { return uuid.New() }

// mailedLinks sends a reset, a verification and an email-change link with
// a mailbox of cfg and returns them by purpose.
func mailedLinks(t *testing.T, cfg MailConfig) map[domain.TokenPurpose]string {
	t.Helper()
	out := &mailboxOutbox{}
	m := NewMailbox(mailboxTokens{}, out, linkComposer{}, mailboxClock{}, mailboxIDs{}, bytes.NewReader(make([]byte, 1024)), cfg)
	email, fe := domain.ParseEmail("ada@example.com")
	require.Nil(t, fe)
	name, fe := domain.ParseUsername("ada")
	require.Nil(t, fe)
	u := domain.NewUser(domain.NewUserParams{ID: uuid.New(), Email: email, Username: name, Now: mailboxClock{}.Now()})
	links := map[domain.TokenPurpose]string{}
	for _, p := range []domain.TokenPurpose{domain.PurposePasswordReset, domain.PurposeEmailVerify, domain.PurposeEmailChange} {
		require.NoError(t, m.sendToken(context.Background(), u, p, "ada@example.com", "ada@example.com"))
		links[p] = out.mails[len(out.mails)-1].Text
	}
	return links
}

// The token is 32 zero bytes, base64url: 43 "A"s.
const zeroToken = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

func TestMailboxLinksDefaultToThePortalPaths(t *testing.T) {
	links := mailedLinks(t, MailConfig{LinkBase: "https://portal.example.com/", ResetTTL: time.Hour, VerificationTTL: time.Hour})
	assert.Equal(t, "https://portal.example.com/reset-password?token="+zeroToken, links[domain.PurposePasswordReset])
	assert.Equal(t, "https://portal.example.com/verify-email?token="+zeroToken, links[domain.PurposeEmailVerify])
	assert.Equal(t, "https://portal.example.com/verify-email?token="+zeroToken, links[domain.PurposeEmailChange])
}

func TestMailboxLinksFollowTheConfiguredPaths(t *testing.T) {
	links := mailedLinks(t, MailConfig{LinkBase: "https://ums.example.com",
		LinkPaths: LinkPaths{Reset: "/ui/reset", Verify: "/ui/verify"}, ResetTTL: time.Hour, VerificationTTL: time.Hour})
	assert.Equal(t, "https://ums.example.com/ui/reset?token="+zeroToken, links[domain.PurposePasswordReset])
	assert.Equal(t, "https://ums.example.com/ui/verify?token="+zeroToken, links[domain.PurposeEmailVerify])
	assert.Equal(t, "https://ums.example.com/ui/verify?token="+zeroToken, links[domain.PurposeEmailChange],
		"an email change is verified on the same page")
}

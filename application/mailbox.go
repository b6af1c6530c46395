package application

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// MailConfig says where mailed links point and how long they work.
type MailConfig struct {
	// LinkBase is the public base URL the links in mails start with: the
	// web app that shows the reset and verification pages.
	LinkBase string
	// LinkPaths are those pages under LinkBase; a path left empty is
	// PortalLinkPaths'.
	LinkPaths       LinkPaths
	ResetTTL        time.Duration
	VerificationTTL time.Duration
}

// LinkPaths are the pages of the web app that take a token from a link.
type LinkPaths struct {
	// Reset takes a password reset token.
	Reset string
	// Verify takes an email verification token, of a sign-up or of an
	// email change.
	Verify string
	// Invite takes an invitation's token.
	Invite string
}

// PortalLinkPaths are the pages a web app of its own serves (one at
// MAIL_LINK_BASE_URL), which POSTs the token to the API.
var PortalLinkPaths = LinkPaths{Reset: "/reset-password", Verify: "/verify-email", Invite: "/accept-invitation"}

// Mailbox issues the single-use tokens that mails carry and queues the
// mails in the outbox, in the caller's transaction: a mail goes out only
// if the action that caused it committed.
type Mailbox struct {
	tokens   ports.OneTimeTokenRepository
	outbox   ports.MailOutbox
	composer ports.MailComposer
	clock    ports.Clock
	ids      ports.IDGenerator
	random   io.Reader
	cfg      MailConfig
}

// NewMailbox wires the mail side of the account lifecycle.
func NewMailbox(tokens ports.OneTimeTokenRepository, outbox ports.MailOutbox, composer ports.MailComposer,
	clock ports.Clock, ids ports.IDGenerator, random io.Reader, cfg MailConfig,
) *Mailbox {
	if cfg.LinkPaths.Reset == "" {
		cfg.LinkPaths.Reset = PortalLinkPaths.Reset
	}
	if cfg.LinkPaths.Verify == "" {
		cfg.LinkPaths.Verify = PortalLinkPaths.Verify
	}
	if cfg.LinkPaths.Invite == "" {
		cfg.LinkPaths.Invite = PortalLinkPaths.Invite
	}
	return &Mailbox{tokens: tokens, outbox: outbox, composer: composer, clock: clock, ids: ids, random: random, cfg: cfg}
}

// sendToken spends the user's earlier tokens of the purpose, issues a new
// one and queues the mail that carries it to `to`.
func (m *Mailbox) sendToken(ctx context.Context, u *domain.User, purpose domain.TokenPurpose, to, payload string) error {
	now := m.clock.Now()
	ttl, kind, page := m.cfg.ResetTTL, ports.MailPasswordReset, m.cfg.LinkPaths.Reset
	if purpose != domain.PurposePasswordReset {
		ttl, kind, page = m.cfg.VerificationTTL, ports.MailVerifyEmail, m.cfg.LinkPaths.Verify
	}
	raw := make([]byte, 32)
	if _, err := io.ReadFull(m.random, raw); err != nil {
		return fmt.Errorf("token randomness: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	if err := m.tokens.InvalidateForUser(ctx, u.ID(), purpose, now); err != nil {
		return err
	}
	if err := m.tokens.Create(ctx, domain.OneTimeToken{
		ID: m.ids.NewID(), UserID: u.ID(), Purpose: purpose, Hash: hashToken(token), Payload: payload,
		CreatedAt: now, ExpiresAt: now.Add(ttl),
	}); err != nil {
		return err
	}
	link := strings.TrimRight(m.cfg.LinkBase, "/") + page + "?token=" + url.QueryEscape(token)
	return m.queue(ctx, kind, to, ports.MailData{Username: u.Username().String(), Link: link, Token: token, ExpiresIn: ttl})
}

// notify queues a mail that carries no token.
func (m *Mailbox) notify(ctx context.Context, kind ports.MailKind, to string, data ports.MailData) error {
	return m.queue(ctx, kind, to, data)
}

func (m *Mailbox) queue(ctx context.Context, kind ports.MailKind, to string, data ports.MailData) error {
	mail, err := m.composer.Compose(kind, to, data)
	if err != nil {
		return fmt.Errorf("compose %s mail: %w", kind, err)
	}
	return m.outbox.Enqueue(ctx, m.ids.NewID(), mail, m.clock.Now())
}

// consume spends a mailed token of one of purposes; anything wrong with it
// is domain.ErrInvalidToken.
func (m *Mailbox) consume(ctx context.Context, token string, purposes ...domain.TokenPurpose) (domain.OneTimeToken, error) {
	if token == "" || len(token) > maxRefreshTokenLen {
		return domain.OneTimeToken{}, domain.ErrInvalidToken
	}
	for _, p := range purposes {
		t, err := m.tokens.Consume(ctx, p, hashToken(token), m.clock.Now())
		if !errors.Is(err, domain.ErrInvalidToken) {
			return t, err
		}
	}
	return domain.OneTimeToken{}, domain.ErrInvalidToken
}

// void spends every unused token of the user with that purpose: the links
// already mailed stop working.
func (m *Mailbox) void(ctx context.Context, userID uuid.UUID, purpose domain.TokenPurpose) error {
	return m.tokens.InvalidateForUser(ctx, userID, purpose, m.clock.Now())
}

// MailWorker drains the outbox: it claims due mail, sends it and records
// the outcome, retrying failures with exponential backoff.
type MailWorker struct {
	outbox ports.MailOutbox
	mailer ports.Mailer
	clock  ports.Clock
	// Permanent tells a delivery error that retrying cannot fix.
	Permanent func(error) bool
	// OnError hears every failed delivery, for the log.
	OnError func(id uuid.UUID, attempt int, err error)
}

// Outbox delivery policy.
const (
	mailBatch       = 10
	mailLease       = 5 * time.Minute
	mailSendTimeout = 30 * time.Second
	mailMaxAttempts = 8
	mailBackoffBase = 30 * time.Second
	mailBackoffMax  = time.Hour
)

// NewMailWorker wires the outbox drain.
func NewMailWorker(outbox ports.MailOutbox, mailer ports.Mailer, clock ports.Clock) *MailWorker {
	return &MailWorker{outbox: outbox, mailer: mailer, clock: clock,
		Permanent: func(error) bool { return false }, OnError: func(uuid.UUID, int, error) {}}
}

// Run drains the outbox every interval until ctx ends.
func (w *MailWorker) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		for {
			n, err := w.DrainOnce(ctx)
			if err != nil {
				w.OnError(uuid.Nil, 0, err)
			}
			if err != nil || n < mailBatch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// DrainOnce sends one batch of due mail and returns how many it claimed.
func (w *MailWorker) DrainOnce(ctx context.Context) (int, error) {
	batch, err := w.outbox.Claim(ctx, w.clock.Now(), mailLease, mailBatch)
	if err != nil {
		return 0, fmt.Errorf("claim mail: %w", err)
	}
	claimed := time.Now()
	for _, m := range batch {
		if ctx.Err() != nil || time.Since(claimed) > mailLease/2 {
			// Shutting down, or the lease is running out: the rest go
			// back to the outbox when it ends, rather than risk another
			// instance sending them too.
			return len(batch), nil
		}
		sendCtx, cancel := context.WithTimeout(ctx, mailSendTimeout)
		err := w.mailer.Send(sendCtx, m.Mail)
		cancel()
		if err != nil && ctx.Err() != nil {
			return len(batch), nil
		}
		if err != nil {
			w.OnError(m.ID, m.Attempts, err)
			var next *time.Time
			if !w.Permanent(err) && m.Attempts < mailMaxAttempts {
				at := w.clock.Now().Add(backoff(m.Attempts))
				next = &at
			}
			if err := w.outbox.MarkFailed(ctx, m.ID, err.Error(), next); err != nil {
				return len(batch), err
			}
			continue
		}
		if err := w.outbox.MarkSent(ctx, m.ID, w.clock.Now()); err != nil {
			return len(batch), err
		}
	}
	return len(batch), nil
}

func backoff(attempt int) time.Duration {
	d := mailBackoffBase << max(0, attempt-1)
	if d <= 0 || d > mailBackoffMax {
		return mailBackoffMax
	}
	return d
}

package ports

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Mail is one rendered message to one recipient.
type Mail struct {
	To      string
	Subject string
	Text    string
	HTML    string
}

// MailKind names a message UMS sends; each has a template.
type MailKind string

// The messages UMS sends.
const (
	MailVerifyEmail     MailKind = "verify_email"
	MailPasswordReset   MailKind = "password_reset"
	MailPasswordChanged MailKind = "password_changed"
	MailEmailChanging   MailKind = "email_changing"
	// MailMFAEnabled and MailMFADisabled tell the owner the second factor
	// was turned on or off, so a change they did not make is noticed.
	MailMFAEnabled  MailKind = "mfa_enabled"
	MailMFADisabled MailKind = "mfa_disabled"
	// MailInvitation invites an address into an organization.
	MailInvitation MailKind = "invitation"
)

// MailData fills a template. Link is an absolute URL built on the public
// base URL; Token is the raw one-time token the link carries.
type MailData struct {
	Username string
	Link     string
	Token    string
	// NewEmail is the address an email change goes to.
	NewEmail string
	// ExpiresIn is how long the link works.
	ExpiresIn time.Duration
	// OrgName, Role and InvitedBy describe an invitation: into which
	// organization, with which role, from whom.
	OrgName   string
	Role      string
	InvitedBy string
}

// MailComposer renders a kind of message for a recipient.
type MailComposer interface {
	Compose(kind MailKind, to string, data MailData) (Mail, error)
}

// Mailer delivers a message; errors are worth retrying unless permanent.
type Mailer interface {
	Send(ctx context.Context, m Mail) error
}

// OutboxMail is a queued message with its delivery state.
type OutboxMail struct {
	ID       uuid.UUID
	Mail     Mail
	Attempts int
}

// MailOutbox queues mail in the database, in the transaction of the action
// that causes it, so a message is sent only if that action committed, and
// a slow mail server never holds up a request.
type MailOutbox interface {
	// Enqueue stores m for delivery from at on; it joins a transaction in
	// ctx.
	Enqueue(ctx context.Context, id uuid.UUID, m Mail, at time.Time) error
	// Claim takes up to limit unsent messages due at now and hides them
	// from other claimers until now+lease, so instances sharing the outbox
	// do not send one message twice.
	Claim(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]OutboxMail, error)
	// MarkSent records delivery.
	MarkSent(ctx context.Context, id uuid.UUID, at time.Time) error
	// MarkFailed records a failed attempt and when to try again; next nil
	// gives up on the message.
	MarkFailed(ctx context.Context, id uuid.UUID, reason string, next *time.Time) error
}

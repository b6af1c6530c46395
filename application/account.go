package application

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// AccountDeps are the ports of the account lifecycle.
type AccountDeps struct {
	Users       ports.UserRepository
	History     ports.PasswordHistory
	Hasher      ports.PasswordHasher
	Tx          ports.TxManager
	Audit       ports.AuditLog
	Clock       ports.Clock
	IDs         ports.IDGenerator
	Credentials *Credentials
	Revoker     *Revoker
	Mailbox     *Mailbox
	// Passwords is the deployment's policy (history size included) and
	// expiry.
	Passwords PasswordConfig
}

// Account is what a user does to keep an account over years: change and
// reset the password, prove and change the email address.
type Account struct {
	users     ports.UserRepository
	history   ports.PasswordHistory
	hasher    ports.PasswordHasher
	tx        ports.TxManager
	audit     ports.AuditLog
	clock     ports.Clock
	ids       ports.IDGenerator
	creds     *Credentials
	revoker   *Revoker
	mailbox   *Mailbox
	passwords PasswordConfig
	forgot    *resetRequests
}

// NewAccount wires the account lifecycle.
func NewAccount(d AccountDeps) *Account {
	a := &Account{users: d.Users, history: d.History, hasher: d.Hasher, tx: d.Tx, audit: d.Audit, clock: d.Clock,
		ids: d.IDs, creds: d.Credentials, revoker: d.Revoker, mailbox: d.Mailbox, passwords: d.Passwords}
	a.forgot = newResetRequests(a.mailReset)
	return a
}

// PasswordStatus is what GET /auth/password/status reports.
type PasswordStatus struct {
	ChangedAt      time.Time
	ExpiresAt      *time.Time
	Expired        bool
	ChangeRequired bool
}

// PasswordStatus reports the caller's password age and whether a change is
// due.
func (a *Account) PasswordStatus(ctx context.Context, p domain.Principal) (PasswordStatus, error) {
	u, err := loadPrincipal(ctx, a.users, p)
	if err != nil {
		return PasswordStatus{}, err
	}
	now := a.clock.Now()
	return PasswordStatus{ChangedAt: u.PasswordChangedAt(), ExpiresAt: u.PasswordExpiresAt(),
		Expired: u.PasswordExpired(now), ChangeRequired: u.PasswordChangeRequired(now)}, nil
}

// redeem spends a mailed token of one of purposes and returns it with its
// user. A token of a user erased or deactivated meanwhile is as invalid as
// any other.
func (a *Account) redeem(ctx context.Context, token string, purposes ...domain.TokenPurpose) (domain.OneTimeToken, *domain.User, error) {
	t, err := a.mailbox.consume(ctx, token, purposes...)
	if err != nil {
		return domain.OneTimeToken{}, nil, err
	}
	u, err := a.users.ByID(ctx, t.UserID)
	if domain.KindOf(err) == domain.KindNotFound || (err == nil && !u.IsActive()) {
		return domain.OneTimeToken{}, nil, domain.ErrInvalidToken
	}
	return t, u, err
}

func (a *Account) record(ctx context.Context, userID uuid.UUID, action string, details map[string]any) error {
	ev := domain.NewAuditEvent(ctx, a.ids.NewID(), a.clock.Now(), action, domain.OutcomeSuccess)
	ev.ActorID, ev.TargetType, ev.TargetID, ev.Details = &userID, "user", userID.String(), details
	return a.audit.Record(ctx, ev)
}

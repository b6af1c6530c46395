package application

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// AccountDeps are the ports of the account lifecycle.
type AccountDeps struct {
	Auth    *Auth
	Mailbox *Mailbox
	History ports.PasswordHistory
	// Passwords is the deployment's policy (history size included) and
	// expiry.
	Passwords PasswordConfig
}

// Account is what a user does to keep an account over years: change and
// reset the password, prove and change the email address.
type Account struct {
	AccountDeps
}

// NewAccount wires the account lifecycle.
func NewAccount(d AccountDeps) *Account { return &Account{AccountDeps: d} }

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
	u, err := a.user(ctx, p.UserID)
	if err != nil {
		return PasswordStatus{}, err
	}
	now := a.Auth.Clock.Now()
	return PasswordStatus{ChangedAt: u.PasswordChangedAt, ExpiresAt: u.PasswordExpiresAt,
		Expired: u.PasswordExpired(now), ChangeRequired: u.PasswordChangeRequired(now)}, nil
}

// ChangePassword sets a new password after checking the current one (a
// wrong one counts towards the login lock), revokes every other session
// and mails a notice.
func (a *Account) ChangePassword(ctx context.Context, p domain.Principal, current, next string) error {
	u, err := a.user(ctx, p.UserID)
	if err != nil {
		return err
	}
	if err := a.Auth.confirmPassword(ctx, u, current, "current_password"); err != nil {
		return err
	}
	return a.setPassword(ctx, u, next, "new_password", p.SessionID, domain.ActionPasswordChanged)
}

// ForgotPassword mails a reset link when the address belongs to an active
// account, and does nothing otherwise: the answer is the same either way.
func (a *Account) ForgotPassword(ctx context.Context, email string) error {
	addr, fe := domain.ParseEmail(email)
	if fe != nil {
		return domain.Invalid(*fe)
	}
	u, err := a.Auth.Users.ByLogin(ctx, addr.String())
	if errors.Is(err, domain.ErrUserNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !u.IsActive {
		return nil
	}
	return a.Auth.Tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := a.Mailbox.sendToken(ctx, u, domain.PurposePasswordReset, u.Email.String(), ""); err != nil {
			return err
		}
		return a.audit(ctx, u.ID, domain.ActionPasswordResetAsked, nil)
	})
}

// ResetPassword sets a new password with a mailed token, revokes every
// session and lifts a login lock. A token that fails the new password's
// policy stays usable: its consumption rolls back with the rest.
func (a *Account) ResetPassword(ctx context.Context, token, next string) error {
	var (
		uid     uuid.UUID
		revoked []uuid.UUID
	)
	err := a.Auth.Tx.WithinTx(ctx, func(ctx context.Context) error {
		_, u, err := a.redeem(ctx, domain.PurposePasswordReset, token)
		if err != nil {
			return err
		}
		uid = u.ID
		revoked, err = a.applyPassword(ctx, u, next, "new_password", uuid.Nil, domain.ActionPasswordReset)
		return err
	})
	if err != nil {
		return err
	}
	// The mailbox proved the owner: a lock from a guesser ends here.
	if err := a.Auth.Throttle.Reset(ctx, "user:"+uid.String()); err != nil {
		return fmt.Errorf("login throttle: %w", err)
	}
	return a.Auth.announce(ctx, revoked, a.Auth.Clock.Now())
}

func (a *Account) setPassword(ctx context.Context, u *domain.User, next, field string, keep uuid.UUID, action string) error {
	var revoked []uuid.UUID
	err := a.Auth.Tx.WithinTx(ctx, func(ctx context.Context) error {
		var err error
		revoked, err = a.applyPassword(ctx, u, next, field, keep, action)
		return err
	})
	if err != nil {
		return err
	}
	return a.Auth.announce(ctx, revoked, a.Auth.Clock.Now())
}

// applyPassword checks next against the policy and history, stores it,
// revokes the user's sessions but keep, audits and mails a notice; it runs
// in the caller's transaction and returns the sessions to announce.
func (a *Account) applyPassword(ctx context.Context, u *domain.User, next, field string, keep uuid.UUID, action string) ([]uuid.UUID, error) {
	if fields := a.Passwords.Policy.Check(field, next,
		domain.PasswordSubject{Username: u.Username.String(), Email: u.Email.String()}); len(fields) > 0 {
		return nil, domain.Invalid(fields...)
	}
	if err := a.checkHistory(ctx, u, next, field); err != nil {
		return nil, err
	}
	hash, err := a.Auth.Hasher.Hash(ctx, next)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	now := a.Auth.Clock.Now()
	if a.Passwords.Policy.HistorySize > 0 {
		if err := a.History.Add(ctx, a.Auth.IDs.NewID(), u.ID, u.PasswordHash, now); err != nil {
			return nil, err
		}
	}
	u.SetPassword(hash, now, a.Passwords.MaxAge)
	// Proving the mailbox or the current password ends an account lock.
	u.LockedUntil, u.FailedLoginCount = nil, 0
	if err := a.Auth.Users.Update(ctx, u); err != nil {
		return nil, err
	}
	revoked, err := a.Auth.revokeUserSessions(ctx, u.ID, keep, domain.RevokePasswordReset, now)
	if err != nil {
		return nil, err
	}
	if err := a.audit(ctx, u.ID, action, map[string]any{"sessions_revoked": len(revoked)}); err != nil {
		return nil, err
	}
	return revoked, a.Mailbox.notify(ctx, ports.MailPasswordChanged, u.Email.String(), ports.MailData{Username: u.Username.String()})
}

// checkHistory refuses the current password and the last HistorySize
// ones. Each comparison is a full hash, so the history is kept short.
func (a *Account) checkHistory(ctx context.Context, u *domain.User, next, field string) error {
	reused := domain.Invalid(domain.FieldError{Field: field, Code: "password_reused",
		Message: "must differ from the current password and the recent ones"})
	hashes := []string{u.PasswordHash}
	if n := a.Passwords.Policy.HistorySize; n > 0 {
		old, err := a.History.Recent(ctx, u.ID, n-1)
		if err != nil {
			return err
		}
		hashes = append(hashes, old...)
	}
	for _, h := range hashes {
		match, _, err := a.Auth.Hasher.Verify(ctx, next, h)
		if err != nil {
			return err
		}
		if match {
			return reused
		}
	}
	return nil
}

// VerifyEmail applies a mailed verification token: it confirms the
// address, or, for an email change, switches to the new one.
func (a *Account) VerifyEmail(ctx context.Context, token string) error {
	return a.Auth.Tx.WithinTx(ctx, func(ctx context.Context) error {
		t, u, err := a.redeem(ctx, domain.PurposeEmailVerify, token)
		if err != nil {
			return err
		}
		addr, fe := domain.ParseEmail(t.Payload)
		if fe != nil {
			return domain.ErrInvalidToken
		}
		action, details := domain.ActionEmailVerified, map[string]any(nil)
		if addr != u.Email {
			action, details = domain.ActionEmailChanged, map[string]any{"previous_email": u.Email.String()}
			u.Email = addr
		}
		u.EmailVerified, u.UpdatedAt = true, a.Auth.Clock.Now()
		if err := a.Auth.Users.Update(ctx, u); err != nil {
			return err
		}
		return a.audit(ctx, u.ID, action, details)
	})
}

// ResendVerification mails a new verification link for an unverified
// address; for a verified one it does nothing.
func (a *Account) ResendVerification(ctx context.Context, p domain.Principal) error {
	u, err := a.user(ctx, p.UserID)
	if err != nil || u.EmailVerified {
		return err
	}
	return a.Auth.Tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := a.Mailbox.sendToken(ctx, u, domain.PurposeEmailVerify, u.Email.String(), u.Email.String()); err != nil {
			return err
		}
		return a.audit(ctx, u.ID, domain.ActionEmailVerificationSent, nil)
	})
}

// ChangeEmail starts moving the account to a new address: the new address
// gets a verification link, the old one a notice, and nothing changes
// until the link is used.
func (a *Account) ChangeEmail(ctx context.Context, p domain.Principal, newEmail, password string) error {
	addr, fe := domain.ParseEmail(newEmail)
	if fe != nil {
		fe.Field = "new_email"
		return domain.Invalid(*fe)
	}
	u, err := a.user(ctx, p.UserID)
	if err != nil {
		return err
	}
	if err := a.Auth.confirmPassword(ctx, u, password, "password"); err != nil {
		return err
	}
	if addr == u.Email {
		return domain.Invalid(domain.FieldError{Field: "new_email", Code: "unchanged", Message: "is the current address"})
	}
	if other, err := a.Auth.Users.ByLogin(ctx, addr.String()); err == nil && other.ID != u.ID {
		return domain.ErrEmailTaken
	} else if err != nil && !errors.Is(err, domain.ErrUserNotFound) {
		return err
	}
	return a.Auth.Tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := a.Mailbox.sendToken(ctx, u, domain.PurposeEmailVerify, addr.String(), addr.String()); err != nil {
			return err
		}
		if err := a.Mailbox.notify(ctx, ports.MailEmailChanging, u.Email.String(),
			ports.MailData{Username: u.Username.String(), NewEmail: addr.String()}); err != nil {
			return err
		}
		return a.audit(ctx, u.ID, domain.ActionEmailChangeRequested, map[string]any{"new_email": addr.String()})
	})
}

// redeem spends a mailed token and returns it with its user; a token of a
// user erased meanwhile is as invalid as any other.
func (a *Account) redeem(ctx context.Context, purpose domain.TokenPurpose, token string) (domain.OneTimeToken, *domain.User, error) {
	t, err := a.Mailbox.consume(ctx, purpose, token)
	if err != nil {
		return domain.OneTimeToken{}, nil, err
	}
	u, err := a.user(ctx, t.UserID)
	return t, u, err
}

func (a *Account) user(ctx context.Context, id uuid.UUID) (*domain.User, error) {
	u, err := a.Auth.Users.ByID(ctx, id)
	if errors.Is(err, domain.ErrUserNotFound) {
		return nil, domain.ErrInvalidToken
	}
	return u, err
}

func (a *Account) audit(ctx context.Context, userID uuid.UUID, action string, details map[string]any) error {
	ev := domain.NewAuditEvent(ctx, a.Auth.IDs.NewID(), a.Auth.Clock.Now(), action, domain.OutcomeSuccess)
	ev.ActorID, ev.TargetType, ev.TargetID, ev.Details = &userID, "user", userID.String(), details
	return a.Auth.Audit.Record(ctx, ev)
}

// normalizedCode strips the spaces and dashes people type into codes.
func normalizedCode(s string) string {
	return strings.NewReplacer(" ", "", "-", "").Replace(strings.TrimSpace(s))
}

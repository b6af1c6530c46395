package application

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// ChangePassword sets a new password after checking the current one (a
// wrong one counts towards the login lock), revokes every other session
// and mails a notice. The new password is stored only while the verified
// one is still the account's: if the owner reset it meanwhile, whoever
// proved the old one changes nothing.
func (a *Account) ChangePassword(ctx context.Context, p domain.Principal, current, next string) error {
	u, err := loadPrincipal(ctx, a.users, p)
	if err != nil {
		return err
	}
	if err := a.creds.Confirm(ctx, u, current, "current_password", nil); err != nil {
		return err
	}
	var revoked []uuid.UUID
	err = a.tx.WithinTx(ctx, func(ctx context.Context) error {
		var err error
		revoked, err = a.applyPassword(ctx, u, next, "new_password", p.SessionID, domain.ActionPasswordChanged)
		return err
	})
	if errors.Is(err, domain.ErrConcurrentChange) {
		return domain.WrongPassword("current_password")
	}
	if err != nil {
		return err
	}
	return a.revoker.Announce(ctx, revoked, a.clock.Now())
}

// ResetPassword sets a new password with a mailed token, revokes every
// session and lifts every login lock of the account. A token that fails
// the new password's policy stays usable: its consumption rolls back with
// the rest.
func (a *Account) ResetPassword(ctx context.Context, token, next string) error {
	var (
		user    *domain.User
		revoked []uuid.UUID
	)
	err := a.tx.WithinTx(ctx, func(ctx context.Context) error {
		_, u, err := a.redeem(ctx, token, domain.PurposePasswordReset)
		if err != nil {
			return err
		}
		user = u
		revoked, err = a.applyPassword(ctx, u, next, "new_password", uuid.Nil, domain.ActionPasswordReset)
		return err
	})
	if err != nil {
		return err
	}
	// The mailbox proved the owner: a lock from a guesser ends here.
	if err := a.creds.ForgetFailures(ctx, user); err != nil {
		return err
	}
	return a.revoker.Announce(ctx, revoked, a.clock.Now())
}

// applyPassword checks next against the policy and history, stores it,
// voids outstanding reset links, revokes the user's sessions but keep,
// audits and mails a notice; it runs in the caller's transaction and
// returns the sessions to announce.
func (a *Account) applyPassword(ctx context.Context, u *domain.User, next, field string, keep uuid.UUID, action string) ([]uuid.UUID, error) {
	if fields := a.passwords.Policy.Check(field, next,
		domain.PasswordSubject{Username: u.Username().String(), Email: u.Email().String()}); len(fields) > 0 {
		return nil, domain.Invalid(fields...)
	}
	if err := a.checkHistory(ctx, u, next, field); err != nil {
		return nil, err
	}
	hash, err := a.hasher.Hash(ctx, next)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	now := a.clock.Now()
	if a.passwords.Policy.HistorySize > 0 {
		if err := a.history.Add(ctx, a.ids.NewID(), u.ID(), u.PasswordHash(), now); err != nil {
			return nil, err
		}
	}
	if err := a.users.SetPassword(ctx, u.ID(), u.SetPassword(hash, now, a.passwords.MaxAge)); err != nil {
		return nil, err
	}
	// A reset link mailed before this change must not undo it.
	if err := a.mailbox.void(ctx, u.ID(), domain.PurposePasswordReset); err != nil {
		return nil, err
	}
	revoked, err := a.revoker.EndUserSessions(ctx, u.ID(), keep, domain.RevokePasswordReset, now)
	if err != nil {
		return nil, err
	}
	if err := a.record(ctx, u.ID(), action, map[string]any{"sessions_revoked": len(revoked)}); err != nil {
		return nil, err
	}
	return revoked, a.mailbox.notify(ctx, ports.MailPasswordChanged, u.Email().String(), ports.MailData{Username: u.Username().String()})
}

// checkHistory refuses the current password and the last HistorySize
// ones. Each comparison is a full hash, so the history is kept short.
func (a *Account) checkHistory(ctx context.Context, u *domain.User, next, field string) error {
	reused := domain.Invalid(domain.FieldError{Field: field, Code: "password_reused",
		Message: "must differ from the current password and the recent ones"})
	hashes := []string{u.PasswordHash()}
	if n := a.passwords.Policy.HistorySize; n > 0 {
		old, err := a.history.Recent(ctx, u.ID(), n-1)
		if err != nil {
			return err
		}
		hashes = append(hashes, old...)
	}
	for _, h := range hashes {
		match, _, err := a.hasher.Verify(ctx, next, h)
		if err != nil {
			return err
		}
		if match {
			return reused
		}
	}
	return nil
}

// ForgotPassword queues a reset link for the address and returns at once,
// whether or not it belongs to an account: the lookup and the mail happen
// in the background, so neither the answer nor its time tells anything.
// A full queue is domain.Unavailable, for known and unknown addresses
// alike.
func (a *Account) ForgotPassword(ctx context.Context, email string) error {
	addr, fe := domain.ParseEmail(email)
	if fe != nil {
		return domain.Invalid(*fe)
	}
	return a.forgot.enqueue(ctx, addr)
}

// RunResetRequests sends the queued reset links until ctx ends; onError
// hears what failed (for the log).
func (a *Account) RunResetRequests(ctx context.Context, onError func(error)) {
	a.forgot.run(ctx, onError)
}

// mailReset mails a reset link when addr belongs to an active account and
// does nothing otherwise.
func (a *Account) mailReset(ctx context.Context, addr domain.Email) error {
	u, err := a.users.ByLogin(ctx, addr.String())
	if errors.Is(err, domain.ErrUserNotFound) {
		return nil
	}
	if err != nil || !u.IsActive() {
		return err
	}
	return a.tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := a.mailbox.sendToken(ctx, u, domain.PurposePasswordReset, u.Email().String(), ""); err != nil {
			return err
		}
		return a.record(ctx, u.ID(), domain.ActionPasswordResetAsked, nil)
	})
}

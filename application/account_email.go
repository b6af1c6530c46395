package application

import (
	"context"
	"errors"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// VerifyEmail applies a mailed verification token: it confirms the
// address, or, for an email change, moves the account to the new one and
// voids the reset links mailed to the old one. It returns the account as
// it now is.
func (a *Account) VerifyEmail(ctx context.Context, token string) (*domain.User, error) {
	var out *domain.User
	err := a.tx.WithinTx(ctx, func(ctx context.Context) error {
		t, u, err := a.redeem(ctx, token, domain.PurposeEmailVerify, domain.PurposeEmailChange)
		if err != nil {
			return err
		}
		addr, fe := domain.ParseEmail(t.Payload)
		if fe != nil {
			return domain.ErrInvalidToken
		}
		ch, moved := u.ConfirmEmail(addr, a.clock.Now())
		out = u
		if err := a.users.SetEmail(ctx, u.ID(), ch); err != nil {
			return err
		}
		action, details := domain.ActionEmailVerified, map[string]any(nil)
		if moved {
			action, details = domain.ActionEmailChanged, map[string]any{"previous_email": ch.Previous.String()}
			// A link mailed to the old address must not reset the
			// password of an account that left it.
			if err := a.mailbox.void(ctx, u.ID(), domain.PurposePasswordReset); err != nil {
				return err
			}
		}
		return a.record(ctx, u.ID(), action, details)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ResendVerification mails a new verification link for an unverified
// address; for a verified one it does nothing. A pending email change
// keeps its own link.
func (a *Account) ResendVerification(ctx context.Context, p domain.Principal) error {
	u, err := loadPrincipal(ctx, a.users, p)
	if err != nil || u.EmailVerified() {
		return err
	}
	return a.tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := a.mailbox.sendToken(ctx, u, domain.PurposeEmailVerify, u.Email().String(), u.Email().String()); err != nil {
			return err
		}
		return a.record(ctx, u.ID(), domain.ActionEmailVerificationSent, nil)
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
	if addr.Reserved() {
		return domain.Invalid(domain.ErrReservedEmail("new_email"))
	}
	u, err := loadPrincipal(ctx, a.users, p)
	if err != nil {
		return err
	}
	if err := a.creds.Confirm(ctx, u, password, "password", nil); err != nil {
		return err
	}
	if addr == u.Email() {
		return domain.Invalid(domain.FieldError{Field: "new_email", Code: "unchanged", Message: "is the current address"})
	}
	if other, err := a.users.ByLogin(ctx, addr.String()); err == nil && other.ID() != u.ID() {
		return domain.ErrEmailTaken
	} else if err != nil && !errors.Is(err, domain.ErrUserNotFound) {
		return err
	}
	return a.tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := a.mailbox.sendToken(ctx, u, domain.PurposeEmailChange, addr.String(), addr.String()); err != nil {
			return err
		}
		if err := a.mailbox.notify(ctx, ports.MailEmailChanging, u.Email().String(),
			ports.MailData{Username: u.Username().String(), NewEmail: addr.String()}); err != nil {
			return err
		}
		return a.record(ctx, u.ID(), domain.ActionEmailChangeRequested, map[string]any{"new_email": addr.String()})
	})
}

package application

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"io"
	"strings"

	"github.com/ums-project/ums/domain"
)

// mfaSealLabel binds sealed TOTP secrets to their column.
const mfaSealLabel = "users.mfa_secret"

// recoveryCodeCount is how many single-use recovery codes a user gets.
const recoveryCodeCount = 10

// TOTPSetup is what an authenticator app needs.
type TOTPSetup struct {
	Secret     string
	OTPAuthURI string
}

// SetupTOTP makes a new TOTP secret for the caller, kept sealed and
// pending until ActivateTOTP proves the app has it.
func (a *Auth) SetupTOTP(ctx context.Context, p domain.Principal) (TOTPSetup, error) {
	u, err := a.principalUser(ctx, p)
	if err != nil {
		return TOTPSetup{}, err
	}
	if u.MFAEnabled {
		return TOTPSetup{}, domain.ErrMFAAlreadyEnabled
	}
	secret, uri, err := a.TOTP.Generate(a.cfg.MFAIssuer, u.Email.String())
	if err != nil {
		return TOTPSetup{}, fmt.Errorf("generate totp secret: %w", err)
	}
	sealed, err := a.Box.Seal([]byte(secret), mfaSealLabel)
	if err != nil {
		return TOTPSetup{}, fmt.Errorf("seal totp secret: %w", err)
	}
	u.MFASecretSealed, u.UpdatedAt = sealed, a.Clock.Now()
	err = a.Tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := a.Users.Update(ctx, u); err != nil {
			return err
		}
		return a.auditUser(ctx, u, domain.ActionMFASetup, nil)
	})
	if err != nil {
		return TOTPSetup{}, err
	}
	return TOTPSetup{Secret: secret, OTPAuthURI: uri}, nil
}

// ActivateTOTP turns multi-factor login on once code proves the app holds
// the pending secret, and returns the recovery codes, shown only now.
func (a *Auth) ActivateTOTP(ctx context.Context, p domain.Principal, code string) ([]string, error) {
	u, err := a.principalUser(ctx, p)
	if err != nil {
		return nil, err
	}
	if u.MFAEnabled {
		return nil, domain.ErrMFAAlreadyEnabled
	}
	if len(u.MFASecretSealed) == 0 {
		return nil, domain.ErrMFANotSetUp
	}
	if err := a.checkTOTP(ctx, u, code); err != nil {
		return nil, err
	}
	codes, hashes, err := a.newRecoveryCodes()
	if err != nil {
		return nil, err
	}
	now := a.Clock.Now()
	u.MFAEnabled, u.UpdatedAt = true, now
	err = a.Tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := a.Users.Update(ctx, u); err != nil {
			return err
		}
		if err := a.Recovery.Replace(ctx, u.ID, hashes, now); err != nil {
			return err
		}
		return a.auditUser(ctx, u, domain.ActionMFAEnabled, nil)
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// DisableTOTP turns multi-factor login off; it needs the password and a
// current code (or a recovery code), so a stolen session alone cannot.
func (a *Auth) DisableTOTP(ctx context.Context, p domain.Principal, password, code string) error {
	u, err := a.principalUser(ctx, p)
	if err != nil {
		return err
	}
	if !u.MFAEnabled {
		return domain.ErrMFANotEnabled
	}
	if err := a.confirmPassword(ctx, u, password, "password"); err != nil {
		return err
	}
	if err := a.checkSecondFactor(ctx, u, code); err != nil {
		if _, ferr := a.Throttle.Fail(ctx, throttleKey(u, ""), a.Clock.Now()); ferr != nil {
			return fmt.Errorf("login throttle: %w", ferr)
		}
		return err
	}
	now := a.Clock.Now()
	u.MFAEnabled, u.MFASecretSealed, u.UpdatedAt = false, nil, now
	return a.Tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := a.Users.Update(ctx, u); err != nil {
			return err
		}
		if err := a.Recovery.Replace(ctx, u.ID, nil, now); err != nil {
			return err
		}
		return a.auditUser(ctx, u, domain.ActionMFADisabled, nil)
	})
}

// checkSecondFactor accepts a TOTP code of a step not used before, or an
// unused recovery code (spent by this call).
func (a *Auth) checkSecondFactor(ctx context.Context, u *domain.User, code string) error {
	code = normalizedCode(code)
	if len(code) == 6 {
		return a.checkTOTP(ctx, u, code)
	}
	if len(code) != recoveryCodeLen {
		return domain.ErrInvalidMFACode
	}
	ok, err := a.Recovery.Use(ctx, u.ID, hashRecoveryCode(code), a.Clock.Now())
	if err != nil {
		return err
	}
	if !ok {
		return domain.ErrInvalidMFACode
	}
	left, err := a.Recovery.Remaining(ctx, u.ID)
	if err != nil {
		return err
	}
	return a.auditUser(ctx, u, domain.ActionRecoveryCodeUsed, map[string]any{"remaining": left})
}

func (a *Auth) checkTOTP(ctx context.Context, u *domain.User, code string) error {
	secret, err := a.Box.Open(u.MFASecretSealed, mfaSealLabel)
	if err != nil {
		return fmt.Errorf("open totp secret of user %s: %w", u.ID, err)
	}
	step, ok := a.TOTP.Validate(string(secret), normalizedCode(code), a.Clock.Now())
	if !ok {
		return domain.ErrInvalidMFACode
	}
	// A code is good once: its step must be newer than the last one used.
	fresh, err := a.MFASteps.AdvanceMFAStep(ctx, u.ID, step)
	if err != nil {
		return err
	}
	if !fresh {
		return domain.ErrInvalidMFACode
	}
	return nil
}

// recoveryCodeLen is the length of a recovery code without its dash: 10
// base32 characters, 50 bits.
const recoveryCodeLen = 10

var recoveryEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

func (a *Auth) newRecoveryCodes() (codes []string, hashes [][]byte, err error) {
	for i := 0; i < recoveryCodeCount; i++ {
		b := make([]byte, 7)
		if _, err := io.ReadFull(a.Random, b); err != nil {
			return nil, nil, fmt.Errorf("recovery code randomness: %w", err)
		}
		c := strings.ToLower(recoveryEncoding.EncodeToString(b)[:recoveryCodeLen])
		codes = append(codes, c[:5]+"-"+c[5:])
		hashes = append(hashes, hashRecoveryCode(c))
	}
	return codes, hashes, nil
}

// hashRecoveryCode hashes a normalised code. SHA-256 suffices: the codes
// are random, not chosen by people.
func hashRecoveryCode(code string) []byte {
	sum := sha256.Sum256([]byte(strings.ToLower(normalizedCode(code))))
	return sum[:]
}

func (a *Auth) principalUser(ctx context.Context, p domain.Principal) (*domain.User, error) {
	u, err := a.Users.ByID(ctx, p.UserID)
	if err != nil {
		if domain.KindOf(err) == domain.KindNotFound {
			return nil, domain.ErrInvalidToken
		}
		return nil, err
	}
	return u, nil
}

func (a *Auth) auditUser(ctx context.Context, u *domain.User, action string, details map[string]any) error {
	ev := domain.NewAuditEvent(ctx, a.IDs.NewID(), a.Clock.Now(), action, domain.OutcomeSuccess)
	ev.ActorID, ev.TargetType, ev.TargetID, ev.Details = &u.ID, "user", u.ID.String(), details
	return a.Audit.Record(ctx, ev)
}

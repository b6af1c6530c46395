package application

import (
	"context"
	"fmt"
	"io"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// mfaSealLabel binds sealed TOTP secrets to their column.
const mfaSealLabel = "users.mfa_secret"

// MFADeps are the ports of the second factor.
type MFADeps struct {
	Users       ports.UserRepository
	Steps       ports.MFASteps
	Recovery    ports.RecoveryCodes
	TOTP        ports.TOTP
	Box         ports.SecretBox
	Tx          ports.TxManager
	Audit       ports.AuditLog
	Clock       ports.Clock
	IDs         ports.IDGenerator
	Random      io.Reader
	Credentials *Credentials
	Mailbox     *Mailbox
	Revoker     *Revoker
	Policy      *Policy
	// Issuer names the service in authenticator apps.
	Issuer string
}

// MFA is the TOTP second factor: enrolment, its check at sign-in, turning
// it off, and an administrator's reset for a lost device.
type MFA struct {
	users    ports.UserRepository
	steps    ports.MFASteps
	recovery ports.RecoveryCodes
	totp     ports.TOTP
	box      ports.SecretBox
	tx       ports.TxManager
	audit    ports.AuditLog
	clock    ports.Clock
	ids      ports.IDGenerator
	random   io.Reader
	creds    *Credentials
	mailbox  *Mailbox
	revoker  *Revoker
	policy   *Policy
	issuer   string
}

// NewMFA wires the second factor.
func NewMFA(d MFADeps) *MFA {
	return &MFA{users: d.Users, steps: d.Steps, recovery: d.Recovery, totp: d.TOTP, box: d.Box, tx: d.Tx,
		audit: d.Audit, clock: d.Clock, ids: d.IDs, random: d.Random, creds: d.Credentials, mailbox: d.Mailbox,
		revoker: d.Revoker, policy: d.Policy, issuer: d.Issuer}
}

// TOTPSetup is what an authenticator app needs.
type TOTPSetup struct {
	Secret     string
	OTPAuthURI string
}

// Setup makes a new TOTP secret for the caller, kept sealed and pending
// until Activate proves the app has it. It needs the password: a leaked
// access token alone must not be able to put a second factor the owner
// does not hold on the account.
func (m *MFA) Setup(ctx context.Context, p domain.Principal, password string) (TOTPSetup, error) {
	u, err := loadPrincipal(ctx, m.users, p)
	if err != nil {
		return TOTPSetup{}, err
	}
	if u.MFAEnabled() {
		return TOTPSetup{}, domain.ErrMFAAlreadyEnabled
	}
	if err := m.creds.Confirm(ctx, u, password, "password", nil); err != nil {
		return TOTPSetup{}, err
	}
	secret, uri, err := m.totp.Generate(m.issuer, u.Email().String())
	if err != nil {
		return TOTPSetup{}, fmt.Errorf("generate totp secret: %w", err)
	}
	sealed, err := m.box.Seal([]byte(secret), mfaSealLabel)
	if err != nil {
		return TOTPSetup{}, fmt.Errorf("seal totp secret: %w", err)
	}
	now := m.clock.Now()
	if err := u.StartMFASetup(sealed, now); err != nil {
		return TOTPSetup{}, err
	}
	err = m.tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := m.users.SetPendingMFASecret(ctx, u.ID(), sealed, now); err != nil {
			return err
		}
		return m.record(ctx, u.ID(), u.ID(), domain.ActionMFASetup, nil)
	})
	if err != nil {
		return TOTPSetup{}, err
	}
	return TOTPSetup{Secret: secret, OTPAuthURI: uri}, nil
}

// Activate turns multi-factor login on once code proves the app holds the
// pending secret, mails the owner a notice, and returns the recovery
// codes, shown only now.
func (m *MFA) Activate(ctx context.Context, p domain.Principal, code string) ([]string, error) {
	u, err := loadPrincipal(ctx, m.users, p)
	if err != nil {
		return nil, err
	}
	now := m.clock.Now()
	act, err := u.EnableMFA(now)
	if err != nil {
		return nil, err
	}
	if err := m.checkTOTP(ctx, u, code); err != nil {
		return nil, err
	}
	codes, hashes, err := newRecoveryCodes(m.random)
	if err != nil {
		return nil, err
	}
	err = m.tx.WithinTx(ctx, func(ctx context.Context) error {
		// Guarded by the secret the code was checked against: a setup
		// that replaced it meanwhile turns nothing on.
		if err := m.users.EnableMFA(ctx, u.ID(), act); err != nil {
			return err
		}
		if err := m.recovery.Replace(ctx, u.ID(), hashes, now); err != nil {
			return err
		}
		if err := m.mailbox.notify(ctx, ports.MailMFAEnabled, u.Email().String(), ports.MailData{Username: u.Username().String()}); err != nil {
			return err
		}
		return m.record(ctx, u.ID(), u.ID(), domain.ActionMFAEnabled, nil)
	})
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// Disable turns multi-factor login off; it needs the password and a
// current code (or a recovery code), checked under one reservation of the
// login throttle so wrong codes lock exactly as at sign-in.
func (m *MFA) Disable(ctx context.Context, p domain.Principal, password, code string) error {
	u, err := loadPrincipal(ctx, m.users, p)
	if err != nil {
		return err
	}
	if !u.MFAEnabled() {
		return domain.ErrMFANotEnabled
	}
	if err := m.creds.Confirm(ctx, u, password, "password", func(ctx context.Context) error {
		return m.CheckSecondFactor(ctx, u, code)
	}); err != nil {
		return err
	}
	return m.turnOff(ctx, u, u.ID(), domain.ActionMFADisabled, uuid.Nil)
}

// Reset turns a user's second factor off for a system administrator (the
// owner lost the device): every session of the user ends, and the owner
// is told by mail.
func (m *MFA) Reset(ctx context.Context, p domain.Principal, userID uuid.UUID) error {
	c, err := m.policy.RequireSystemAdmin(ctx, p)
	if err != nil {
		return err
	}
	u, err := m.users.ByID(ctx, userID)
	if err != nil {
		return err
	}
	return m.turnOff(ctx, u, c.ID(), domain.ActionMFAReset, userID)
}

// turnOff disables u's second factor as actor; with endSessionsOf set
// (an administrator's reset) that user's sessions end too.
func (m *MFA) turnOff(ctx context.Context, u *domain.User, actor uuid.UUID, action string, endSessionsOf uuid.UUID) error {
	now := m.clock.Now()
	if err := u.DisableMFA(now); err != nil {
		return err
	}
	var revoked []uuid.UUID
	err := m.tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := m.users.DisableMFA(ctx, u.ID(), now); err != nil {
			return err
		}
		if err := m.recovery.Replace(ctx, u.ID(), nil, now); err != nil {
			return err
		}
		details := map[string]any(nil)
		if endSessionsOf != uuid.Nil {
			var err error
			if revoked, err = m.revoker.EndUserSessions(ctx, endSessionsOf, uuid.Nil, domain.RevokeByAdmin, now); err != nil {
				return err
			}
			details = map[string]any{"sessions_revoked": len(revoked)}
		}
		if err := m.mailbox.notify(ctx, ports.MailMFADisabled, u.Email().String(), ports.MailData{Username: u.Username().String()}); err != nil {
			return err
		}
		return m.record(ctx, actor, u.ID(), action, details)
	})
	if err != nil {
		return err
	}
	return m.revoker.Announce(ctx, revoked, now)
}

func (m *MFA) record(ctx context.Context, actor, target uuid.UUID, action string, details map[string]any) error {
	ev := domain.NewAuditEvent(ctx, m.ids.NewID(), m.clock.Now(), action, domain.OutcomeSuccess)
	ev.ActorID, ev.TargetType, ev.TargetID, ev.Details = &actor, "user", target.String(), details
	return m.audit.Record(ctx, ev)
}

package domain

import "time"

// StartMFASetup keeps a new sealed TOTP secret pending until a code proves
// the authenticator app holds it. It is refused while MFA is on: replacing
// the secret in use would lock the owner out.
func (u *User) StartMFASetup(sealed []byte, now time.Time) error {
	if u.mfa.Enabled {
		return ErrMFAAlreadyEnabled
	}
	u.mfa.SecretSealed, u.updatedAt = append([]byte(nil), sealed...), now
	return nil
}

// MFAActivation turns the pending secret on; the write happens only while
// Secret is still the pending one and MFA still off.
type MFAActivation struct {
	Secret []byte
	At     time.Time
}

// EnableMFA turns sign-in with a second factor on, with the pending
// secret.
func (u *User) EnableMFA(now time.Time) (MFAActivation, error) {
	if u.mfa.Enabled {
		return MFAActivation{}, ErrMFAAlreadyEnabled
	}
	if len(u.mfa.SecretSealed) == 0 {
		return MFAActivation{}, ErrMFANotSetUp
	}
	u.mfa.Enabled, u.updatedAt = true, now
	return MFAActivation{Secret: append([]byte(nil), u.mfa.SecretSealed...), At: now}, nil
}

// DisableMFA turns the second factor off and forgets its secret.
func (u *User) DisableMFA(now time.Time) error {
	if !u.mfa.Enabled {
		return ErrMFANotEnabled
	}
	u.mfa = MFA{LastUsedStep: u.mfa.LastUsedStep}
	u.updatedAt = now
	return nil
}

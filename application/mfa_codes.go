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

// recoveryCodeCount is how many single-use recovery codes a user gets.
const recoveryCodeCount = 10

// recoveryCodeLen is the length of a recovery code without its dash: 10
// base32 characters, 50 bits.
const recoveryCodeLen = 10

var recoveryEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// CheckSecondFactor accepts a TOTP code of a step not used before, or an
// unused recovery code (spent by this call); anything else is
// domain.ErrInvalidMFACode.
func (m *MFA) CheckSecondFactor(ctx context.Context, u *domain.User, code string) error {
	code = normalizedCode(code)
	if len(code) == 6 {
		return m.checkTOTP(ctx, u, code)
	}
	if len(code) != recoveryCodeLen {
		return domain.ErrInvalidMFACode
	}
	ok, err := m.recovery.Use(ctx, u.ID(), hashRecoveryCode(code), m.clock.Now())
	if err != nil {
		return err
	}
	if !ok {
		return domain.ErrInvalidMFACode
	}
	left, err := m.recovery.Remaining(ctx, u.ID())
	if err != nil {
		return err
	}
	return m.record(ctx, u.ID(), u.ID(), domain.ActionRecoveryCodeUsed, map[string]any{"remaining": left})
}

func (m *MFA) checkTOTP(ctx context.Context, u *domain.User, code string) error {
	secret, err := m.box.Open(u.MFASecretSealed(), mfaSealLabel)
	if err != nil {
		return fmt.Errorf("open totp secret of user %s: %w", u.ID(), err)
	}
	step, ok := m.totp.Validate(string(secret), normalizedCode(code), m.clock.Now())
	if !ok {
		return domain.ErrInvalidMFACode
	}
	// A code is good once: its step must be newer than the last one used.
	fresh, err := m.steps.AdvanceMFAStep(ctx, u.ID(), step)
	if err != nil {
		return err
	}
	if !fresh {
		return domain.ErrInvalidMFACode
	}
	return nil
}

func newRecoveryCodes(random io.Reader) (codes []string, hashes [][]byte, err error) {
	for range recoveryCodeCount {
		b := make([]byte, 7)
		if _, err := io.ReadFull(random, b); err != nil {
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

// normalizedCode strips the spaces and dashes people type into codes.
func normalizedCode(s string) string {
	return strings.NewReplacer(" ", "", "-", "").Replace(strings.TrimSpace(s))
}

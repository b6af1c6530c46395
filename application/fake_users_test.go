package application_test

import (
	"bytes"
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
)

// The intent writes of fakeUsers keep the guards of the real stores (see
// ports/porttest), so use cases meet the same answers in unit tests.

// edit applies change to the stored user id under the lock; change
// returns the guard's verdict.
func (f fakeUsers) edit(id uuid.UUID, change func(s *domain.UserState) error) error {
	f.db.mu.Lock()
	defer f.db.mu.Unlock()
	u, ok := f.db.users[id]
	if !ok {
		return domain.ErrUserNotFound
	}
	s := u.State()
	if err := change(&s); err != nil {
		return err
	}
	f.db.users[id] = *domain.RehydrateUser(s)
	return nil
}

func (f fakeUsers) RecordLogin(_ context.Context, id uuid.UUID, rec domain.LoginRecord, g domain.LoginGuard) error {
	return f.edit(id, func(s *domain.UserState) error {
		if !s.IsActive || s.Password.Hash != g.PasswordHash || s.MFA.Enabled != g.MFAEnabled {
			return domain.ErrConcurrentChange
		}
		at := rec.At
		s.LastLogin = domain.LastLogin{At: &at, IP: rec.IP, UserAgent: rec.UserAgent}
		if rec.Rehash != "" {
			s.Password.Hash = rec.Rehash
		}
		return nil
	})
}

func (f fakeUsers) SetPassword(_ context.Context, id uuid.UUID, ch domain.PasswordChange) error {
	return f.edit(id, func(s *domain.UserState) error {
		if s.Password.Hash != ch.Previous {
			return domain.ErrConcurrentChange
		}
		s.Password = domain.Password{Hash: ch.Hash, ChangedAt: ch.ChangedAt, ExpiresAt: ch.ExpiresAt}
		s.Lock, s.UpdatedAt = domain.AccountLock{}, ch.ChangedAt
		return nil
	})
}

func (f fakeUsers) RequirePasswordChange(_ context.Context, id uuid.UUID, at time.Time) error {
	return f.edit(id, func(s *domain.UserState) error {
		s.Password.MustChange, s.UpdatedAt = true, at
		return nil
	})
}

func (f fakeUsers) SetProfile(_ context.Context, id uuid.UUID, ch domain.ProfileChange) error {
	return f.edit(id, func(s *domain.UserState) error {
		if ch.FirstName != nil {
			s.FirstName = *ch.FirstName
		}
		if ch.LastName != nil {
			s.LastName = *ch.LastName
		}
		s.UpdatedAt = ch.At
		return nil
	})
}

func (f fakeUsers) SetAccess(_ context.Context, id uuid.UUID, ch domain.AccessChange) error {
	return f.edit(id, func(s *domain.UserState) error {
		if ch.Active != nil {
			s.IsActive = *ch.Active
		}
		if ch.SystemAdmin != nil {
			s.IsSystemAdmin = *ch.SystemAdmin
		}
		if ch.EmailVerified != nil {
			s.EmailVerified = *ch.EmailVerified
		}
		s.UpdatedAt = ch.At
		return nil
	})
}

func (f fakeUsers) SetEmail(_ context.Context, id uuid.UUID, ch domain.EmailChange) error {
	return f.edit(id, func(s *domain.UserState) error {
		if s.Email != ch.Previous {
			return domain.ErrConcurrentChange
		}
		s.Email, s.EmailVerified, s.UpdatedAt = ch.Email, true, ch.At
		return nil
	})
}

func (f fakeUsers) SetPendingMFASecret(_ context.Context, id uuid.UUID, sealed []byte, at time.Time) error {
	return f.edit(id, func(s *domain.UserState) error {
		if s.MFA.Enabled {
			return domain.ErrMFAAlreadyEnabled
		}
		s.MFA.SecretSealed, s.UpdatedAt = append([]byte(nil), sealed...), at
		return nil
	})
}

func (f fakeUsers) EnableMFA(_ context.Context, id uuid.UUID, a domain.MFAActivation) error {
	return f.edit(id, func(s *domain.UserState) error {
		if s.MFA.Enabled || !bytes.Equal(s.MFA.SecretSealed, a.Secret) {
			return domain.ErrConcurrentChange
		}
		s.MFA.Enabled, s.UpdatedAt = true, a.At
		return nil
	})
}

func (f fakeUsers) DisableMFA(_ context.Context, id uuid.UUID, at time.Time) error {
	return f.edit(id, func(s *domain.UserState) error {
		s.MFA.Enabled, s.MFA.SecretSealed, s.UpdatedAt = false, nil, at
		return nil
	})
}

func (f fakeUsers) Unlock(_ context.Context, id uuid.UUID, at time.Time) error {
	return f.edit(id, func(s *domain.UserState) error {
		s.Lock, s.UpdatedAt = domain.AccountLock{}, at
		return nil
	})
}

func (f fakeUsers) OutdatedHash(_ context.Context, prefix string) (string, error) {
	f.db.mu.Lock()
	defer f.db.mu.Unlock()
	for _, u := range f.db.users {
		if h := u.PasswordHash(); len(h) < len(prefix) || h[:len(prefix)] != prefix {
			return h, nil
		}
	}
	return "", nil
}

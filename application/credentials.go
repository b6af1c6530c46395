package application

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// Credentials checks passwords (and, within the same reservation, second
// factors) under the login throttles, with the same cost and answer
// whether or not an account exists.
type Credentials struct {
	users    ports.UserRepository
	hasher   ports.PasswordHasher
	throttle Throttles
	clock    ports.Clock
	random   io.Reader
	// dummy is checked for unknown logins so they cost what a wrong
	// password costs.
	dummy  string
	timing *failureTiming
}

// NewCredentials wires password checking; it hashes a random password
// once, with the configured parameters, for the unknown-login path.
func NewCredentials(ctx context.Context, users ports.UserRepository, hasher ports.PasswordHasher, throttle Throttles,
	clock ports.Clock, random io.Reader,
) (*Credentials, error) {
	pw := make([]byte, 32)
	if _, err := io.ReadFull(random, pw); err != nil {
		return nil, err
	}
	dummy, err := hasher.Hash(ctx, base64.RawURLEncoding.EncodeToString(pw))
	if err != nil {
		return nil, fmt.Errorf("prepare dummy hash: %w", err)
	}
	return &Credentials{users: users, hasher: hasher, throttle: throttle, clock: clock, random: random,
		dummy: dummy, timing: newFailureTiming()}, nil
}

// LoginAttempt is one sign-in being checked, reserved in the throttles
// until it fails, succeeds or is released.
type LoginAttempt struct {
	c    *Credentials
	res  *attempt
	user *domain.User
	// matched is whether the password matched the account's hash.
	matched bool
	// rehash is whether the matched hash should be made anew.
	rehash bool
}

// BeginLogin looks the login up and reserves a check in its counters. It
// returns the user found (nil for an unknown login) even when the login is
// locked (a domain.LoginLocked error), for the audit trail.
func (c *Credentials) BeginLogin(ctx context.Context, login string) (*domain.User, *LoginAttempt, error) {
	user, err := c.users.ByLogin(ctx, login)
	if err != nil && !errors.Is(err, domain.ErrUserNotFound) {
		return nil, nil, err
	}
	res, err := reserve(ctx, c.throttle.loginKeys(login, user), c.clock.Now())
	if err != nil {
		return user, nil, err
	}
	return user, &LoginAttempt{c: c, res: res, user: user}, nil
}

// CheckPassword reports whether password signs in to an active account. A
// failure returns only after the failure floor has passed. An error means
// the password was never judged (the hash pool was full): the reservation
// is released.
func (a *LoginAttempt) CheckPassword(ctx context.Context, password string) (bool, error) {
	hash := a.c.dummy
	// A service account has no password, only a marker no hasher reads:
	// were one ever looked up here, it is checked like an unknown login.
	if a.user != nil && !a.user.IsServiceAccount() {
		hash = a.user.PasswordHash()
	}
	started := time.Now()
	match, rehash, err := a.c.hasher.Verify(ctx, password, hash)
	if err != nil {
		if rerr := a.Release(ctx); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return false, err
	}
	a.c.timing.observe(time.Since(started), !strings.HasPrefix(hash, a.c.hasher.CurrentPrefix()))
	a.matched, a.rehash = a.user != nil && match, rehash
	ok := a.matched && a.user.IsActive()
	if !ok {
		a.c.timing.pad(ctx, started)
	}
	return ok, nil
}

// FailureReason names why CheckPassword said no, for the audit trail
// (never for the client, who gets one answer for all).
func (a *LoginAttempt) FailureReason() string {
	switch {
	case a.user == nil:
		return "unknown_login"
	case !a.matched:
		return "wrong_password"
	default:
		return "inactive_user"
	}
}

// Fail counts the attempt as a failure; locked is true when it locked a
// counter.
func (a *LoginAttempt) Fail(ctx context.Context) (locked bool, err error) {
	return a.res.fail(ctx, a.c.clock.Now())
}

// Release gives the reservation back: the attempt was neither a success
// nor a failure (a second factor is still missing, say).
func (a *LoginAttempt) Release(ctx context.Context) error { return a.res.release(ctx) }

// Succeed forgets the counters' failures.
func (a *LoginAttempt) Succeed(ctx context.Context) error { return a.res.succeed(ctx) }

// Rehash returns the password hashed with the current parameters when the
// matched hash was made otherwise, or "". A busy hash pool only postpones
// the rehash to a later sign-in.
func (a *LoginAttempt) Rehash(ctx context.Context, password string) string {
	if !a.rehash {
		return ""
	}
	h, err := a.c.hasher.Hash(ctx, password)
	if err != nil {
		return ""
	}
	return h
}

// Confirm checks a signed-in user's password before a sensitive change,
// and then second when given (a second factor, checked within the same
// reservation so a right password never resets the count of wrong
// codes). A wrong password is domain.WrongPassword(field); second's
// domain.ErrInvalidMFACode counts as a failure too.
func (c *Credentials) Confirm(ctx context.Context, u *domain.User, password, field string,
	second func(ctx context.Context) error,
) error {
	if password == "" || len(password) > maxPasswordLen {
		return domain.WrongPassword(field)
	}
	res, err := reserve(ctx, c.throttle.confirmKeys(u.ID()), c.clock.Now())
	if err != nil {
		return err
	}
	match, _, err := c.hasher.Verify(ctx, password, u.PasswordHash())
	if err != nil {
		if rerr := res.release(ctx); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return err
	}
	if !match {
		if _, err := res.fail(ctx, c.clock.Now()); err != nil {
			return err
		}
		return domain.WrongPassword(field)
	}
	if second != nil {
		if err := second(ctx); err != nil {
			if errors.Is(err, domain.ErrInvalidMFACode) {
				_, ferr := res.fail(ctx, c.clock.Now())
				return errors.Join(err, ferr)
			}
			return errors.Join(err, res.release(ctx))
		}
	}
	return res.succeed(ctx)
}

// ForgetFailures clears every counter of the account: its owner proved
// control of it, or an administrator lifted the lock.
func (c *Credentials) ForgetFailures(ctx context.Context, u *domain.User) error {
	return resetKeys(ctx, c.throttle.accountKeys(u))
}

// MeasureOutdatedHashes checks a random password against one stored hash
// made otherwise than the current parameters (another system's, or older
// parameters), so failed checks of unknown logins cost what such accounts
// cost while any remain. The service runs it at start and periodically.
func (c *Credentials) MeasureOutdatedHashes(ctx context.Context) error {
	hash, err := c.users.OutdatedHash(ctx, c.hasher.CurrentPrefix())
	if err != nil {
		return err
	}
	if hash == "" {
		c.timing.setOutdatedLive(false)
		return nil
	}
	pw := make([]byte, 24)
	if _, err := io.ReadFull(c.random, pw); err != nil {
		return err
	}
	started := time.Now()
	if _, _, err := c.hasher.Verify(ctx, base64.RawURLEncoding.EncodeToString(pw), hash); err != nil {
		return err
	}
	c.timing.observe(time.Since(started), true)
	return nil
}

// maxPasswordLen bounds what is hashed at all.
const maxPasswordLen = 1024

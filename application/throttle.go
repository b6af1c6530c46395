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

// Throttles are the two counters every password check goes through.
//
// Login counts failures per login text as typed (normalised): the visible
// lock after a few failures. Because unknown texts are counted the same
// way, the lock says nothing about whether an account exists, and the
// username and the email of one account are separate texts, so failures
// by one never tell that the other belongs to the same account.
//
// Account counts failures per account across its texts, with a higher
// threshold: it bounds what an attacker alternating between the username
// and the email can try. Its lock answers exactly like Login's.
type Throttles struct {
	Login   ports.LoginThrottle
	Account ports.LoginThrottle
}

// throttleKey is one counter of one throttle.
type throttleKey struct {
	throttle ports.LoginThrottle
	key      string
}

// loginKeys are the counters of a sign-in with the login text typed. An
// unknown login gets an account counter of its own text, so it costs the
// same two counter updates as a known one.
func (th Throttles) loginKeys(login string, user *domain.User) []throttleKey {
	text := normalizedLogin(login)
	account := "account:unknown:" + text
	if user != nil {
		account = "account:" + user.ID().String()
	}
	return []throttleKey{{th.Login, "login:" + text}, {th.Account, account}}
}

// confirmKeys are the counters of a signed-in user re-entering the
// password (or a second factor) before a sensitive change: the account's,
// shared with sign-in, and one of their own at the visible threshold, so a
// stolen access token guesses no faster than the sign-in form.
func (th Throttles) confirmKeys(userID uuid.UUID) []throttleKey {
	return []throttleKey{{th.Login, "reauth:" + userID.String()}, {th.Account, "account:" + userID.String()}}
}

// accountKeys are every counter of an account, forgotten when its owner
// proves control (a password reset) or an administrator unlocks it.
func (th Throttles) accountKeys(u *domain.User) []throttleKey {
	return []throttleKey{
		{th.Login, "login:" + normalizedLogin(u.Username().String())},
		{th.Login, "login:" + normalizedLogin(u.Email().String())},
		{th.Login, "reauth:" + u.ID().String()},
		{th.Account, "account:" + u.ID().String()},
	}
}

func normalizedLogin(login string) string { return strings.ToLower(strings.TrimSpace(login)) }

// attempt is one password check reserved in its counters until it fails,
// succeeds or is released.
type attempt struct {
	keys []throttleKey
}

// reserve counts a check in every key before the password is looked at.
// When one refuses, the reservations made are given back and the error is
// a domain.LoginLocked with the longest wait.
func reserve(ctx context.Context, keys []throttleKey, now time.Time) (*attempt, error) {
	for i, k := range keys {
		ok, retry, err := k.throttle.Reserve(ctx, k.key, now)
		if err == nil && ok {
			continue
		}
		a := &attempt{keys: keys[:i]}
		if rerr := a.release(ctx); rerr != nil {
			err = errors.Join(err, rerr)
		}
		if err != nil {
			return nil, fmt.Errorf("login throttle: %w", err)
		}
		return nil, domain.LoginLocked(retry)
	}
	return &attempt{keys: keys}, nil
}

// release gives the reservations back: the password was never judged.
func (a *attempt) release(ctx context.Context) error {
	var errs []error
	for _, k := range a.keys {
		errs = append(errs, k.throttle.Release(ctx, k.key))
	}
	return wrapThrottle(errors.Join(errs...))
}

// fail keeps the reservations as failures and reports whether one of them
// locked its key.
func (a *attempt) fail(ctx context.Context, now time.Time) (bool, error) {
	locked := false
	var errs []error
	for _, k := range a.keys {
		l, err := k.throttle.Fail(ctx, k.key, now)
		locked = locked || l
		errs = append(errs, err)
	}
	return locked, wrapThrottle(errors.Join(errs...))
}

// succeed forgets the keys' failures.
func (a *attempt) succeed(ctx context.Context) error { return resetKeys(ctx, a.keys) }

func resetKeys(ctx context.Context, keys []throttleKey) error {
	var errs []error
	for _, k := range keys {
		errs = append(errs, k.throttle.Reset(ctx, k.key))
	}
	return wrapThrottle(errors.Join(errs...))
}

func wrapThrottle(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("login throttle: %w", err)
}

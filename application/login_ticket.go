package application

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
)

// A two-step sign-in (the hosted sign-in page) asks for the password, then
// for the second factor on a page of its own. Between the two, the
// browser holds a ticket sealed with the key-encryption key: it says whose
// password was right, when, and which password it was, so the second step
// needs no password and the password never travels twice.

// mfaTicketTTL bounds the time between the two steps.
const mfaTicketTTL = 5 * time.Minute

const mfaTicketLabel = "login-mfa-ticket"

type mfaTicket struct {
	User  uuid.UUID `json:"u"`
	Login string    `json:"l"`
	// Hash fingerprints the password hash that was verified: a password
	// changed between the steps voids the ticket.
	Hash    []byte    `json:"h"`
	Expires time.Time `json:"e"`
}

// ErrMFATicketInvalid is a second step whose ticket is forged, expired or
// stale.
var ErrMFATicketInvalid = &domain.Error{Kind: domain.KindUnauthorized, Code: "mfa_ticket_invalid",
	Message: "the sign-in took too long or the account changed; sign in again"}

// Begin is the first step of a two-step sign-in: like Login, except that
// when only the second factor is missing it returns domain.ErrMFARequired
// with a ticket for Finish.
func (l *Login) Begin(ctx context.Context, in LoginInput) (TokenPair, string, error) {
	pair, user, err := l.admitted(ctx, in)
	l.count(err)
	if user == nil || l.box == nil {
		return pair, "", err
	}
	b, merr := json.Marshal(mfaTicket{User: user.ID(), Login: strings.TrimSpace(in.Login),
		Hash: hashFingerprint(user.PasswordHash()), Expires: l.clock.Now().Add(mfaTicketTTL)})
	if merr != nil {
		return TokenPair{}, "", merr
	}
	sealed, serr := l.box.Seal(b, mfaTicketLabel)
	if serr != nil {
		return TokenPair{}, "", serr
	}
	return TokenPair{}, base64.RawURLEncoding.EncodeToString(sealed), err
}

// Finish is the second step: the ticket of Begin and a second-factor code.
// The code is checked under the same throttles as a login, and a wrong
// one counts as a failed login.
func (l *Login) Finish(ctx context.Context, ticket, code string) (TokenPair, error) {
	pair, err := l.finish(ctx, ticket, code)
	if errors.Is(err, domain.ErrConcurrentChange) {
		pair, err = l.finish(ctx, ticket, code)
	}
	l.count(err)
	return pair, err
}

func (l *Login) finish(ctx context.Context, ticket, code string) (TokenPair, error) {
	t, ok := l.openTicket(ticket)
	if !ok {
		return TokenPair{}, ErrMFATicketInvalid
	}
	return l.completeTicket(ctx, t, ticketStep{check: func(ctx context.Context, user *domain.User, at *LoginAttempt) error {
		if !user.MFAEnabled() {
			return nil
		}
		return l.secondFactor(ctx, user, at, code)
	}})
}

// ticketStep is the second factor of a two-step sign-in: a code (Finish)
// or a passkey (Passkeys.FinishSecondFactor).
type ticketStep struct {
	// check judges the factor within the attempt's reservation. On an
	// error it has already failed or released the reservation.
	check func(ctx context.Context, user *domain.User, at *LoginAttempt) error
	// commit, when set, runs in the session's transaction before anything
	// else there: what the check spends (a passkey's counter) is written
	// with the session or not at all.
	commit func(ctx context.Context) error
}

// completeTicket is the second step for an opened ticket: the account is
// judged again under the login throttles (it must still be the one whose
// password was right, active and unlocked), step checks the second factor,
// and a session starts.
func (l *Login) completeTicket(ctx context.Context, t mfaTicket, step ticketStep) (TokenPair, error) {
	user, at, err := l.creds.BeginLogin(ctx, t.Login)
	if err != nil {
		if domain.KindOf(err) == domain.KindRateLimited {
			l.auditFailure(ctx, user, domain.ActionLoginLocked, "locked")
		}
		return TokenPair{}, err
	}
	if user == nil || user.ID() != t.User || !user.IsActive() ||
		subtle.ConstantTimeCompare(hashFingerprint(user.PasswordHash()), t.Hash) != 1 {
		return TokenPair{}, errors.Join(ErrMFATicketInvalid, at.Release(ctx))
	}
	if wait, locked := user.Locked(l.clock.Now()); locked {
		l.auditFailure(ctx, user, domain.ActionLoginLocked, "account_locked")
		return TokenPair{}, errors.Join(domain.LoginLocked(wait), at.Release(ctx))
	}
	if err := step.check(ctx, user, at); err != nil {
		return TokenPair{}, err
	}
	if l.requireVerified && !user.EmailVerified() {
		return TokenPair{}, errors.Join(domain.ErrEmailNotVerified, at.Succeed(ctx))
	}
	var pair TokenPair
	err = l.sessions.tx.WithinTx(ctx, func(ctx context.Context) error {
		if step.commit != nil {
			if err := step.commit(ctx); err != nil {
				return err
			}
		}
		if err := at.Succeed(ctx); err != nil {
			return err
		}
		var err error
		pair, err = l.sessions.Start(ctx, user, "")
		return err
	})
	if err != nil {
		return TokenPair{}, errors.Join(err, at.Release(ctx))
	}
	return pair, nil
}

func (l *Login) openTicket(ticket string) (mfaTicket, bool) {
	if l.box == nil || ticket == "" || len(ticket) > 2048 {
		return mfaTicket{}, false
	}
	sealed, err := base64.RawURLEncoding.DecodeString(ticket)
	if err != nil {
		return mfaTicket{}, false
	}
	b, err := l.box.Open(sealed, mfaTicketLabel)
	if err != nil {
		return mfaTicket{}, false
	}
	var t mfaTicket
	if json.Unmarshal(b, &t) != nil || !l.clock.Now().Before(t.Expires) {
		return mfaTicket{}, false
	}
	return t, true
}

func hashFingerprint(hash string) []byte {
	sum := sha256.Sum256([]byte(hash))
	return sum[:16]
}

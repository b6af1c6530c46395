package application

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// Signing in with a passkey keeps every rule of a password sign-in: the
// same throttles (a refused assertion of a known credential counts as a
// wrong password of its owner), the same hold on locked and inactive
// accounts, the same audit, and the session starts only if the account is
// still as it was judged.
//
// A passkey is not a mandatory second factor: registering one does not
// turn two-step sign-in on, so a password alone still signs in to an
// account without TOTP. Two-step sign-in is TOTP's state (the one
// Sessions.Start guards); where it is on, a passkey is a second factor
// alongside the code, and a passwordless sign-in must then have verified
// the person (PIN or biometrics) so that it is two factors in itself.

// maxPasskeys bounds a user's passkeys (and the list every ceremony of
// theirs carries).
const maxPasskeys = 20

// ErrPasskeyLimit is a registration beyond maxPasskeys.
var ErrPasskeyLimit = &domain.Error{Kind: domain.KindConflict, Code: "passkey_limit",
	Message: "an account can have at most 20 passkeys; delete one first"}

// ErrPasskeyUserVerificationRequired is a passwordless sign-in to an
// account with two-step sign-in on, by a passkey that did not verify the
// person: possession alone is one factor.
var ErrPasskeyUserVerificationRequired = &domain.Error{Kind: domain.KindUnauthorized,
	Code: "passkey_user_verification_required",
	Message: "this account uses two-step sign-in: use a passkey that asks for your PIN or biometrics, " +
		"or sign in with your password"}

// errPasskeyRaced is a use whose counter another use moved meanwhile (two
// uses raced, or a clone): refused, without a retry.
var errPasskeyRaced = fmt.Errorf("passkey used concurrently: %w", domain.ErrPasskeyRefused)

// passkeyUser is the user as a ceremony sees them.
func passkeyUser(u *domain.User, keys []domain.Passkey) ports.PasskeyUser {
	display := strings.TrimSpace(u.FirstName() + " " + u.LastName())
	if display == "" {
		display = u.Username().String()
	}
	return ports.PasskeyUser{ID: u.ID(), Name: u.Username().String(), DisplayName: display, Passkeys: keys}
}

// defaultPasskeyName is "Passkey n", the first n from the count up that
// no passkey of the user is called.
func defaultPasskeyName(keys []domain.Passkey) string {
	for n := len(keys) + 1; ; n++ {
		name := fmt.Sprintf("Passkey %d", n)
		if !slices.ContainsFunc(keys, func(k domain.Passkey) bool { return strings.EqualFold(k.Name, name) }) {
			return name
		}
	}
}

// counterRegressed is the sign counter rule: a counter that did not
// increase, when either side counts at all, means two authenticators hold
// the key. The WebAuthn port refuses such assertions; the rule is checked
// here again to tell that refusal from the others and record it, and so
// that no port lets one through.
func counterRegressed(a ports.Assertion) bool {
	stored := a.Passkey.SignCount
	return a.Passkey.ID != uuid.Nil && a.SignCount <= stored && (a.SignCount != 0 || stored != 0)
}

// passkeyAMR is how the person authenticated (RFC 8176): hwk for a
// device-bound key, swk for a synced one, user when it verified them.
func passkeyAMR(a ports.Assertion, second bool) []string {
	kind := "swk"
	if a.Hardware {
		kind = "hwk"
	}
	if second {
		return []string{"pwd", kind, "mfa"}
	}
	if a.UserVerified {
		return []string{kind, "user"}
	}
	return []string{kind}
}

// record writes a success event of a user's own passkeys.
func (p *Passkeys) record(ctx context.Context, userID uuid.UUID, action string, details map[string]any) error {
	ev := domain.NewAuditEvent(ctx, p.d.IDs.NewID(), p.d.Clock.Now(), action, domain.OutcomeSuccess)
	ev.ActorID, ev.TargetType, ev.TargetID, ev.Details = &userID, "user", userID.String(), details
	return p.d.Audit.Record(ctx, ev)
}

// auditFailure records a refused passkey (or a clone). Like a failed
// login's, its own failure does not change the answer.
func (p *Passkeys) auditFailure(ctx context.Context, userID *uuid.UUID, action, reason string, a ports.Assertion) {
	ev := domain.NewAuditEvent(ctx, p.d.IDs.NewID(), p.d.Clock.Now(), action, domain.OutcomeFailure)
	details := map[string]any{"reason": reason}
	if a.Passkey.ID != uuid.Nil {
		details["passkey_id"] = a.Passkey.ID.String()
	}
	if action == domain.ActionPasskeyCloned {
		details["stored_count"], details["presented_count"] = a.Passkey.SignCount, a.SignCount
	}
	if userID != nil {
		ev.ActorID, ev.TargetType, ev.TargetID = ptr(*userID), "user", userID.String()
	}
	ev.Details = details
	_ = p.d.Audit.Record(ctx, ev)
}

// refuse answers an assertion of a known user that did not verify (or
// verified a clone, or an unknown credential of a known user): it counts
// as a wrong password of theirs.
func (p *Passkeys) refuse(ctx context.Context, user *domain.User, at *LoginAttempt, a ports.Assertion, reason string) error {
	locked, err := at.Fail(ctx)
	if err != nil {
		return err
	}
	id := user.ID()
	if counterRegressed(a) {
		reason = "counter_regressed"
		p.auditFailure(ctx, &id, domain.ActionPasskeyCloned, reason, a)
	}
	p.auditFailure(ctx, &id, domain.ActionPasskeyFailed, reason, a)
	if locked {
		p.d.Login.metrics.Lockout()
		p.d.Login.auditFailure(ctx, user, domain.ActionLoginLocked, "threshold_reached")
	}
	return domain.ErrPasskeyRefused
}

// recordUse writes the assertion's counter, guarded by the one it was
// verified against.
func (p *Passkeys) recordUse(ctx context.Context, a ports.Assertion, at time.Time) error {
	err := p.d.Repo.RecordUse(ctx, a.Passkey.ID, domain.PasskeyUse{From: a.Passkey.SignCount, To: a.SignCount,
		BackedUp: a.BackedUp, At: at})
	if errors.Is(err, domain.ErrConcurrentChange) || errors.Is(err, domain.ErrPasskeyNotFound) {
		return errPasskeyRaced
	}
	return err
}

// retryOnce runs a sign-in again when the account changed while it was
// judged (the verified assertion is judged against the account as it is
// now); a second change is answered as Login answers it.
func retryOnce(run func() (PasskeySignIn, error)) (PasskeySignIn, error) {
	out, err := run()
	if errors.Is(err, domain.ErrConcurrentChange) {
		out, err = run()
		if errors.Is(err, domain.ErrConcurrentChange) {
			err = domain.Unavailable("concurrent_change", "the account changed while signing in; retry", time.Second)
		}
	}
	return out, err
}

// loginAttempt is what the credential lookup of a passwordless sign-in
// found, filled in by find while the WebAuthn port verifies.
type loginAttempt struct {
	// owner is the account the credential belongs to, once known.
	owner *domain.User
	// user and at are the account under the throttles' reservation.
	user *domain.User
	at   *LoginAttempt
	// locked is the throttles' refusal.
	locked error
}

func (p *Passkeys) finishLogin(ctx context.Context, ceremonyID string, response []byte) (PasskeySignIn, error) {
	rec, err := p.take(ctx, ceremonyID, ceremonyLogin, uuid.Nil)
	if err != nil {
		return PasskeySignIn{}, err
	}
	return retryOnce(func() (PasskeySignIn, error) { return p.passwordless(ctx, rec.Session, response) })
}

// passwordless verifies an assertion and starts a session.
func (p *Passkeys) passwordless(ctx context.Context, session, response []byte) (PasskeySignIn, error) {
	var st loginAttempt
	a, err := p.d.WebAuthn.FinishLogin(session, response, func(handle, credentialID []byte) (ports.PasskeyUser, error) {
		return p.findForLogin(ctx, &st, handle, credentialID)
	})
	if st.at == nil {
		return PasskeySignIn{}, p.unreserved(ctx, &st, a, err)
	}
	user, at := st.user, st.at
	if err != nil {
		if !errors.Is(err, domain.ErrPasskeyRefused) {
			return PasskeySignIn{}, errors.Join(err, at.Release(ctx))
		}
		return PasskeySignIn{}, p.refuse(ctx, user, at, a, "assertion_refused")
	}
	if a.UserID != user.ID() || counterRegressed(a) {
		return PasskeySignIn{}, p.refuse(ctx, user, at, a, "assertion_refused")
	}
	if !user.IsActive() {
		// As a password login: an inactive account is answered as a
		// wrong credential, and counted like one.
		return PasskeySignIn{}, p.refuse(ctx, user, at, a, "inactive_user")
	}
	if wait, locked := user.Locked(p.d.Clock.Now()); locked {
		p.d.Login.auditFailure(ctx, user, domain.ActionLoginLocked, "account_locked")
		return PasskeySignIn{}, errors.Join(domain.LoginLocked(wait), at.Release(ctx))
	}
	if user.MFAEnabled() && !a.UserVerified {
		id := user.ID()
		p.auditFailure(ctx, &id, domain.ActionPasskeyFailed, "user_not_verified", a)
		return PasskeySignIn{}, errors.Join(ErrPasskeyUserVerificationRequired, at.Release(ctx))
	}
	if p.d.Login.requireVerified && !user.EmailVerified() {
		return PasskeySignIn{}, errors.Join(domain.ErrEmailNotVerified, at.Succeed(ctx))
	}
	pair, err := p.startSession(ctx, user, at, a)
	if err != nil {
		return PasskeySignIn{}, err
	}
	return PasskeySignIn{Pair: pair, AMR: passkeyAMR(a, false)}, nil
}

// unreserved answers a passwordless sign-in that never reserved a check:
// a locked login, an unknown credential, or a store that failed.
func (p *Passkeys) unreserved(ctx context.Context, st *loginAttempt, a ports.Assertion, err error) error {
	switch {
	case st.locked != nil:
		p.d.Login.auditFailure(ctx, st.owner, domain.ActionLoginLocked, "locked")
		return st.locked
	case err == nil:
		return errors.New("passkey sign-in: verified without a lookup")
	case errors.Is(err, domain.ErrPasskeyNotFound), errors.Is(err, domain.ErrPasskeyRefused):
		// The same answer as a refused assertion of a known credential.
		var id *uuid.UUID
		if st.owner != nil {
			id = ptr(st.owner.ID())
		}
		reason := "assertion_refused"
		if errors.Is(err, domain.ErrPasskeyNotFound) {
			reason = "unknown_credential"
		}
		p.auditFailure(ctx, id, domain.ActionPasskeyFailed, reason, a)
		return domain.ErrPasskeyRefused
	default:
		return err
	}
}

// findForLogin looks up the owner of a credential and reserves a check in
// their login counters (by username), before the assertion is verified.
func (p *Passkeys) findForLogin(ctx context.Context, st *loginAttempt, handle, credentialID []byte) (ports.PasskeyUser, error) {
	userID, err := uuid.FromBytes(handle)
	if err != nil {
		return ports.PasskeyUser{}, domain.ErrPasskeyNotFound
	}
	pk, err := p.d.Repo.ByCredentialID(ctx, credentialID)
	if err != nil {
		return ports.PasskeyUser{}, err
	}
	if pk.UserID != userID {
		return ports.PasskeyUser{}, domain.ErrPasskeyNotFound
	}
	owner, err := p.d.Users.ByID(ctx, userID)
	if errors.Is(err, domain.ErrUserNotFound) {
		return ports.PasskeyUser{}, domain.ErrPasskeyNotFound
	}
	if err != nil {
		return ports.PasskeyUser{}, err
	}
	st.owner = owner
	user, at, err := p.d.Login.creds.BeginLogin(ctx, owner.Username().String())
	if err != nil {
		if domain.KindOf(err) == domain.KindRateLimited {
			st.locked = err
		}
		return ports.PasskeyUser{}, err
	}
	if user == nil || user.ID() != owner.ID() {
		// The username moved between the two reads.
		return ports.PasskeyUser{}, errors.Join(domain.ErrPasskeyNotFound, at.Release(ctx))
	}
	st.user, st.at = user, at
	keys, err := p.d.Repo.ByUser(ctx, user.ID())
	if err != nil {
		return ports.PasskeyUser{}, err
	}
	return passkeyUser(user, keys), nil
}

// startSession records the passkey's use, forgets the counters' failures
// and starts the session in one transaction, as a password login does.
func (p *Passkeys) startSession(ctx context.Context, user *domain.User, at *LoginAttempt, a ports.Assertion) (TokenPair, error) {
	var pair TokenPair
	err := p.d.Tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := p.recordUse(ctx, a, p.d.Clock.Now()); err != nil {
			return err
		}
		if err := at.Succeed(ctx); err != nil {
			return err
		}
		var err error
		pair, err = p.d.Sessions.Start(ctx, user, "")
		return err
	})
	if err != nil {
		if errors.Is(err, errPasskeyRaced) {
			id := user.ID()
			p.auditFailure(ctx, &id, domain.ActionPasskeyFailed, "concurrent_use", a)
		}
		return TokenPair{}, errors.Join(err, at.Release(ctx))
	}
	return pair, nil
}

func (p *Passkeys) finishSecondFactor(ctx context.Context, ticket, ceremonyID string, response []byte) (PasskeySignIn, error) {
	t, ok := p.d.Login.openTicket(ticket)
	if !ok {
		return PasskeySignIn{}, ErrMFATicketInvalid
	}
	rec, err := p.take(ctx, ceremonyID, ceremonySecondFactor, t.User)
	if err != nil {
		return PasskeySignIn{}, err
	}
	return retryOnce(func() (PasskeySignIn, error) {
		var used ports.Assertion
		pair, err := p.d.Login.completeTicket(ctx, t, ticketStep{
			check: func(ctx context.Context, user *domain.User, at *LoginAttempt) error {
				var err error
				used, err = p.checkSecondFactor(ctx, user, at, rec.Session, response)
				return err
			},
			commit: func(ctx context.Context) error { return p.recordUse(ctx, used, p.d.Clock.Now()) },
		})
		if errors.Is(err, errPasskeyRaced) {
			p.auditFailure(ctx, &t.User, domain.ActionPasskeyFailed, "concurrent_use", used)
		}
		if err != nil {
			return PasskeySignIn{}, err
		}
		return PasskeySignIn{Pair: pair, AMR: passkeyAMR(used, true)}, nil
	})
}

// checkSecondFactor verifies an assertion by one of user's passkeys within
// the attempt's reservation: a refused one counts as a wrong code.
func (p *Passkeys) checkSecondFactor(ctx context.Context, user *domain.User, at *LoginAttempt, session, response []byte) (ports.Assertion, error) {
	a, err := p.d.WebAuthn.FinishLogin(session, response, func(handle, credentialID []byte) (ports.PasskeyUser, error) {
		if id, err := uuid.FromBytes(handle); err != nil || id != user.ID() {
			return ports.PasskeyUser{}, domain.ErrPasskeyNotFound
		}
		keys, err := p.d.Repo.ByUser(ctx, user.ID())
		if err != nil {
			return ports.PasskeyUser{}, err
		}
		if !slices.ContainsFunc(keys, func(k domain.Passkey) bool { return bytes.Equal(k.CredentialID, credentialID) }) {
			return ports.PasskeyUser{}, domain.ErrPasskeyNotFound
		}
		return passkeyUser(user, keys), nil
	})
	switch {
	case err == nil && (a.UserID != user.ID() || counterRegressed(a)):
		return a, p.refuse(ctx, user, at, a, "assertion_refused")
	case err == nil:
		return a, nil
	case errors.Is(err, domain.ErrPasskeyRefused):
		return a, p.refuse(ctx, user, at, a, "assertion_refused")
	case errors.Is(err, domain.ErrPasskeyNotFound):
		return a, p.refuse(ctx, user, at, a, "unknown_credential")
	default:
		return a, errors.Join(err, at.Release(ctx))
	}
}

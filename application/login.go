package application

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// LoginDeps are what signing in needs.
type LoginDeps struct {
	Credentials *Credentials
	MFA         *MFA
	Sessions    *Sessions
	Audit       ports.AuditLog
	Clock       ports.Clock
	IDs         ports.IDGenerator
	// Metrics counts login outcomes; nil counts nothing.
	Metrics ports.AuthMetrics
	// Box seals the tickets of two-step sign-in (password, then second
	// factor); nil offers none.
	Box ports.SecretBox
}

// Login is signing in with a password (and a second factor when the
// account has one): the credentials are checked under the throttles, then
// a session starts.
type Login struct {
	creds    *Credentials
	mfa      *MFA
	sessions *Sessions
	audit    ports.AuditLog
	clock    ports.Clock
	ids      ports.IDGenerator
	metrics  ports.AuthMetrics
	box      ports.SecretBox
	// requireVerified refuses sign-in until the address is verified.
	requireVerified bool
}

// NewLogin wires signing in; requireVerifiedEmail holds logins back until
// the address is verified.
func NewLogin(d LoginDeps, requireVerifiedEmail bool) *Login {
	m := d.Metrics
	if m == nil {
		m = noMetrics{}
	}
	return &Login{creds: d.Credentials, mfa: d.MFA, sessions: d.Sessions, audit: d.Audit, clock: d.Clock, ids: d.IDs,
		metrics: m, box: d.Box, requireVerified: requireVerifiedEmail}
}

type noMetrics struct{}

func (noMetrics) Login(string) {}
func (noMetrics) Lockout()     {}

// Login outcomes as counted by AuthMetrics.
const (
	loginSuccess     = "success"
	loginFailure     = "failure"
	loginLocked      = "locked"
	loginMFARequired = "mfa_required"
	loginOverloaded  = "overloaded"
)

// LoginInput is what a client sends to log in.
type LoginInput struct {
	Login    string
	Password string
	// MFACode is an authenticator code or a recovery code, for accounts
	// with multi-factor login on.
	MFACode string
}

// Login checks a login (email or username) and password and starts a
// session. Wrong passwords, unknown logins and inactive accounts all return
// domain.ErrInvalidCredentials after the same time; a throttled login (or a
// locked account given its right password) returns a domain.LoginLocked
// error; a full hash pool domain.ErrHashingOverloaded.
func (l *Login) Login(ctx context.Context, in LoginInput) (TokenPair, error) {
	pair, _, err := l.admitted(ctx, in)
	l.count(err)
	return pair, err
}

func (l *Login) count(err error) {
	switch {
	case err == nil:
		l.metrics.Login(loginSuccess)
	case domain.KindOf(err) == domain.KindRateLimited:
		l.metrics.Login(loginLocked)
	case errors.Is(err, domain.ErrMFARequired):
		l.metrics.Login(loginMFARequired)
	case errors.Is(err, domain.ErrHashingOverloaded):
		l.metrics.Login(loginOverloaded)
	case domain.KindOf(err) == domain.KindUnauthorized || domain.KindOf(err) == domain.KindForbidden:
		l.metrics.Login(loginFailure)
	}
}

// admitted runs the login if the hash pool admits it. A login shed in a
// storm costs no lookup, reservation or audit write: those of doomed
// logins took the CPU the hashes needed. Nothing about the account is
// known yet, so shedding tells nothing about it.
// The user is returned only with domain.ErrMFARequired: the password was
// right and only the second factor is missing.
func (l *Login) admitted(ctx context.Context, in LoginInput) (TokenPair, *domain.User, error) {
	release, err := l.creds.hasher.Admit()
	if err != nil {
		return TokenPair{}, nil, err
	}
	defer release()
	pair, user, err := l.login(ctx, in)
	if errors.Is(err, domain.ErrConcurrentChange) {
		// The account changed while its credentials were checked: judge
		// the login again against the account as it is now.
		pair, user, err = l.login(ctx, in)
		if errors.Is(err, domain.ErrConcurrentChange) {
			err = domain.Unavailable("concurrent_change", "the account changed while signing in; retry", time.Second)
		}
	}
	return pair, user, err
}

func (l *Login) login(ctx context.Context, in LoginInput) (TokenPair, *domain.User, error) {
	pair, user, err := l.loginSteps(ctx, in)
	if !errors.Is(err, domain.ErrMFARequired) {
		user = nil
	}
	return pair, user, err
}

func (l *Login) loginSteps(ctx context.Context, in LoginInput) (TokenPair, *domain.User, error) {
	var fields []domain.FieldError
	login := strings.TrimSpace(in.Login)
	if login == "" || len(login) > 320 {
		fields = append(fields, domain.FieldError{Field: "login", Code: "required", Message: "an email or username of at most 320 characters is required"})
	}
	if in.Password == "" || len(in.Password) > maxPasswordLen {
		fields = append(fields, domain.FieldError{Field: "password", Code: "required", Message: "a password of at most 1024 bytes is required"})
	}
	if len(fields) > 0 {
		return TokenPair{}, nil, domain.Invalid(fields...)
	}

	user, at, err := l.creds.BeginLogin(ctx, login)
	if err != nil {
		if domain.KindOf(err) == domain.KindRateLimited {
			l.auditFailure(ctx, user, domain.ActionLoginLocked, "locked")
		}
		return TokenPair{}, user, err
	}
	ok, err := at.CheckPassword(ctx, in.Password)
	if err != nil {
		return TokenPair{}, user, err
	}
	if !ok {
		locked, err := at.Fail(ctx)
		if err != nil {
			return TokenPair{}, user, err
		}
		l.auditFailure(ctx, user, domain.ActionLoginFailed, at.FailureReason())
		if locked {
			l.metrics.Lockout()
			l.auditFailure(ctx, user, domain.ActionLoginLocked, "threshold_reached")
		}
		return TokenPair{}, user, domain.ErrInvalidCredentials
	}
	if wait, locked := user.Locked(l.clock.Now()); locked {
		// A lock held on the account itself (carried over from the old
		// service) shows only to the right password: a wrong one was
		// answered above exactly as for an unknown login.
		l.auditFailure(ctx, user, domain.ActionLoginLocked, "account_locked")
		return TokenPair{}, user, errors.Join(domain.LoginLocked(wait), at.Release(ctx))
	}
	if user.MFAEnabled() {
		if err := l.secondFactor(ctx, user, at, in.MFACode); err != nil {
			return TokenPair{}, user, err
		}
	}
	if l.requireVerified && !user.EmailVerified() {
		// The password was right: the failures are forgotten all the same.
		return TokenPair{}, user, errors.Join(domain.ErrEmailNotVerified, at.Succeed(ctx))
	}
	rehash := at.Rehash(ctx, in.Password)
	// The counters are forgotten in the session's transaction where the
	// throttle lives in the same store: one commit instead of three, and a
	// session that fails to start leaves the reservation to release.
	var pair TokenPair
	err = l.sessions.tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := at.Succeed(ctx); err != nil {
			return err
		}
		var err error
		pair, err = l.sessions.Start(ctx, user, rehash)
		return err
	})
	if err != nil {
		return TokenPair{}, user, errors.Join(err, at.Release(ctx))
	}
	return pair, user, nil
}

// secondFactor checks the code of an account with MFA on. A missing code
// is not a failure (the password was right) but not a success either; a
// wrong one counts like a wrong password.
func (l *Login) secondFactor(ctx context.Context, user *domain.User, at *LoginAttempt, code string) error {
	if strings.TrimSpace(code) == "" {
		return errors.Join(domain.ErrMFARequired, at.Release(ctx))
	}
	err := l.mfa.CheckSecondFactor(ctx, user, code)
	if err == nil {
		return nil
	}
	if !errors.Is(err, domain.ErrInvalidMFACode) {
		return errors.Join(err, at.Release(ctx))
	}
	locked, ferr := at.Fail(ctx)
	if ferr != nil {
		return ferr
	}
	l.auditFailure(ctx, user, domain.ActionMFAFailed, "wrong_mfa_code")
	if locked {
		l.metrics.Lockout()
		l.auditFailure(ctx, user, domain.ActionLoginLocked, "threshold_reached")
	}
	return err
}

// auditFailure records a failed or locked login. Its own failure must not
// change the answer (that would tell an attacker something), so it is
// dropped; the lockout itself is still enforced by the throttle.
func (l *Login) auditFailure(ctx context.Context, user *domain.User, action, reason string) {
	ev := domain.NewAuditEvent(ctx, l.ids.NewID(), l.clock.Now(), action, domain.OutcomeFailure)
	if user != nil {
		ev.ActorID, ev.TargetType, ev.TargetID = ptr(user.ID()), "user", user.ID().String()
	}
	// The login string of an unknown user is not recorded: people type
	// passwords into the login field.
	ev.Details = map[string]any{"reason": reason}
	_ = l.audit.Record(ctx, ev)
}

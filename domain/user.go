package domain

import (
	"time"

	"github.com/google/uuid"
)

// User is an account: the aggregate the identity rules hang on. Its fields
// are unexported so they change only through the methods below. Each method
// that changes the account returns the change it made, so a repository
// writes exactly those columns and nothing a concurrent request committed
// is written back over.
type User struct {
	id            uuid.UUID
	kind          UserKind
	email         Email
	username      Username
	firstName     string
	lastName      string
	active        bool
	systemAdmin   bool
	emailVerified bool
	password      Password
	lock          AccountLock
	mfa           MFA
	lastLogin     LastLogin
	createdAt     time.Time
	updatedAt     time.Time
}

// Password is an account's credential: the hash and its life.
type Password struct {
	Hash      string
	ChangedAt time.Time
	ExpiresAt *time.Time
	// MustChange is an administrator's demand for a new password.
	MustChange bool
}

// AccountLock is a lock held on the account itself (the old service's,
// carried over by an import). Failed logins of UMS are counted by the
// login throttle, not here.
type AccountLock struct {
	Until    *time.Time
	Failures int
}

// MFA is the account's TOTP second factor.
type MFA struct {
	Enabled bool
	// SecretSealed is the TOTP secret, encrypted; set from setup on, in
	// use once Enabled.
	SecretSealed []byte
	// LastUsedStep is the TOTP time step of the last accepted code; a code
	// of that step or older is refused (no replay in its window).
	LastUsedStep *int64
}

// LastLogin is the trace of the latest successful sign-in.
type LastLogin struct {
	At        *time.Time
	IP        string
	UserAgent string
}

// NewUserParams are the validated inputs of NewUser.
type NewUserParams struct {
	ID            uuid.UUID
	Email         Email
	Username      Username
	FirstName     string
	LastName      string
	PasswordHash  string
	IsSystemAdmin bool
	// EmailVerified is true when someone vouches for the address (an
	// administrator creating the account).
	EmailVerified bool
	Now           time.Time
	// PasswordMaxAge, when positive, sets the password's expiry.
	PasswordMaxAge time.Duration
}

// NewUser creates an active user whose password was just set.
func NewUser(p NewUserParams) *User {
	return &User{
		id: p.ID, kind: UserKindPerson, email: p.Email, username: p.Username, firstName: p.FirstName, lastName: p.LastName,
		active: true, systemAdmin: p.IsSystemAdmin, emailVerified: p.EmailVerified,
		password:  Password{Hash: p.PasswordHash, ChangedAt: p.Now, ExpiresAt: expiry(p.Now, p.PasswordMaxAge)},
		createdAt: p.Now, updatedAt: p.Now,
	}
}

// ImportParams are the facts another system held about an account, as an
// import carries them over (validated by the importer).
type ImportParams struct {
	NewUserParams
	IsActive           bool
	MustChangePassword bool
	// PasswordExpiresAt, when set, is the expiry the old system gave the
	// password, kept instead of one computed from PasswordMaxAge.
	PasswordExpiresAt *time.Time
	Lock              AccountLock
	// MFASecretSealed, when set, is the sealed TOTP secret the account
	// signs in with: MFA stays on, with the same authenticator app.
	MFASecretSealed []byte
	LastLoginAt     *time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// ImportedUser creates an account carried over from another system, with
// its state there; Now is when its password was set.
func ImportedUser(p ImportParams) *User {
	u := NewUser(p.NewUserParams)
	u.active, u.password.MustChange = p.IsActive, p.MustChangePassword
	if p.PasswordExpiresAt != nil {
		u.password.ExpiresAt = timePtr(p.PasswordExpiresAt)
	}
	u.lock = AccountLock{Until: timePtr(p.Lock.Until), Failures: max(p.Lock.Failures, 0)}
	if len(p.MFASecretSealed) > 0 {
		u.mfa = MFA{Enabled: true, SecretSealed: append([]byte(nil), p.MFASecretSealed...)}
	}
	u.lastLogin = LastLogin{At: timePtr(p.LastLoginAt)}
	u.createdAt, u.updatedAt = p.CreatedAt, p.UpdatedAt
	return u
}

// UserState is every stored fact of a user.
type UserState struct {
	ID uuid.UUID
	// Kind is UserKindPerson or UserKindService; empty reads as a person.
	Kind          UserKind
	Email         Email
	Username      Username
	FirstName     string
	LastName      string
	IsActive      bool
	IsSystemAdmin bool
	EmailVerified bool
	Password      Password
	Lock          AccountLock
	MFA           MFA
	LastLogin     LastLogin
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// RehydrateUser rebuilds a stored user. It is for store adapters only: it
// checks no rule, because the row was valid when it was written.
func RehydrateUser(s UserState) *User {
	kind := s.Kind
	if kind == "" {
		kind = UserKindPerson
	}
	return &User{
		id: s.ID, kind: kind, email: s.Email, username: s.Username, firstName: s.FirstName, lastName: s.LastName,
		active: s.IsActive, systemAdmin: s.IsSystemAdmin, emailVerified: s.EmailVerified,
		password: s.Password.clone(), lock: AccountLock{Until: timePtr(s.Lock.Until), Failures: s.Lock.Failures},
		mfa: s.MFA.clone(), lastLogin: LastLogin{At: timePtr(s.LastLogin.At), IP: s.LastLogin.IP, UserAgent: s.LastLogin.UserAgent},
		createdAt: s.CreatedAt, updatedAt: s.UpdatedAt,
	}
}

// State returns a copy of every fact of u, for a store adapter inserting
// it.
func (u *User) State() UserState {
	return UserState{
		ID: u.id, Kind: u.kind, Email: u.email, Username: u.username, FirstName: u.firstName, LastName: u.lastName,
		IsActive: u.active, IsSystemAdmin: u.systemAdmin, EmailVerified: u.emailVerified,
		Password: u.password.clone(), Lock: AccountLock{Until: timePtr(u.lock.Until), Failures: u.lock.Failures},
		MFA: u.mfa.clone(), LastLogin: LastLogin{At: timePtr(u.lastLogin.At), IP: u.lastLogin.IP, UserAgent: u.lastLogin.UserAgent},
		CreatedAt: u.createdAt, UpdatedAt: u.updatedAt,
	}
}

// ID identifies the user for ever.
func (u *User) ID() uuid.UUID { return u.id }

// Kind says whether the account is a person's or a service account.
func (u *User) Kind() UserKind { return u.kind }

// IsServiceAccount reports whether the account is a machine identity,
// which never signs in interactively.
func (u *User) IsServiceAccount() bool { return u.kind == UserKindService }

// Email is the account's current address.
func (u *User) Email() Email { return u.email }

// Username is the account's login name, in the case it was given.
func (u *User) Username() Username { return u.username }

// FirstName is the given name, possibly empty.
func (u *User) FirstName() string { return u.firstName }

// LastName is the family name, possibly empty.
func (u *User) LastName() string { return u.lastName }

// IsActive reports whether the account may sign in and holds any right.
func (u *User) IsActive() bool { return u.active }

// IsSystemAdmin reports whether the account administers the whole service.
func (u *User) IsSystemAdmin() bool { return u.systemAdmin }

// EmailVerified reports whether the owner proved the address.
func (u *User) EmailVerified() bool { return u.emailVerified }

// PasswordHash is the encoded hash of the password.
func (u *User) PasswordHash() string { return u.password.Hash }

// PasswordChangedAt is when the password was set.
func (u *User) PasswordChangedAt() time.Time { return u.password.ChangedAt }

// PasswordExpiresAt is when the password expires, or nil.
func (u *User) PasswordExpiresAt() *time.Time { return timePtr(u.password.ExpiresAt) }

// MustChangePassword reports an administrator's demand for a new password.
func (u *User) MustChangePassword() bool { return u.password.MustChange }

// LockedUntil is the end of a lock held on the account, or nil.
func (u *User) LockedUntil() *time.Time { return timePtr(u.lock.Until) }

// FailedLoginCount is the failure count that came with an imported lock.
func (u *User) FailedLoginCount() int { return u.lock.Failures }

// MFAEnabled reports whether sign-in needs a second factor.
func (u *User) MFAEnabled() bool { return u.mfa.Enabled }

// MFASecretSealed is the sealed TOTP secret, pending or in use, or nil.
func (u *User) MFASecretSealed() []byte { return append([]byte(nil), u.mfa.SecretSealed...) }

// MFALastUsedStep is the TOTP step of the last accepted code, or nil.
func (u *User) MFALastUsedStep() *int64 { return int64Ptr(u.mfa.LastUsedStep) }

// LastLoginAt is when the user last signed in, or nil.
func (u *User) LastLoginAt() *time.Time { return timePtr(u.lastLogin.At) }

// LastLoginIP is the address of the last sign-in.
func (u *User) LastLoginIP() string { return u.lastLogin.IP }

// LastLoginUserAgent is the user agent of the last sign-in.
func (u *User) LastLoginUserAgent() string { return u.lastLogin.UserAgent }

// CreatedAt is when the account was created.
func (u *User) CreatedAt() time.Time { return u.createdAt }

// UpdatedAt is when the account last changed.
func (u *User) UpdatedAt() time.Time { return u.updatedAt }

func (p Password) clone() Password {
	p.ExpiresAt = timePtr(p.ExpiresAt)
	return p
}

func (m MFA) clone() MFA {
	if m.SecretSealed != nil {
		m.SecretSealed = append([]byte(nil), m.SecretSealed...)
	}
	m.LastUsedStep = int64Ptr(m.LastUsedStep)
	return m
}

func expiry(now time.Time, maxAge time.Duration) *time.Time {
	if maxAge <= 0 {
		return nil
	}
	exp := now.Add(maxAge)
	return &exp
}

func timePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}

func int64Ptr(n *int64) *int64 {
	if n == nil {
		return nil
	}
	c := *n
	return &c
}

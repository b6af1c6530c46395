package domain

import "time"

// ErrConcurrentChange is a guarded write that found its row changed since
// it was read: a concurrent request won. Use cases decide what it means for
// them (a login is judged again, a password change's current password is
// no longer the account's).
var ErrConcurrentChange = &Error{Kind: KindConflict, Code: "concurrent_change",
	Message: "the resource changed while this request ran; retry"}

// PasswordChangeRequired reports whether the user must change the password
// before doing anything else: an administrator asked for it, or it expired.
func (u *User) PasswordChangeRequired(now time.Time) bool {
	return u.password.MustChange || u.PasswordExpired(now)
}

// PasswordExpired reports whether the password's expiry has passed.
func (u *User) PasswordExpired(now time.Time) bool {
	return u.password.ExpiresAt != nil && !now.Before(*u.password.ExpiresAt)
}

// PasswordChange is a new password as it is stored.
type PasswordChange struct {
	Hash      string
	ChangedAt time.Time
	ExpiresAt *time.Time
	// Previous is the hash it replaces: the write happens only while that
	// is still the stored one, so a password set meanwhile (by the owner's
	// reset, say) is never overwritten by a request that proved the older
	// one.
	Previous string
}

// SetPassword replaces the password at now; maxAge, when positive, sets
// its expiry. A forced change and a lock on the account end with it: the
// new password was set by someone who proved the old one or the mailbox.
func (u *User) SetPassword(hash string, now time.Time, maxAge time.Duration) PasswordChange {
	ch := PasswordChange{Hash: hash, ChangedAt: now, ExpiresAt: expiry(now, maxAge), Previous: u.password.Hash}
	u.password = Password{Hash: hash, ChangedAt: now, ExpiresAt: timePtr(ch.ExpiresAt)}
	u.lock = AccountLock{}
	u.updatedAt = now
	return ch
}

// RequirePasswordChange makes the next sign-in change the password.
func (u *User) RequirePasswordChange(now time.Time) {
	u.password.MustChange, u.updatedAt = true, now
}

// Locked reports a lock held on the account at now and how long it has
// left.
func (u *User) Locked(now time.Time) (time.Duration, bool) {
	if u.lock.Until == nil || !now.Before(*u.lock.Until) {
		return 0, false
	}
	return u.lock.Until.Sub(now), true
}

// Unlock lifts a lock held on the account and reports whether there was
// anything to lift.
func (u *User) Unlock(now time.Time) bool {
	if u.lock.Until == nil && u.lock.Failures == 0 {
		return false
	}
	u.lock, u.updatedAt = AccountLock{}, now
	return true
}

// LoginGuard is what a login verified about the account. Its session is
// written only if the account still matches: active, with the same
// password hash and the same second-factor state.
type LoginGuard struct {
	PasswordHash string
	MFAEnabled   bool
}

// LoginRecord is the trace a successful sign-in leaves on the account.
type LoginRecord struct {
	At        time.Time
	IP        string
	UserAgent string
	// Rehash, when set, replaces the verified hash with one of the same
	// password made with the current parameters.
	Rehash string
}

// RecordLogin notes a successful sign-in at at; rehash, when set, is the
// password's hash made anew. It returns the record to store and the guard
// the store must check.
func (u *User) RecordLogin(at time.Time, ip, userAgent, rehash string) (LoginRecord, LoginGuard) {
	guard := LoginGuard{PasswordHash: u.password.Hash, MFAEnabled: u.mfa.Enabled}
	when := at
	u.lastLogin = LastLogin{At: &when, IP: ip, UserAgent: userAgent}
	if rehash != "" {
		u.password.Hash = rehash
	}
	return LoginRecord{At: at, IP: ip, UserAgent: userAgent, Rehash: rehash}, guard
}

package domain

import "time"

// ProfileChange is a change of the names a user shows; nil leaves one.
type ProfileChange struct {
	FirstName *string
	LastName  *string
	At        time.Time
	// Fields names what actually changed, for the audit trail.
	Fields []string
}

// Empty reports whether the change changes nothing.
func (c ProfileChange) Empty() bool { return len(c.Fields) == 0 }

// ChangeProfile validates and applies new names (nil leaves one as is) and
// returns what changed; a name breaking a rule is a KindInvalid error and
// changes nothing.
func (u *User) ChangeProfile(first, last *string, now time.Time) (ProfileChange, error) {
	var fields []FieldError
	ch := ProfileChange{At: now}
	if first != nil {
		v, fe := ParsePersonName("first_name", *first)
		if fe != nil {
			fields = append(fields, *fe)
		} else if v != u.firstName {
			ch.FirstName, ch.Fields = &v, append(ch.Fields, "first_name")
		}
	}
	if last != nil {
		v, fe := ParsePersonName("last_name", *last)
		if fe != nil {
			fields = append(fields, *fe)
		} else if v != u.lastName {
			ch.LastName, ch.Fields = &v, append(ch.Fields, "last_name")
		}
	}
	if len(fields) > 0 {
		return ProfileChange{}, Invalid(fields...)
	}
	if ch.FirstName != nil {
		u.firstName = *ch.FirstName
	}
	if ch.LastName != nil {
		u.lastName = *ch.LastName
	}
	if !ch.Empty() {
		u.updatedAt = now
	}
	return ch, nil
}

// AccessChange is an administrator's change of an account's flags; nil
// leaves one.
type AccessChange struct {
	Active        *bool
	SystemAdmin   *bool
	EmailVerified *bool
	At            time.Time
	// Fields names what actually changed, for the audit trail.
	Fields []string
	// LosesSystemAdmin is true when the change takes an active system
	// administrator away (deactivation or demotion), which the last one
	// may never be.
	LosesSystemAdmin bool
}

// Empty reports whether the change changes nothing.
func (c AccessChange) Empty() bool { return len(c.Fields) == 0 }

// ChangeAccess applies an administrator's flags and returns what changed.
func (u *User) ChangeAccess(active, systemAdmin, emailVerified *bool, now time.Time) AccessChange {
	ch := AccessChange{At: now}
	wasAdmin := u.active && u.systemAdmin
	if active != nil && *active != u.active {
		u.active, ch.Active, ch.Fields = *active, boolPtr(*active), append(ch.Fields, "is_active")
	}
	if systemAdmin != nil && *systemAdmin != u.systemAdmin {
		u.systemAdmin, ch.SystemAdmin, ch.Fields = *systemAdmin, boolPtr(*systemAdmin), append(ch.Fields, "is_system_admin")
	}
	if emailVerified != nil && *emailVerified != u.emailVerified {
		u.emailVerified, ch.EmailVerified, ch.Fields = *emailVerified, boolPtr(*emailVerified), append(ch.Fields, "email_verified")
	}
	ch.LosesSystemAdmin = wasAdmin && !(u.active && u.systemAdmin)
	if !ch.Empty() {
		u.updatedAt = now
	}
	return ch
}

// Deactivated reports whether the change ends the account's rights, so
// its sessions must end too.
func (c AccessChange) Deactivated() bool { return c.Active != nil && !*c.Active }

// CountsAsSystemAdmin reports whether the account is one of the active
// system administrators the last-admin rule protects.
func (u *User) CountsAsSystemAdmin() bool { return u.active && u.systemAdmin }

// EmailChange moves the account to an address its owner just proved.
type EmailChange struct {
	Email Email
	// Previous is the address it replaces; the write happens only while
	// that is still the stored one.
	Previous Email
	At       time.Time
}

// ConfirmEmail records that the owner proved addr: the address becomes
// verified and, when it differs from the current one, the account's. It
// reports whether the address changed.
func (u *User) ConfirmEmail(addr Email, now time.Time) (EmailChange, bool) {
	ch := EmailChange{Email: addr, Previous: u.email, At: now}
	moved := addr != u.email
	u.email, u.emailVerified, u.updatedAt = addr, true, now
	return ch, moved
}

func boolPtr(b bool) *bool { return &b }

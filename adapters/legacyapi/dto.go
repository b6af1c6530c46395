package legacyapi

import (
	"strings"
	"time"

	"github.com/ums-project/ums/domain"
)

// oldTime is a time as the old service wrote it: naive UTC in ISO 8601,
// with six digits of microseconds unless they are zero (Python's
// isoformat).
type oldTime time.Time

// MarshalJSON implements json.Marshaler.
func (t oldTime) MarshalJSON() ([]byte, error) {
	u := time.Time(t).UTC()
	layout := `"2006-01-02T15:04:05"`
	if u.Nanosecond()/1000 != 0 {
		layout = `"2006-01-02T15:04:05.000000"`
	}
	return []byte(u.Format(layout)), nil
}

func optTime(t *time.Time) *oldTime {
	if t == nil {
		return nil
	}
	o := oldTime(*t)
	return &o
}

// userObject is the old service's 19-key user, keys in the alphabetical
// order it sent them. The two secrets it leaked are always null here.
type userObject struct {
	CreatedAt             oldTime  `json:"created_at"`
	Email                 string   `json:"email"`
	EmailVerified         bool     `json:"email_verified"`
	FailedLoginAttempts   int      `json:"failed_login_attempts"`
	FirstName             string   `json:"first_name"`
	ID                    int64    `json:"id"`
	IsActive              bool     `json:"is_active"`
	IsAdmin               bool     `json:"is_admin"`
	LastLoginAt           *oldTime `json:"last_login_at"`
	LastName              string   `json:"last_name"`
	LockedUntil           *oldTime `json:"locked_until"`
	PasswordChangedAt     *oldTime `json:"password_changed_at"`
	PasswordExpiresAt     *oldTime `json:"password_expires_at"`
	PasswordHistory       *string  `json:"password_history"`
	RequirePasswordChange bool     `json:"require_password_change"`
	TwoFactorEnabled      bool     `json:"two_factor_enabled"`
	TwoFactorSecret       *string  `json:"two_factor_secret"`
	UpdatedAt             oldTime  `json:"updated_at"`
	Username              string   `json:"username"`
}

func newUserObject(u *domain.User, id int64) userObject {
	changed := u.PasswordChangedAt()
	return userObject{
		CreatedAt: oldTime(u.CreatedAt()), Email: u.Email().String(), EmailVerified: u.EmailVerified(),
		FailedLoginAttempts: u.FailedLoginCount(), FirstName: u.FirstName(), ID: id, IsActive: u.IsActive(),
		IsAdmin: u.IsSystemAdmin(), LastLoginAt: optTime(u.LastLoginAt()), LastName: u.LastName(),
		LockedUntil: optTime(u.LockedUntil()), PasswordChangedAt: optTime(&changed),
		PasswordExpiresAt: optTime(u.PasswordExpiresAt()), RequirePasswordChange: u.MustChangePassword(),
		TwoFactorEnabled: u.MFAEnabled(), UpdatedAt: oldTime(u.UpdatedAt()), Username: u.Username().String(),
	}
}

// labObject is the old service's 7-key lab. code is the organization's
// slug in capitals: UMS normalised the old codes into slugs at import.
type labObject struct {
	Code        string  `json:"code"`
	CreatedAt   oldTime `json:"created_at"`
	Description string  `json:"description"`
	ID          int64   `json:"id"`
	IsActive    bool    `json:"is_active"`
	Name        string  `json:"name"`
	UpdatedAt   oldTime `json:"updated_at"`
}

func newLabObject(o domain.Organization, id int64) labObject {
	return labObject{Code: strings.ToUpper(o.Slug), CreatedAt: oldTime(o.CreatedAt), Description: o.Description,
		ID: id, IsActive: o.IsActive, Name: o.Name, UpdatedAt: oldTime(o.UpdatedAt)}
}

// membershipObject is the membership the old service meant to send (it
// failed to serialise any): UMS memberships have no id of their own, so
// id is null.
type membershipObject struct {
	ID       *int64      `json:"id"`
	IsActive bool        `json:"is_active"`
	JoinedAt oldTime     `json:"joined_at"`
	Lab      *labObject  `json:"lab"`
	LabID    int64       `json:"lab_id"`
	Role     string      `json:"role"`
	User     *userObject `json:"user"`
	UserID   int64       `json:"user_id"`
}

// message is the {"message": …} envelope of answers without data.
type message struct {
	Message string `json:"message"`
}

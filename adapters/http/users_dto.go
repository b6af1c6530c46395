package http

import (
	"time"

	"github.com/ums-project/ums/domain"
)

// userResponse is the public view of a user: never a hash, secret or token.
type userResponse struct {
	ID                 string     `json:"id"`
	Kind               string     `json:"kind"` // "person", or "service" for a service account
	Email              string     `json:"email"`
	Username           string     `json:"username"`
	FirstName          string     `json:"first_name"`
	LastName           string     `json:"last_name"`
	IsActive           bool       `json:"is_active"`
	IsSystemAdmin      bool       `json:"is_system_admin"`
	EmailVerified      bool       `json:"email_verified"`
	MFAEnabled         bool       `json:"mfa_enabled"`
	MustChangePassword bool       `json:"must_change_password"`
	PasswordChangedAt  time.Time  `json:"password_changed_at"`
	LastLoginAt        *time.Time `json:"last_login_at,omitempty"`
	CreatedAt          time.Time  `json:"created_at"`
	UpdatedAt          time.Time  `json:"updated_at"`
}

func newUserResponse(u *domain.User) userResponse {
	return userResponse{
		ID: u.ID().String(), Kind: string(u.Kind()), Email: u.Email().String(), Username: u.Username().String(),
		FirstName: u.FirstName(), LastName: u.LastName(), IsActive: u.IsActive(),
		IsSystemAdmin: u.IsSystemAdmin(), EmailVerified: u.EmailVerified(), MFAEnabled: u.MFAEnabled(),
		MustChangePassword: u.MustChangePassword(), PasswordChangedAt: u.PasswordChangedAt(),
		LastLoginAt: u.LastLoginAt(), CreatedAt: u.CreatedAt(), UpdatedAt: u.UpdatedAt(),
	}
}

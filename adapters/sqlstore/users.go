package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

type userRow struct {
	bun.BaseModel `bun:"table:users"`

	ID                 uuid.UUID  `bun:"id,pk,type:uuid"`
	Kind               string     `bun:"kind"`
	Email              string     `bun:"email"`
	Username           string     `bun:"username"`
	FirstName          string     `bun:"first_name"`
	LastName           string     `bun:"last_name"`
	IsActive           bool       `bun:"is_active"`
	IsSystemAdmin      bool       `bun:"is_system_admin"`
	EmailVerified      bool       `bun:"email_verified"`
	PasswordHash       string     `bun:"password_hash"`
	PasswordChangedAt  time.Time  `bun:"password_changed_at"`
	PasswordExpiresAt  *time.Time `bun:"password_expires_at"`
	MustChangePassword bool       `bun:"must_change_password"`
	FailedLoginCount   int        `bun:"failed_login_count"`
	LockedUntil        *time.Time `bun:"locked_until"`
	MFAEnabled         bool       `bun:"mfa_enabled"`
	MFASecretSealed    []byte     `bun:"mfa_secret_encrypted"`
	MFALastUsedStep    *int64     `bun:"mfa_last_used_step"`
	LastLoginAt        *time.Time `bun:"last_login_at"`
	LastLoginIP        *string    `bun:"last_login_ip"`
	LastLoginUserAgent *string    `bun:"last_login_user_agent"`
	CreatedAt          time.Time  `bun:"created_at"`
	UpdatedAt          time.Time  `bun:"updated_at"`
}

func toUserRow(u *domain.User) *userRow {
	s := u.State()
	return &userRow{
		ID: s.ID, Kind: userKind(s.Kind), Email: s.Email.String(), Username: s.Username.String(),
		FirstName: s.FirstName, LastName: s.LastName, IsActive: s.IsActive,
		IsSystemAdmin: s.IsSystemAdmin, EmailVerified: s.EmailVerified,
		PasswordHash: s.Password.Hash, PasswordChangedAt: s.Password.ChangedAt.UTC(),
		PasswordExpiresAt: utcPtr(s.Password.ExpiresAt), MustChangePassword: s.Password.MustChange,
		FailedLoginCount: s.Lock.Failures, LockedUntil: utcPtr(s.Lock.Until),
		MFAEnabled: s.MFA.Enabled, MFASecretSealed: s.MFA.SecretSealed, MFALastUsedStep: s.MFA.LastUsedStep,
		LastLoginAt:        utcPtr(s.LastLogin.At),
		LastLoginIP:        nullString(s.LastLogin.IP),
		LastLoginUserAgent: nullString(s.LastLogin.UserAgent),
		CreatedAt:          s.CreatedAt.UTC(), UpdatedAt: s.UpdatedAt.UTC(),
	}
}

func (r *userRow) toDomain() (*domain.User, error) {
	// Rows were validated on the way in; a parse failure means the table
	// was edited by hand and is reported, not hidden.
	email, fe := domain.ParseEmail(r.Email)
	if fe != nil {
		return nil, fmt.Errorf("user %s: stored email is invalid", r.ID)
	}
	username, fe := domain.ParseUsername(r.Username)
	if fe != nil {
		return nil, fmt.Errorf("user %s: stored username is invalid", r.ID)
	}
	return domain.RehydrateUser(domain.UserState{
		ID: r.ID, Kind: domain.UserKind(r.Kind), Email: email, Username: username, FirstName: r.FirstName, LastName: r.LastName,
		IsActive: r.IsActive, IsSystemAdmin: r.IsSystemAdmin, EmailVerified: r.EmailVerified,
		Password: domain.Password{Hash: r.PasswordHash, ChangedAt: r.PasswordChangedAt.UTC(),
			ExpiresAt: utcPtr(r.PasswordExpiresAt), MustChange: r.MustChangePassword},
		Lock: domain.AccountLock{Until: utcPtr(r.LockedUntil), Failures: r.FailedLoginCount},
		MFA:  domain.MFA{Enabled: r.MFAEnabled, SecretSealed: r.MFASecretSealed, LastUsedStep: r.MFALastUsedStep},
		LastLogin: domain.LastLogin{At: utcPtr(r.LastLoginAt), IP: deref(r.LastLoginIP),
			UserAgent: deref(r.LastLoginUserAgent)},
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}), nil
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// UserRepository stores users in the users table.
type UserRepository struct{ db *DB }

var (
	_ ports.UserRepository = (*UserRepository)(nil)
	_ ports.MFASteps       = (*UserRepository)(nil)
)

// NewUserRepository returns a UserRepository on db.
func NewUserRepository(db *DB) *UserRepository { return &UserRepository{db: db} }

// Create implements ports.UserRepository.
func (r *UserRepository) Create(ctx context.Context, u *domain.User) error {
	if _, err := conn(ctx, r.db).NewInsert().Model(toUserRow(u)).Exec(ctx); err != nil {
		return userWriteError(err)
	}
	return nil
}

// ByID implements ports.UserRepository.
func (r *UserRepository) ByID(ctx context.Context, id uuid.UUID) (*domain.User, error) {
	row := new(userRow)
	if err := r.db.queryRow(ctx, userByID, []any{row}, id); err != nil {
		if isNoRows(err) {
			return nil, domain.ErrUserNotFound
		}
		return nil, dbError("select user", err)
	}
	return row.toDomain()
}

// userColumns are the columns a userRow scans, in its order.
const userColumns = `SELECT id, kind, email, username, first_name, last_name, is_active, is_system_admin, email_verified,
	password_hash, password_changed_at, password_expires_at, must_change_password, failed_login_count, locked_until,
	mfa_enabled, mfa_secret_encrypted, mfa_last_used_step, last_login_at, last_login_ip, last_login_user_agent,
	created_at, updated_at FROM users `

// userByID is the read behind every GET /me and refresh; userByEmail and
// userByUsername the first read of every login, which finds people only:
// a service account never signs in, resets or is found by its address.
var (
	userByID       = prepare(userColumns + `WHERE id = ?`)
	userByEmail    = prepare(userColumns + `WHERE lower(email) = ? AND kind = 'person' LIMIT 1`)
	userByUsername = prepare(userColumns + `WHERE lower(username) = ? AND kind = 'person' LIMIT 1`)
)

// ByLogin implements ports.UserRepository; service accounts are not
// found.
func (r *UserRepository) ByLogin(ctx context.Context, login string) (*domain.User, error) {
	login = strings.ToLower(strings.TrimSpace(login))
	q := userByUsername
	if strings.Contains(login, "@") {
		q = userByEmail
	}
	row := new(userRow)
	if err := r.db.queryRow(ctx, q, []any{row}, login); err != nil {
		if isNoRows(err) {
			return nil, domain.ErrUserNotFound
		}
		return nil, dbError("select user", err)
	}
	return row.toDomain()
}

// AdvanceMFAStep implements ports.MFASteps: one conditional update, so of
// two logins racing with the same code only one gets through.
func (r *UserRepository) AdvanceMFAStep(ctx context.Context, id uuid.UUID, step int64) (bool, error) {
	res, err := conn(ctx, r.db).NewUpdate().Model((*userRow)(nil)).
		Set("mfa_last_used_step = ?", step).
		Where("id = ?", id).
		Where("(mfa_last_used_step IS NULL OR mfa_last_used_step < ?)", step).
		Exec(ctx)
	if err != nil {
		return false, dbError("advance mfa step", err)
	}
	n, err := res.RowsAffected()
	return n == 1, dbError("advance mfa step", err)
}

func userWriteError(err error) error {
	if name, ok := uniqueViolation(err); ok {
		switch {
		case strings.Contains(name, "email"):
			return domain.ErrEmailTaken
		case strings.Contains(name, "username"):
			return domain.ErrUsernameTaken
		default:
			return domain.ErrConflict
		}
	}
	return dbError("write user", err)
}

// userKind is the stored kind of k; an account made before kinds existed
// is a person's.
func userKind(k domain.UserKind) string {
	if k == "" {
		return string(domain.UserKindPerson)
	}
	return string(k)
}

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

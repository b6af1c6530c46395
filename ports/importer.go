package ports

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
)

// The Flask types are rows of the old service's tables, as its models
// define them (../shared/ref/lhums-schema.md). Booleans the old models
// defaulted in Python only come NULL from rows other tools wrote; sources
// read NULL as that default.

// FlaskUser is a row of the old service's users table.
type FlaskUser struct {
	ID                  int64
	Username            string
	Email               string
	PasswordHash        string
	FirstName           string
	LastName            string
	IsActive            bool // NULL: true
	IsAdmin             bool
	EmailVerified       bool
	LockedUntil         *time.Time
	FailedLoginAttempts int
	LastLoginAt         *time.Time
	PasswordChangedAt   *time.Time
	PasswordExpiresAt   *time.Time
	// PasswordHistory is the column as stored: a JSON array of the
	// previous Werkzeug hashes, oldest first, or "".
	PasswordHistory       string
	RequirePasswordChange bool
	TwoFactorEnabled      bool
	// TwoFactorSecret is pyotp's base32 TOTP secret (SHA-1, 6 digits,
	// 30 s), in clear in the old database.
	TwoFactorSecret string
	CreatedAt       *time.Time
	UpdatedAt       *time.Time
}

// FlaskLab is a row of labs: an organization.
type FlaskLab struct {
	ID          int64
	Name        string
	Code        string
	Description string
	IsActive    bool // NULL: true
	CreatedAt   *time.Time
	UpdatedAt   *time.Time
}

// FlaskMembership is a row of lab_memberships.
type FlaskMembership struct {
	ID       int64
	UserID   int64
	LabID    int64
	Role     string
	IsActive bool // NULL: true
	JoinedAt *time.Time
}

// FlaskAttribute is a row of attributes: a permission.
type FlaskAttribute struct {
	ID          int64
	Name        string
	Description string
	Category    string
	IsActive    bool
	CreatedAt   *time.Time
}

// FlaskRoleAttribute is a row of role_attributes; LabID nil is global.
type FlaskRoleAttribute struct {
	ID          int64
	Role        string
	AttributeID int64
	LabID       *int64
	GrantedBy   *int64
	GrantedAt   *time.Time
}

// FlaskUserAttribute is a row of user_lab_attributes: a direct grant.
type FlaskUserAttribute struct {
	ID          int64
	UserID      int64
	LabID       int64
	AttributeID int64
	GrantedBy   *int64
	GrantedAt   *time.Time
	ExpiresAt   *time.Time
	IsActive    bool
}

// FlaskAuditLog is a row of audit_logs.
type FlaskAuditLog struct {
	ID           int64
	UserID       *int64
	Action       string
	ResourceType string
	ResourceID   *int64
	// Details is the column's text, usually JSON.
	Details   string
	IP        string
	UserAgent string
	Success   bool // NULL: true
	CreatedAt *time.Time
}

// FlaskSnapshot is the whole old database, read consistently, each table
// ordered by id.
type FlaskSnapshot struct {
	Users          []FlaskUser
	Labs           []FlaskLab
	Memberships    []FlaskMembership
	Attributes     []FlaskAttribute
	RoleAttributes []FlaskRoleAttribute
	UserAttributes []FlaskUserAttribute
	AuditLogs      []FlaskAuditLog
	// PendingResetLinks and PendingVerificationLinks count the unused,
	// unexpired password reset and email verification tokens: links that
	// die with the old service (they are stored in clear there, so they
	// are never carried over).
	PendingResetLinks        int
	PendingVerificationLinks int
}

// FlaskSource reads the old Flask service's database without changing it.
type FlaskSource interface {
	// Snapshot reads every table; a missing table or column is an error
	// naming it.
	Snapshot(ctx context.Context) (FlaskSnapshot, error)
}

// Legacy id kinds kept in the import ledger.
const (
	LegacyUser           = "user"
	LegacyLab            = "lab"
	LegacyMembership     = "lab_membership"
	LegacyAttribute      = "attribute"
	LegacyRoleAttribute  = "role_attribute"
	LegacyUserAttribute  = "user_lab_attribute"
	LegacyAuditLog       = "audit_log"
	LegacyImportedByJSON = "jsonl_user"
)

// ImportLedger remembers which rows of an old system were imported, as
// (kind, old integer id) → new UMS id, so imports are idempotent and
// clients can translate old ids. It joins the transaction in ctx.
type ImportLedger interface {
	// Known returns the old ids of kind already imported and their new
	// ids (uuid.Nil for rows without an id of their own: memberships).
	Known(ctx context.Context, kind string) (map[int64]uuid.UUID, error)
	// Remember records one imported row.
	Remember(ctx context.Context, kind string, oldID int64, newID uuid.UUID, at time.Time) error
	// SlugTaken reports whether an organization already has the slug,
	// case-insensitively.
	SlugTaken(ctx context.Context, slug string) (bool, error)
	// AddRolePermission adds one permission to a role's set (globally when
	// orgID is nil) without touching the rest; it reports false when the
	// pair was already there. The permission must exist.
	AddRolePermission(ctx context.Context, id uuid.UUID, orgID *uuid.UUID, role domain.Role, permission string, at time.Time) (bool, error)
}

// ImportedHashes judges password hashes made elsewhere before they are
// stored.
type ImportedHashes interface {
	// CheckImported names the scheme of encoded, or returns an error when
	// the hasher could not verify it within its cost limits.
	CheckImported(encoded string) (scheme string, err error)
}

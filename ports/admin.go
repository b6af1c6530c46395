package ports

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
)

// UserSort orders an admin user list; each order is a total order (ties
// broken by id) so keyset pages stay stable under concurrent inserts.
type UserSort string

// User list orders.
const (
	SortCreatedAsc   UserSort = "created_at"
	SortCreatedDesc  UserSort = "-created_at"
	SortUsernameAsc  UserSort = "username"
	SortUsernameDesc UserSort = "-username"
	SortEmailAsc     UserSort = "email"
	SortEmailDesc    UserSort = "-email"
)

// UserFilter narrows an admin user list.
type UserFilter struct {
	// Q matches email, username, first or last name, case-insensitively,
	// as a substring.
	Q        string
	IsActive *bool
	// OrgID keeps members of that organization.
	OrgID *uuid.UUID
	Sort  UserSort
}

// UserDirectory lists users for administrators.
type UserDirectory interface {
	// List returns one page and the next cursor ("" at the end). A cursor
	// made under another sort is a KindInvalid error on field "cursor".
	List(ctx context.Context, f UserFilter, p Page) ([]domain.User, string, error)
	// Numbered returns limit users from offset, in creation order, and
	// how many there are: the numbered pages of the old service's API.
	Numbered(ctx context.Context, offset, limit int) ([]domain.User, int, error)
	// CountActiveAdmins counts active system administrators, locking them
	// in the transaction in ctx so two concurrent demotions cannot both
	// pass a last-admin check.
	CountActiveAdmins(ctx context.Context) (int, error)
}

// AuditFilter narrows an audit listing; zero fields do not filter.
type AuditFilter struct {
	ActorID  *uuid.UUID
	Action   string
	OrgID    *uuid.UUID
	TargetID string
	Since    *time.Time
	Until    *time.Time
}

// AuditQuery reads the audit trail, newest first, keyset-paginated on
// (occurred_at, id).
type AuditQuery interface {
	List(ctx context.Context, f AuditFilter, p Page) ([]domain.AuditEvent, string, error)
	// DeleteBefore drops every event older than cutoff (the retention
	// job; nothing else deletes audit rows) and returns how many.
	DeleteBefore(ctx context.Context, cutoff time.Time) (int64, error)
}

// UserExport is every row UMS holds about one user, without secrets.
type UserExport struct {
	User        domain.User
	Sessions    []domain.Session
	Memberships []domain.Membership
	Grants      []domain.Grant
	AuditEvents []domain.AuditEvent
	// Passkeys are the user's passkeys, public data only: the credential
	// id and public key are left out.
	Passkeys []domain.Passkey
	// PersonalTokens are the user's personal access tokens, revoked ones
	// included, without their hashes.
	PersonalTokens []domain.PersonalToken
	// Invitations are the invitations addressed to the user's email or
	// accepted by the user, spent ones included, without token hashes.
	Invitations []domain.Invitation
}

// PersonalData erases and exports a user's data (GDPR art. 17, 15, 20).
type PersonalData interface {
	// Export gathers every row about the user, or domain.ErrUserNotFound.
	Export(ctx context.Context, userID uuid.UUID) (UserExport, error)
	// Erase deletes the user and every row that belongs to them (sessions,
	// tokens, memberships, grants, history, codes, throttle state) and
	// rewrites the user's id in the audit trail (as actor and as target)
	// to pseudonym, dropping the details, IP and user agent of those events,
	// which could identify them. It joins
	// the transaction in ctx; domain.ErrUserNotFound when absent.
	Erase(ctx context.Context, userID, pseudonym uuid.UUID) error
}

package domain

import (
	"time"

	"github.com/google/uuid"
)

// Invitation asks the holder of an email address into an organization with
// a role. The mailed link carries a random token; only its hash is kept.
// An invitation is open until it is accepted or revoked, and acceptable
// while open and unexpired.
type Invitation struct {
	ID        uuid.UUID
	OrgID     uuid.UUID
	Email     Email
	Role      Role
	TokenHash []byte
	// InvitedBy is who sent it; nil once that account is erased.
	InvitedBy  *uuid.UUID
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastSentAt time.Time
	AcceptedAt *time.Time
	// AcceptedBy is the account that joined through it.
	AcceptedBy *uuid.UUID
	RevokedAt  *time.Time
}

// InvitationStatus is where an invitation is in its life.
type InvitationStatus string

// The states of an invitation.
const (
	InvitationPending  InvitationStatus = "pending"
	InvitationExpired  InvitationStatus = "expired"
	InvitationAccepted InvitationStatus = "accepted"
	InvitationRevoked  InvitationStatus = "revoked"
)

// How long an invitation's link works: InvitationTTL unless the inviter
// says otherwise, within [MinInvitationTTL, MaxInvitationTTL].
const (
	InvitationTTL    = 7 * 24 * time.Hour
	MinInvitationTTL = time.Hour
	MaxInvitationTTL = 30 * 24 * time.Hour
)

// NewInvitationParams are what an inviter chooses.
type NewInvitationParams struct {
	ID        uuid.UUID
	OrgID     uuid.UUID
	Email     string
	Role      string
	TokenHash []byte
	InvitedBy uuid.UUID
	// ExpiresIn is the link's life; nil is InvitationTTL.
	ExpiresIn *time.Duration
	Now       time.Time
}

// NewInvitation validates an inviter's choices (a valid address, a role,
// a life within the bounds) and returns the pending invitation; every
// broken rule is listed in one KindInvalid error.
func NewInvitation(p NewInvitationParams) (Invitation, error) {
	var fields []FieldError
	email, fe := ParseEmail(p.Email)
	if fe != nil {
		fields = append(fields, *fe)
	} else if email.Reserved() {
		// Service accounts' synthetic addresses: nobody reads that mail.
		fields = append(fields, ErrReservedEmail("email"))
	}
	role, fe := ParseRole("role", p.Role)
	if fe != nil {
		fields = append(fields, *fe)
	}
	ttl := InvitationTTL
	if p.ExpiresIn != nil {
		ttl = *p.ExpiresIn
		if ttl < MinInvitationTTL || ttl > MaxInvitationTTL {
			fields = append(fields, FieldError{Field: "expires_in", Code: "out_of_range",
				Message: "must be between 3600 seconds (1 hour) and 2592000 seconds (30 days)"})
		}
	}
	if len(fields) > 0 {
		return Invitation{}, Invalid(fields...)
	}
	by := p.InvitedBy
	return Invitation{ID: p.ID, OrgID: p.OrgID, Email: email, Role: role, TokenHash: p.TokenHash, InvitedBy: &by,
		CreatedAt: p.Now, ExpiresAt: p.Now.Add(ttl), LastSentAt: p.Now}, nil
}

// Status is the invitation's state at now.
func (i Invitation) Status(now time.Time) InvitationStatus {
	switch {
	case i.AcceptedAt != nil:
		return InvitationAccepted
	case i.RevokedAt != nil:
		return InvitationRevoked
	case !now.Before(i.ExpiresAt):
		return InvitationExpired
	}
	return InvitationPending
}

// Open reports whether the invitation is neither accepted nor revoked: it
// can still be resent or revoked, even when expired.
func (i Invitation) Open() bool { return i.AcceptedAt == nil && i.RevokedAt == nil }

// CheckAcceptable refuses an invitation that is accepted, revoked or
// expired at now, each with its own error.
func (i Invitation) CheckAcceptable(now time.Time) error {
	switch i.Status(now) {
	case InvitationAccepted:
		return ErrInvitationAccepted
	case InvitationRevoked:
		return ErrInvitationRevoked
	case InvitationExpired:
		return ErrInvitationExpired
	}
	return nil
}

// CheckOpen refuses to resend or revoke an invitation that is accepted or
// revoked already.
func (i Invitation) CheckOpen() error {
	switch {
	case i.AcceptedAt != nil:
		return ErrInvitationAccepted
	case i.RevokedAt != nil:
		return ErrInvitationRevoked
	}
	return nil
}

// CheckInvitee refuses an account that may not accept the invitation:
// only an account whose address is the invited one, and verified, may.
// An address anyone can type into a sign-up proves nothing; a verified
// one is what ties the account to the mailbox the link went to.
func (i Invitation) CheckInvitee(u *User) error {
	if u.Email() != i.Email {
		return ErrInvitationEmailMismatch
	}
	if !u.EmailVerified() {
		return ErrInvitationEmailUnverified
	}
	return nil
}

// InvitationRenewal is a resend: a new token, and the same life again from
// now.
type InvitationRenewal struct {
	TokenHash []byte
	ExpiresAt time.Time
	SentAt    time.Time
}

// Renew gives an open invitation a new token and, from now, the life it
// was first given; the old link stops working.
func (i Invitation) Renew(tokenHash []byte, now time.Time) (InvitationRenewal, error) {
	if err := i.CheckOpen(); err != nil {
		return InvitationRenewal{}, err
	}
	life := i.ExpiresAt.Sub(i.LastSentAt)
	if life < MinInvitationTTL || life > MaxInvitationTTL {
		life = InvitationTTL
	}
	return InvitationRenewal{TokenHash: tokenHash, ExpiresAt: now.Add(life), SentAt: now}, nil
}

// Invitation errors. Accepted, revoked and expired are conflicts with the
// invitation's state, each with its own code, so a client can say which.
var (
	ErrInvitationNotFound = &Error{Kind: KindNotFound, Code: "invitation_not_found",
		Message: "no such invitation: the link is wrong, or a newer one replaced it"}
	ErrInvitationExpired = &Error{Kind: KindConflict, Code: "invitation_expired",
		Message: "the invitation expired; ask for a new one"}
	ErrInvitationRevoked = &Error{Kind: KindConflict, Code: "invitation_revoked",
		Message: "the invitation was withdrawn"}
	ErrInvitationAccepted = &Error{Kind: KindConflict, Code: "invitation_already_accepted",
		Message: "the invitation was already accepted"}
	ErrInvitationPending = &Error{Kind: KindConflict, Code: "invitation_pending",
		Message: "this address already has a pending invitation to this organization; resend or revoke it"}
	ErrInvitationEmailMismatch = &Error{Kind: KindForbidden, Code: "invitation_email_mismatch",
		Message: "the invitation is for another email address than this account's"}
	ErrInvitationEmailUnverified = &Error{Kind: KindForbidden, Code: "invitation_email_unverified",
		Message: "verify this account's email address before accepting the invitation"}
)

// Invitation audit actions.
const (
	ActionInvitationCreated      = "org.invitation_created"
	ActionInvitationResent       = "org.invitation_resent"
	ActionInvitationRevoked      = "org.invitation_revoked"
	ActionInvitationAccepted     = "org.invitation_accepted"
	ActionInvitationAcceptFailed = "org.invitation_accept_failed"
)

package domain

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// UserKind tells people's accounts from service accounts.
type UserKind string

// The kinds of account.
const (
	UserKindPerson  UserKind = "person"
	UserKindService UserKind = "service"
)

// ServiceAccountEmailDomain holds the synthetic addresses of service
// accounts. The .invalid top-level domain is reserved (RFC 2606): nothing
// under it is ever delivered, so no mail reaches anyone and no person can
// prove control of such an address.
const ServiceAccountEmailDomain = "service-accounts.invalid"

// Reserved reports whether the address is under the reserved .invalid
// top-level domain, which no person's account may use.
func (e Email) Reserved() bool { return strings.HasSuffix(e.v, ".invalid") }

// ErrReservedEmail refuses a reserved address to a person.
func ErrReservedEmail(field string) FieldError {
	return FieldError{Field: field, Code: "reserved_email",
		Message: "addresses under the reserved .invalid domain cannot be used"}
}

// NewServiceAccountUser is the users row of a new, active service
// account: no password (passwordHash is a marker no hasher accepts), a
// synthetic address under ServiceAccountEmailDomain, never verified.
func NewServiceAccountUser(id uuid.UUID, username Username, passwordHash string, now time.Time) *User {
	return &User{
		id: id, kind: UserKindService, username: username,
		email:     Email{v: strings.ToLower(username.String()) + "@" + ServiceAccountEmailDomain},
		active:    true,
		password:  Password{Hash: passwordHash, ChangedAt: now},
		createdAt: now, updatedAt: now,
	}
}

// ServiceAccount is a machine identity of one organization: a users row
// of kind service, a member of its organization, that authenticates with
// OAuth 2.0 client credentials (a secret or a registered public key) and
// never signs in interactively.
type ServiceAccount struct {
	// ID is the account's user id; its OAuth client_id is the same value.
	ID          uuid.UUID
	OrgID       uuid.UUID
	Name        string
	Description string
	CreatedBy   *uuid.UUID
	CreatedAt   time.Time
	UpdatedAt   time.Time

	// Read from the account's other rows.
	Username string
	IsActive bool
	// Role is its role in OrgID, empty once it was removed from the
	// members.
	Role Role
	// HasSecret is whether a client secret was issued.
	HasSecret bool
}

// ClientID is the OAuth client_id the account authenticates as.
func (a ServiceAccount) ClientID() string { return a.ID.String() }

// ServiceAccountChange is an administrator's change of an account; nil
// leaves a field as it is.
type ServiceAccountChange struct {
	Name        *string
	Description *string
	IsActive    *bool
	At          time.Time
}

// Limits of service accounts.
const (
	maxServiceAccountName        = 100
	maxServiceAccountDescription = 1000
	// MaxServiceAccountKeys bounds the public keys one account holds.
	MaxServiceAccountKeys = 10
	// MaxServiceAccountsPerOrg bounds the accounts of one organization:
	// each is a users row, a client and a membership an org admin makes
	// without anyone else's consent.
	MaxServiceAccountsPerOrg = 100
)

// ServiceAccountCredentials are what a service account authenticates
// with now: its client secret's hash (nil without one) and the kids of
// its registered keys.
type ServiceAccountCredentials struct {
	SecretHash []byte
	KIDs       []string
}

// MaxKeyIDLength bounds a client key's kid.
const MaxKeyIDLength = 128

// WellFormedKeyID reports whether kid may name a client key: 1 to 128
// printable ASCII characters without spaces. Registration keeps to it, so
// a presented kid outside it names no key and need not be looked up.
func WellFormedKeyID(kid string) bool {
	return kid != "" && len(kid) <= MaxKeyIDLength &&
		strings.IndexFunc(kid, func(r rune) bool { return r <= 0x20 || r >= 0x7f }) < 0
}

// WellFormedJTI reports whether an assertion's jti can be recorded: 1 to
// 256 bytes of text without control characters (a NUL cannot be stored).
func WellFormedJTI(jti string) bool {
	return jti != "" && len(jti) <= 256 && utf8.ValidString(jti) &&
		strings.IndexFunc(jti, unicode.IsControl) < 0
}

// ParseServiceAccountName validates a service account's display name.
func ParseServiceAccountName(field, s string) (string, *FieldError) {
	s = strings.TrimSpace(s)
	if s == "" || utf8.RuneCountInString(s) > maxServiceAccountName {
		return "", &FieldError{Field: field, Code: "invalid_length", Message: "must have 1 to 100 characters"}
	}
	if _, fe := ParsePersonName(field, s); fe != nil {
		return "", &FieldError{Field: field, Code: fe.Code, Message: "must not contain control characters"}
	}
	return s, nil
}

// ParseServiceAccountDescription validates an optional description.
func ParseServiceAccountDescription(field, s string) (string, *FieldError) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > maxServiceAccountDescription {
		return "", &FieldError{Field: field, Code: "too_long", Message: "must be valid text of at most 1000 characters"}
	}
	return s, nil
}

// ClientPublicKey is a public key a service account registered to sign
// its client assertions with, as a parser read it.
type ClientPublicKey struct {
	// KID names the key in an assertion's header: the JWK's own kid when
	// it had one, its Thumbprint otherwise.
	KID string
	// Algorithm is the one JWS algorithm the key verifies: RS256 or
	// PS256 (RSA of 2048 bits or more), ES256 (P-256) or EdDSA (Ed25519).
	Algorithm string
	// JWK is the public key as a JSON Web Key, without private members.
	JWK []byte
	// Thumbprint is the RFC 7638 SHA-256 thumbprint, base64url.
	Thumbprint string
}

// ServiceAccountKey is a registered public key of a service account.
type ServiceAccountKey struct {
	ClientPublicKey
	AccountID uuid.UUID
	CreatedAt time.Time
	// ExpiresAt, when set, ends the key's use.
	ExpiresAt *time.Time
}

// Usable reports whether the key may verify an assertion at now.
func (k ServiceAccountKey) Usable(now time.Time) bool {
	return k.ExpiresAt == nil || now.Before(*k.ExpiresAt)
}

// ClientAssertion is the verified claims of a JWT a client authenticated
// with (RFC 7523).
type ClientAssertion struct {
	Issuer    string
	Subject   string
	Audience  []string
	JTI       string
	ExpiresAt time.Time
	IssuedAt  *time.Time
	NotBefore *time.Time
}

// Service account errors.
var (
	ErrServiceAccountNotFound = &Error{Kind: KindNotFound, Code: "service_account_not_found",
		Message: "service account not found"}
	ErrServiceAccountNameTaken = &Error{Kind: KindConflict, Code: "service_account_name_taken",
		Message: "the organization already has a service account of this name"}
	ErrServiceAccountKeyNotFound = &Error{Kind: KindNotFound, Code: "service_account_key_not_found",
		Message: "no key of this id is registered for the service account"}
	ErrServiceAccountKeyExists = &Error{Kind: KindConflict, Code: "service_account_key_exists",
		Message: "this key, or another of the same kid, is already registered for the service account"}
	ErrTooManyServiceAccounts = &Error{Kind: KindConflict, Code: "too_many_service_accounts",
		Message: "an organization holds at most 100 service accounts; delete one first"}
	ErrServiceAccountTooManyKeys = &Error{Kind: KindConflict, Code: "too_many_keys",
		Message: "a service account holds at most 10 keys; delete one first"}
	ErrServiceAccountInactive = &Error{Kind: KindConflict, Code: "service_account_inactive",
		Message: "the service account is deactivated; activate it first"}
)

// Audit actions of service accounts. Tokens issued to them and refused
// are recorded with the OAuth actions (ActionOAuthTokenIssued,
// ActionOAuthTokenFailed, ActionOAuthClientAuthFails), the account as
// their actor.
const (
	ActionServiceAccountCreated       = "service_account.created"
	ActionServiceAccountUpdated       = "service_account.updated"
	ActionServiceAccountDeactivated   = "service_account.deactivated"
	ActionServiceAccountDeleted       = "service_account.deleted"
	ActionServiceAccountSecretRotated = "service_account.secret_rotated"
	ActionServiceAccountKeyAdded      = "service_account.key_added"
	ActionServiceAccountKeyRemoved    = "service_account.key_removed"
)

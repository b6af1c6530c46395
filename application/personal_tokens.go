package application

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// PersonalTokenDeps are the ports personal access tokens need.
type PersonalTokenDeps struct {
	Store ports.PersonalTokenRepository
	// Sessions tells whether the session making a token still stands,
	// read under the owner's lock (see Create).
	Sessions ports.SessionRepository
	// ReauthAfter is how old the sign-in behind a session may be for it
	// to make a token (the console's recent sign-in); 0 does not check.
	ReauthAfter time.Duration
	Users       ports.UserRepository
	Members     ports.MembershipRepository
	Perms       ports.PermissionRepository
	Access      ports.AccessQuery
	Tx          ports.TxManager
	Audit       ports.AuditLog
	Clock       ports.Clock
	IDs         ports.IDGenerator
	Random      io.Reader
}

// PersonalTokens are personal access tokens: making, listing and revoking
// them, and the bearer scheme that authenticates them. A token speaks for
// its owner narrowed by its scope, and the owner is read at each use, so
// a deactivated owner's tokens stop at once on every instance, and a
// permission the owner loses is lost by the token on its next use.
type PersonalTokens struct {
	d PersonalTokenDeps
}

// NewPersonalTokens wires personal access tokens.
func NewPersonalTokens(d PersonalTokenDeps) *PersonalTokens { return &PersonalTokens{d: d} }

var _ BearerScheme = (*PersonalTokens)(nil)

// NewPersonalToken is a token just made: its value, shown once.
type NewPersonalToken struct {
	domain.PersonalToken
	Value string
}

// Create makes a token for the caller. The permissions must be catalog
// permissions the caller holds: in the organization named, or (without
// one) in at least one of theirs.
func (s *PersonalTokens) Create(ctx context.Context, p domain.Principal, req domain.PersonalTokenRequest) (NewPersonalToken, error) {
	now := s.d.Clock.Now()
	name, perms, err := domain.ValidatePersonalToken(req, now)
	if err != nil {
		return NewPersonalToken{}, err
	}
	owner, err := loadPrincipal(ctx, s.d.Users, p)
	if err != nil {
		return NewPersonalToken{}, err
	}
	if !owner.IsActive() {
		return NewPersonalToken{}, domain.ErrInvalidToken
	}
	if err := s.checkHeld(ctx, owner, req.OrgID, perms); err != nil {
		return NewPersonalToken{}, err
	}
	random := make([]byte, 96)
	if _, err := io.ReadFull(s.d.Random, random); err != nil {
		return NewPersonalToken{}, fmt.Errorf("personal access token: %w", err)
	}
	value := domain.NewPersonalTokenValue(random)
	hash := sha256.Sum256([]byte(value))
	t := domain.PersonalToken{ID: s.d.IDs.NewID(), UserID: owner.ID(), Name: name, Hash: hash[:],
		Hint: domain.PersonalTokenHint(value), OrgID: req.OrgID, Permissions: perms,
		CreatedAt: now, ExpiresAt: req.ExpiresAt.UTC()}
	err = s.d.Tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := s.d.Store.Create(ctx, t, domain.MaxPersonalTokens); err != nil {
			if errors.Is(err, domain.ErrOrgNotFound) {
				return domain.Invalid(domain.FieldError{Field: "org_id", Code: "unknown_organization", Message: "no such organization"})
			}
			return err
		}
		// Create holds the owner's lock, which revoking every session and
		// token takes too: a logout-all, deactivation or reset that came
		// first has revoked this session by now, and one that comes later
		// revokes the new token. Without this, a token made while its
		// session was being revoked would outlive it.
		if err := s.sessionStands(ctx, p, now); err != nil {
			return err
		}
		details := map[string]any{"name": name, "permissions": nonNil(perms), "expires_at": t.ExpiresAt}
		if t.OrgID != nil {
			details["org_id"] = t.OrgID.String()
		}
		return s.record(ctx, owner.ID(), domain.ActionPersonalTokenCreated, domain.OutcomeSuccess, t.ID, details)
	})
	if err != nil {
		return NewPersonalToken{}, err
	}
	return NewPersonalToken{PersonalToken: t, Value: value}, nil
}

// ErrRecentSignInRequired refuses making a token with an old sign-in: a
// token outlives its session, so a stolen session must not mint one.
var ErrRecentSignInRequired = &domain.Error{Kind: domain.KindForbidden, Code: "recent_sign_in_required",
	Message: "sign in again to make a token: the sign-in behind this session is too old"}

// sessionStands refuses a caller whose session has been revoked, or whose
// sign-in is older than ReauthAfter.
func (s *PersonalTokens) sessionStands(ctx context.Context, p domain.Principal, now time.Time) error {
	if s.d.Sessions == nil || p.SessionID == uuid.Nil {
		return nil
	}
	sess, err := s.d.Sessions.ByID(ctx, p.SessionID)
	if err != nil {
		if errors.Is(err, domain.ErrSessionNotFound) {
			return domain.ErrInvalidToken
		}
		return err
	}
	if sess.RevokedAt != nil {
		return domain.ErrInvalidToken
	}
	if s.d.ReauthAfter > 0 && now.Sub(sess.CreatedAt) > s.d.ReauthAfter {
		return ErrRecentSignInRequired
	}
	return nil
}

// checkHeld refuses permissions the owner does not hold where the token
// is to be used.
func (s *PersonalTokens) checkHeld(ctx context.Context, owner *domain.User, orgID *uuid.UUID, perms []string) error {
	now := s.d.Clock.Now()
	held := map[string]bool{}
	if orgID != nil {
		facts, err := s.d.Access.Facts(ctx, owner.ID(), []uuid.UUID{*orgID})
		if err != nil {
			return err
		}
		f := facts[*orgID]
		if !domain.Decide(f, nil, now).Allowed {
			// Not a member (or the organization is gone or inactive): as
			// for any organization the caller cannot see.
			return domain.Invalid(domain.FieldError{Field: "org_id", Code: "not_a_member",
				Message: "must be an organization you belong to"})
		}
		for _, name := range domain.EffectivePermissions(f, now) {
			held[name] = true
		}
	} else if owner.IsSystemAdmin() {
		catalog, err := s.d.Perms.List(ctx, false)
		if err != nil {
			return err
		}
		for _, c := range catalog {
			held[c.Name] = true
		}
	} else if len(perms) > 0 {
		ms, err := s.d.Members.ByUser(ctx, owner.ID())
		if err != nil {
			return err
		}
		orgs := make([]uuid.UUID, len(ms))
		for i, m := range ms {
			orgs[i] = m.OrgID
		}
		facts, err := s.d.Access.Facts(ctx, owner.ID(), orgs)
		if err != nil {
			return err
		}
		for _, f := range facts {
			for _, name := range domain.EffectivePermissions(f, now) {
				held[name] = true
			}
		}
	}
	var missing []string
	for _, name := range perms {
		if !held[name] {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return domain.Invalid(domain.FieldError{Field: "permissions", Code: "not_held",
			Message: "a token may carry only permissions you hold there; not held: " + strings.Join(missing, ", ")})
	}
	return nil
}

// List returns the caller's unrevoked tokens, newest first (expired ones
// included until revoked, so their owner sees why a script stopped).
func (s *PersonalTokens) List(ctx context.Context, p domain.Principal) ([]domain.PersonalToken, error) {
	return s.d.Store.ByUser(ctx, p.UserID)
}

// Revoke ends one of the caller's tokens.
func (s *PersonalTokens) Revoke(ctx context.Context, p domain.Principal, id uuid.UUID) error {
	now := s.d.Clock.Now()
	return s.d.Tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := s.d.Store.Revoke(ctx, p.UserID, id, now, domain.RevokePersonalTokenByUser); err != nil {
			return err
		}
		return s.record(ctx, p.UserID, domain.ActionPersonalTokenRevoked, domain.OutcomeSuccess, id,
			map[string]any{"reason": domain.RevokePersonalTokenByUser})
	})
}

// Accepts implements BearerScheme: a personal access token has its prefix.
func (s *PersonalTokens) Accepts(raw string) bool {
	return strings.HasPrefix(raw, domain.PersonalTokenPrefix)
}

// Authenticate implements BearerScheme. The token must be well formed
// (its checksum is checked before any read), known, unrevoked and
// unexpired, and its owner active; an owner whose password change is
// pending is refused until it is done. A refused known token is audited.
func (s *PersonalTokens) Authenticate(ctx context.Context, raw string) (domain.Principal, error) {
	if !domain.WellFormedPersonalToken(raw) {
		return domain.Principal{}, domain.ErrInvalidToken
	}
	hash := sha256.Sum256([]byte(raw))
	t, err := s.d.Store.ByHash(ctx, hash[:])
	if err != nil {
		if errors.Is(err, domain.ErrPersonalTokenNotFound) {
			return domain.Principal{}, domain.ErrInvalidToken
		}
		return domain.Principal{}, err
	}
	now := s.d.Clock.Now()
	if !t.Usable(now) {
		reason := "expired"
		if t.RevokedAt != nil {
			reason = "revoked"
		}
		return domain.Principal{}, s.refuse(ctx, t, reason)
	}
	owner, err := s.d.Users.ByID(ctx, t.UserID)
	if err != nil {
		if domain.KindOf(err) == domain.KindNotFound {
			return domain.Principal{}, domain.ErrInvalidToken
		}
		return domain.Principal{}, err
	}
	if !owner.IsActive() {
		return domain.Principal{}, s.refuse(ctx, t, "owner_inactive")
	}
	if owner.PasswordChangeRequired(now) {
		return domain.Principal{}, domain.ErrPasswordChangeRequired
	}
	if t.NeedsUseRecorded(now) {
		if err := s.d.Store.RecordUse(ctx, t.ID, now, now.Add(-domain.PersonalTokenUseResolution)); err != nil {
			return domain.Principal{}, err
		}
	}
	return domain.Principal{UserID: t.UserID, TokenID: t.ID.String(), ExpiresAt: t.ExpiresAt,
		Kind: domain.PrincipalPersonalToken, Scope: t.Scope()}, nil
}

// refuse audits a known token presented when it may no longer be used
// and returns the refusal.
func (s *PersonalTokens) refuse(ctx context.Context, t domain.PersonalToken, reason string) error {
	if err := s.record(ctx, t.UserID, domain.ActionPersonalTokenRefused, domain.OutcomeFailure, t.ID,
		map[string]any{"reason": reason}); err != nil {
		return err
	}
	return domain.ErrInvalidToken
}

func (s *PersonalTokens) record(ctx context.Context, actor uuid.UUID, action string, outcome domain.Outcome, tokenID uuid.UUID, details map[string]any) error {
	ev := domain.NewAuditEvent(ctx, s.d.IDs.NewID(), s.d.Clock.Now(), action, outcome)
	ev.ActorID, ev.TargetType, ev.TargetID, ev.Details = &actor, "personal_access_token", tokenID.String(), details
	return s.d.Audit.Record(ctx, ev)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

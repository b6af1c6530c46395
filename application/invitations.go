package application

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// Invitations brings people into organizations by email: an org admin (or
// a system admin) invites an address with a role, the mail carries a
// single-use link, and whoever holds that mailbox accepts, signed in with
// an account whose verified address it is or by registering one through
// the link.
type Invitations struct {
	policy       *Policy
	repo         ports.InvitationRepository
	orgs         ports.OrgRepository
	members      ports.MembershipRepository
	users        ports.UserRepository
	registration *Registration
	mailbox      *Mailbox
	tx           ports.TxManager
	audit        ports.AuditLog
	clock        ports.Clock
	ids          ports.IDGenerator
	random       io.Reader
	limiter      ports.RateLimiter
	limit        ports.RateLimit
	onError      func(error)
}

// InvitationsDeps are what Invitations needs. Limiter nil, or a Limit of
// rate 0, sends invitations without limits.
type InvitationsDeps struct {
	Policy       *Policy
	Repo         ports.InvitationRepository
	Orgs         ports.OrgRepository
	Members      ports.MembershipRepository
	Users        ports.UserRepository
	Registration *Registration
	Mailbox      *Mailbox
	Tx           ports.TxManager
	Audit        ports.AuditLog
	Clock        ports.Clock
	IDs          ports.IDGenerator
	Random       io.Reader
	Limiter      ports.RateLimiter
	// Limit bounds the invitations sent (made or resent) by each inviter
	// and into each organization.
	Limit ports.RateLimit
	// OnLimiterError hears a rate limiter that failed; the invitation is
	// then sent (the limiter adapters already fall back to counting in
	// process).
	OnLimiterError func(error)
}

// NewInvitations wires invitations.
func NewInvitations(d InvitationsDeps) *Invitations {
	onError := d.OnLimiterError
	if onError == nil {
		onError = func(error) {}
	}
	return &Invitations{policy: d.Policy, repo: d.Repo, orgs: d.Orgs, members: d.Members, users: d.Users,
		registration: d.Registration, mailbox: d.Mailbox, tx: d.Tx, audit: d.Audit, clock: d.Clock, ids: d.IDs,
		random: d.Random, limiter: d.Limiter, limit: d.Limit, onError: onError}
}

// resendLimit bounds the resends of one invitation, on top of the
// inviter's and the organization's limits: a mailbox is not bombed with
// one invitation either.
var resendLimit = ports.RateLimit{Rate: 5, Period: time.Hour, Burst: 5}

// InviteInput is an invitation to send.
type InviteInput struct {
	Email string
	Role  string
	// ExpiresIn is the link's life; nil is domain.InvitationTTL.
	ExpiresIn *time.Duration
}

// Invite invites an address into the organization with a role (org admins
// and system admins, who may give any role, as they may add members) and
// mails the link. An address that belongs to a member is
// domain.ErrAlreadyMember; one with an open, unexpired invitation is
// domain.ErrInvitationPending (an expired one is replaced).
func (s *Invitations) Invite(ctx context.Context, p domain.Principal, orgID uuid.UUID, in InviteInput) (domain.Invitation, error) {
	c, org, _, err := s.policy.Org(ctx, p, orgID, MembersManage)
	if err != nil {
		return domain.Invitation{}, err
	}
	token, hash, err := s.newToken()
	if err != nil {
		return domain.Invitation{}, err
	}
	now := s.clock.Now()
	inv, err := domain.NewInvitation(domain.NewInvitationParams{ID: s.ids.NewID(), OrgID: orgID, Email: in.Email,
		Role: in.Role, TokenHash: hash, InvitedBy: c.ID(), ExpiresIn: in.ExpiresIn, Now: now})
	if err != nil {
		return domain.Invitation{}, err
	}
	if err := adminRoleByPeople(p, inv.Role); err != nil {
		return domain.Invitation{}, err
	}
	if err := s.refuseMember(ctx, orgID, inv.Email); err != nil {
		return domain.Invitation{}, err
	}
	if err := s.allow(ctx, c.ID(), orgID); err != nil {
		return domain.Invitation{}, err
	}
	err = s.tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := s.repo.DeleteExpired(ctx, orgID, inv.Email, now); err != nil {
			return err
		}
		if err := s.repo.Create(ctx, inv); err != nil {
			return err
		}
		if err := s.mailbox.invite(ctx, inv, token, org.Name, inviterName(c)); err != nil {
			return err
		}
		return s.record(ctx, c.ID(), domain.ActionInvitationCreated, inv, map[string]any{
			"email": inv.Email.String(), "role": string(inv.Role), "expires_at": inv.ExpiresAt.UTC().Format(time.RFC3339)})
	})
	return inv, err
}

// List returns the organization's open invitations (pending and expired)
// to its admins and system admins.
func (s *Invitations) List(ctx context.Context, p domain.Principal, orgID uuid.UUID, page ports.Page) ([]domain.Invitation, string, error) {
	if _, _, _, err := s.policy.Org(ctx, p, orgID, MembersManage); err != nil {
		return nil, "", err
	}
	return s.repo.Open(ctx, orgID, page)
}

// Resend mails an open invitation again with a new token (the old link
// stops working) and its first life again from now, under the inviter's,
// the organization's and the invitation's own limits.
func (s *Invitations) Resend(ctx context.Context, p domain.Principal, orgID, id uuid.UUID) (domain.Invitation, error) {
	c, org, _, err := s.policy.Org(ctx, p, orgID, MembersManage)
	if err != nil {
		return domain.Invitation{}, err
	}
	inv, err := s.repo.Get(ctx, orgID, id)
	if err != nil {
		return domain.Invitation{}, err
	}
	token, hash, err := s.newToken()
	if err != nil {
		return domain.Invitation{}, err
	}
	rn, err := inv.Renew(hash, s.clock.Now())
	if err != nil {
		return domain.Invitation{}, err
	}
	if err := s.allowResend(ctx, c.ID(), orgID, id); err != nil {
		return domain.Invitation{}, err
	}
	err = s.tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := s.repo.Renew(ctx, orgID, id, inv.TokenHash, rn); err != nil {
			return s.why(ctx, inv, err)
		}
		inv.TokenHash, inv.ExpiresAt, inv.LastSentAt = rn.TokenHash, rn.ExpiresAt, rn.SentAt
		if err := s.mailbox.invite(ctx, inv, token, org.Name, inviterName(c)); err != nil {
			return err
		}
		return s.record(ctx, c.ID(), domain.ActionInvitationResent, inv, map[string]any{
			"email": inv.Email.String(), "expires_at": inv.ExpiresAt.UTC().Format(time.RFC3339)})
	})
	return inv, err
}

// Revoke withdraws an open invitation: its link stops working.
func (s *Invitations) Revoke(ctx context.Context, p domain.Principal, orgID, id uuid.UUID) error {
	c, _, _, err := s.policy.Org(ctx, p, orgID, MembersManage)
	if err != nil {
		return err
	}
	inv, err := s.repo.Get(ctx, orgID, id)
	if err != nil {
		return err
	}
	if err := inv.CheckOpen(); err != nil {
		return err
	}
	return s.tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := s.repo.Revoke(ctx, orgID, id, s.clock.Now()); err != nil {
			return s.why(ctx, inv, err)
		}
		return s.record(ctx, c.ID(), domain.ActionInvitationRevoked, inv, map[string]any{"email": inv.Email.String()})
	})
}

// refuseMember refuses to invite the address of a member: adding them
// again means nothing, and their role is changed on the member list.
func (s *Invitations) refuseMember(ctx context.Context, orgID uuid.UUID, email domain.Email) error {
	u, err := s.users.ByLogin(ctx, email.String())
	switch {
	case errors.Is(err, domain.ErrUserNotFound):
		return nil
	case err != nil:
		return err
	}
	_, err = s.members.Get(ctx, orgID, u.ID())
	switch {
	case err == nil:
		return domain.ErrAlreadyMember
	case errors.Is(err, domain.ErrMembershipNotFound):
		return nil
	}
	return err
}

// allow counts one invitation sent by the inviter into the organization.
func (s *Invitations) allow(ctx context.Context, inviter, orgID uuid.UUID) error {
	if err := s.take(ctx, "invite:inviter:"+inviter.String(), s.limit); err != nil {
		return err
	}
	return s.take(ctx, "invite:org:"+orgID.String(), s.limit)
}

func (s *Invitations) allowResend(ctx context.Context, inviter, orgID, id uuid.UUID) error {
	if err := s.take(ctx, "invite:resend:"+id.String(), resendLimit); err != nil {
		return err
	}
	return s.allow(ctx, inviter, orgID)
}

// errInvitationsLimited refuses an invitation over a sending limit.
func errInvitationsLimited(retry time.Duration) error {
	return &domain.Error{Kind: domain.KindRateLimited, Code: "rate_limited",
		Message: "too many invitations sent; wait before sending more", RetryAfter: max(retry, time.Second)}
}

func (s *Invitations) take(ctx context.Context, key string, limit ports.RateLimit) error {
	if s.limiter == nil || s.limit.Rate <= 0 {
		return nil
	}
	d, err := s.limiter.Allow(ctx, key, limit)
	if err != nil {
		s.onError(fmt.Errorf("invitation rate limit: %w", err))
		return nil
	}
	if !d.Allowed {
		return errInvitationsLimited(d.RetryAfter)
	}
	return nil
}

// newToken makes a link's token: 256 random bits, and the hash stored.
func (s *Invitations) newToken() (string, []byte, error) {
	raw := make([]byte, 32)
	if _, err := io.ReadFull(s.random, raw); err != nil {
		return "", nil, fmt.Errorf("token randomness: %w", err)
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	return token, hashToken(token), nil
}

// why explains a guarded write the store refused: the invitation was
// accepted or revoked meanwhile (or resent, which changed its token).
func (s *Invitations) why(ctx context.Context, inv domain.Invitation, err error) error {
	if !errors.Is(err, domain.ErrConcurrentChange) {
		return err
	}
	cur, gerr := s.repo.Get(ctx, inv.OrgID, inv.ID)
	if gerr != nil {
		return gerr
	}
	if err := cur.CheckOpen(); err != nil {
		return err
	}
	return domain.ErrConcurrentChange
}

func (s *Invitations) record(ctx context.Context, actor uuid.UUID, action string, inv domain.Invitation, details map[string]any) error {
	return recordAudit(ctx, s.audit, s.ids, s.clock, actor, action, "invitation", inv.ID.String(), &inv.OrgID, details)
}

// inviterName is how the mail names who invited: their name, else their
// username.
func inviterName(c Caller) string {
	name := c.User.FirstName()
	if last := c.User.LastName(); last != "" {
		if name != "" {
			name += " "
		}
		name += last
	}
	if name == "" {
		return c.User.Username().String()
	}
	return name
}

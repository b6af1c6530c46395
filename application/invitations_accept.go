package application

import (
	"bytes"
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
)

// InvitationPreview is what the page behind a mailed link shows before
// anyone accepts.
type InvitationPreview struct {
	Invitation domain.Invitation
	OrgName    string
}

// Preview returns the acceptable invitation the token names, for the page
// the link opens; it spends nothing and records nothing, since mail
// scanners fetch links too. Unknown, expired, revoked and accepted tokens
// are their domain errors.
func (s *Invitations) Preview(ctx context.Context, token string) (InvitationPreview, error) {
	inv, err := s.find(ctx, token)
	if err != nil {
		return InvitationPreview{}, err
	}
	org, err := s.activeOrg(ctx, inv)
	if err != nil {
		return InvitationPreview{}, err
	}
	return InvitationPreview{Invitation: inv, OrgName: org.Name}, nil
}

// Accept makes the signed-in caller a member with the invited role. The
// account's verified address must be the invited one
// (domain.ErrInvitationEmailMismatch, domain.ErrInvitationEmailUnverified);
// a member already is domain.ErrAlreadyMember and leaves the invitation
// open. Of concurrent accepts of one token exactly one succeeds. Every
// refusal is audited.
func (s *Invitations) Accept(ctx context.Context, p domain.Principal, token string) (domain.Membership, error) {
	c, err := s.policy.Caller(ctx, p)
	if err != nil {
		return domain.Membership{}, err
	}
	actor := c.ID()
	inv, err := s.find(ctx, token)
	if err != nil {
		return domain.Membership{}, s.refused(ctx, &actor, inv, err)
	}
	if err := inv.CheckInvitee(c.User); err != nil {
		return domain.Membership{}, s.refused(ctx, &actor, inv, err)
	}
	if _, err := s.activeOrg(ctx, inv); err != nil {
		return domain.Membership{}, s.refused(ctx, &actor, inv, err)
	}
	var m domain.Membership
	err = s.tx.WithinTx(ctx, func(ctx context.Context) error {
		m, err = s.join(ctx, inv, actor)
		return err
	})
	if err != nil {
		return domain.Membership{}, s.refused(ctx, &actor, inv, err)
	}
	return m, nil
}

// Register accepts an invitation by creating the account: the address is
// the invitation's and counts as verified (the link reached it), and the
// rest is the sign-up's rules (username, names, password policy). The
// account and its membership commit together or not at all.
func (s *Invitations) Register(ctx context.Context, token string, in RegisterInput) (*domain.User, domain.Membership, error) {
	inv, err := s.find(ctx, token)
	if err != nil {
		return nil, domain.Membership{}, s.refused(ctx, nil, inv, err)
	}
	if _, err := s.activeOrg(ctx, inv); err != nil {
		return nil, domain.Membership{}, s.refused(ctx, nil, inv, err)
	}
	in.Email = inv.Email.String()
	var m domain.Membership
	u, err := s.registration.registerInvited(ctx, in, inv.ID, func(ctx context.Context, u *domain.User) error {
		var err error
		m, err = s.join(ctx, inv, u.ID())
		return err
	})
	if err != nil {
		if domain.KindOf(err) == domain.KindInvalid {
			// A refused password or username leaves the link usable.
			return nil, domain.Membership{}, err
		}
		return nil, domain.Membership{}, s.refused(ctx, nil, inv, err)
	}
	return u, m, nil
}

// find returns the acceptable invitation of a token. The invitation comes
// back with the error when the token names one, for the audit record.
func (s *Invitations) find(ctx context.Context, token string) (domain.Invitation, error) {
	if token == "" || len(token) > maxRefreshTokenLen {
		return domain.Invitation{}, domain.ErrInvitationNotFound
	}
	inv, err := s.repo.ByTokenHash(ctx, hashToken(token))
	if err != nil {
		return domain.Invitation{}, err
	}
	return inv, inv.CheckAcceptable(s.clock.Now())
}

// activeOrg refuses an invitation into an organization deactivated since.
func (s *Invitations) activeOrg(ctx context.Context, inv domain.Invitation) (domain.Organization, error) {
	org, err := s.orgs.ByID(ctx, inv.OrgID)
	if err != nil {
		return domain.Organization{}, err
	}
	if !org.IsActive {
		return domain.Organization{}, domain.ErrOrgNotFound
	}
	return org, nil
}

// join spends the invitation for userID and adds the membership, in the
// caller's transaction; a spend that loses a race says why.
func (s *Invitations) join(ctx context.Context, inv domain.Invitation, userID uuid.UUID) (domain.Membership, error) {
	now := s.clock.Now()
	if err := s.repo.Accept(ctx, inv.ID, inv.TokenHash, userID, now); err != nil {
		return domain.Membership{}, s.whyNotAcceptable(ctx, inv, err)
	}
	m := domain.Membership{OrgID: inv.OrgID, UserID: userID, Role: inv.Role, CreatedAt: now, UpdatedAt: now}
	if err := s.members.Add(ctx, m); err != nil {
		return domain.Membership{}, err
	}
	if err := s.record(ctx, userID, domain.ActionInvitationAccepted, inv, map[string]any{
		"email": inv.Email.String(), "role": string(inv.Role)}); err != nil {
		return domain.Membership{}, err
	}
	return m, recordAudit(ctx, s.audit, s.ids, s.clock, userID, domain.ActionMemberAdded, "user", userID.String(),
		&inv.OrgID, map[string]any{"role": string(inv.Role), "invitation_id": inv.ID.String()})
}

// whyNotAcceptable explains a lost accept: the invitation was accepted,
// revoked or resent (its old link is then unknown) meanwhile, or it
// expired.
func (s *Invitations) whyNotAcceptable(ctx context.Context, inv domain.Invitation, err error) error {
	if !errors.Is(err, domain.ErrConcurrentChange) {
		return err
	}
	cur, gerr := s.repo.Get(ctx, inv.OrgID, inv.ID)
	if gerr != nil {
		return gerr
	}
	if cur.Open() && !bytes.Equal(cur.TokenHash, inv.TokenHash) {
		return domain.ErrInvitationNotFound
	}
	if err := cur.CheckAcceptable(s.clock.Now()); err != nil {
		return err
	}
	return domain.ErrConcurrentChange
}

// refused records a refused acceptance (a client's error: its code is the
// reason) and returns err; the actor is the signed-in caller, if any.
func (s *Invitations) refused(ctx context.Context, actor *uuid.UUID, inv domain.Invitation, err error) error {
	var de *domain.Error
	if !errors.As(err, &de) || de.Kind == domain.KindInternal || de.Kind == domain.KindUnavailable {
		return err
	}
	ev := domain.NewAuditEvent(ctx, s.ids.NewID(), s.clock.Now(), domain.ActionInvitationAcceptFailed, domain.OutcomeFailure)
	ev.ActorID, ev.Details = actor, map[string]any{"reason": de.Code}
	if inv.ID != uuid.Nil {
		ev.TargetType, ev.TargetID, ev.OrgID = "invitation", inv.ID.String(), &inv.OrgID
	}
	if aerr := s.audit.Record(ctx, ev); aerr != nil {
		return aerr
	}
	return err
}

package application

import (
	"context"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// Erase deletes a user for an administrator (GDPR art. 17).
func (d *Directory) Erase(ctx context.Context, p domain.Principal, id uuid.UUID) error {
	c, err := d.policy.RequireSystemAdmin(ctx, p)
	if err != nil {
		return err
	}
	return d.erase(ctx, c.ID(), id)
}

// EraseMe deletes the caller's own account after checking the password.
func (d *Directory) EraseMe(ctx context.Context, p domain.Principal, password string) error {
	c, err := d.policy.Caller(ctx, p)
	if err != nil {
		return err
	}
	if err := d.creds.Confirm(ctx, c.User, password, "password", nil); err != nil {
		return err
	}
	return d.erase(ctx, c.ID(), c.ID())
}

// erase revokes the user's sessions (announced, so tokens die on every
// instance), deletes every row about them and pseudonymizes their audit
// trail, keeping the record that an erasure happened.
func (d *Directory) erase(ctx context.Context, actor, id uuid.UUID) error {
	now := d.clock.Now()
	var revoked []uuid.UUID
	err := d.tx.WithinTx(ctx, func(ctx context.Context) error {
		u, err := d.users.ByID(ctx, id)
		if err != nil {
			return err
		}
		if u.CountsAsSystemAdmin() {
			n, err := d.dir.CountActiveAdmins(ctx)
			if err != nil {
				return err
			}
			if err := domain.KeepSystemAdmin(n); err != nil {
				return err
			}
		}
		if err := d.keepOrgAdmins(ctx, id); err != nil {
			return err
		}
		if revoked, err = d.revoker.EndUserSessions(ctx, id, uuid.Nil, domain.RevokeByAdmin, now); err != nil {
			return err
		}
		pseudonym := d.ids.NewID()
		if err := d.personal.Erase(ctx, id, pseudonym); err != nil {
			return err
		}
		if actor == id {
			// The actor is gone too: the event names the pseudonym.
			actor = pseudonym
		}
		ev := domain.NewAuditEvent(ctx, d.ids.NewID(), d.clock.Now(), domain.ActionUserErased, domain.OutcomeSuccess)
		ev.ActorID, ev.TargetType, ev.TargetID = &actor, "user", pseudonym.String()
		// Never stored: client services (webhooks) need the id they hold.
		ev.Subject = &id
		return d.audit.Record(ctx, ev)
	})
	if err != nil {
		return err
	}
	return d.revoker.Announce(ctx, revoked, now)
}

// keepOrgAdmins refuses to erase the last admin of any organization: the
// organization would be left with nobody to manage it.
func (d *Directory) keepOrgAdmins(ctx context.Context, userID uuid.UUID) error {
	ms, err := d.members.ByUser(ctx, userID)
	if err != nil {
		return err
	}
	for _, m := range ms {
		if !m.RemovalLosesAdmin() {
			continue
		}
		n, err := d.members.LockAdmins(ctx, m.OrgID)
		if err != nil {
			return err
		}
		if err := domain.KeepOrgAdmin(n); err != nil {
			return err
		}
	}
	return nil
}

// Export returns every row held about the caller (GDPR art. 15 and 20).
// Events another actor caused about the caller keep who and what, but not
// that actor's address and user agent: those are the other person's data.
func (d *Directory) Export(ctx context.Context, p domain.Principal) (ports.UserExport, error) {
	c, err := d.policy.Caller(ctx, p)
	if err != nil {
		return ports.UserExport{}, err
	}
	ex, err := d.personal.Export(ctx, c.ID())
	if err != nil {
		return ports.UserExport{}, err
	}
	for i := range ex.AuditEvents {
		hideOtherActor(&ex.AuditEvents[i], c.ID())
	}
	if d.passkeys != nil {
		if ex.Passkeys, err = d.passkeys.ByUser(ctx, c.ID()); err != nil {
			return ports.UserExport{}, err
		}
		for i := range ex.Passkeys {
			// The credential id and public key name and verify the
			// authenticator: public data of no use to the person.
			ex.Passkeys[i].CredentialID, ex.Passkeys[i].PublicKey = nil, nil
		}
	}
	if err := recordAudit(ctx, d.audit, d.ids, d.clock, c.ID(), domain.ActionUserExported, "user", c.ID().String(), nil, nil); err != nil {
		return ports.UserExport{}, err
	}
	return ex, nil
}

// hideOtherActor blanks where an event came from unless viewer caused it.
func hideOtherActor(ev *domain.AuditEvent, viewer uuid.UUID) {
	if ev.ActorID == nil || *ev.ActorID != viewer {
		ev.IP, ev.UserAgent = "", ""
	}
}

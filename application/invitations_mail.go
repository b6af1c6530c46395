package application

import (
	"context"
	"net/url"
	"strings"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// invite queues the mail that carries an invitation's link, in the
// caller's transaction, like the account's token mails: the link opens
// the invitation page (LinkPaths.Invite) with the raw token.
func (m *Mailbox) invite(ctx context.Context, inv domain.Invitation, token, orgName, invitedBy string) error {
	link := strings.TrimRight(m.cfg.LinkBase, "/") + m.cfg.LinkPaths.Invite + "?token=" + url.QueryEscape(token)
	return m.queue(ctx, ports.MailInvitation, inv.Email.String(), ports.MailData{Link: link, Token: token,
		ExpiresIn: inv.ExpiresAt.Sub(inv.LastSentAt), OrgName: orgName, Role: string(inv.Role), InvitedBy: invitedBy})
}

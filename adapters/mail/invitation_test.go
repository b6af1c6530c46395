package mail_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/ports"
)

func invitationData() ports.MailData {
	return ports.MailData{Link: "https://ums.example.com/ui/invitations/accept?token=tok123&x=1", Token: "tok123",
		ExpiresIn: 7 * 24 * time.Hour, OrgName: "Lab North", Role: "viewer", InvitedBy: "Grace Hopper"}
}

func TestComposerInvitation(t *testing.T) {
	c := newComposer(t)
	d := invitationData()
	m, err := c.Compose(ports.MailInvitation, "new.colleague@example.com", d)
	require.NoError(t, err)
	assert.Equal(t, "new.colleague@example.com", m.To)
	assert.Equal(t, "Grace Hopper invited you to join Lab North on Acme UMS", m.Subject)
	assert.Contains(t, m.Text, "Grace Hopper invited you to join Lab North on Acme UMS as viewer.")
	assert.Contains(t, m.Text, "\n"+d.Link+"\n", "the link on a line of its own")
	assert.Contains(t, m.Text, "works for 7 days and only once")
	assert.Contains(t, m.HTML, `href="https://ums.example.com/ui/invitations/accept?token=tok123&amp;x=1"`)
	assert.Contains(t, m.HTML, "<strong>Lab North</strong>")
	assert.Contains(t, m.HTML, "works for 7 days")
	for _, body := range []string{m.Text, m.HTML} {
		assert.NotContains(t, body, "<no value>")
		assert.NotContains(t, body, "ZgotmplZ")
	}
}

// An organization's name and an inviter's name are chosen by people: in
// the HTML part they are text, and the subject stays one line.
func TestComposerInvitationEscapes(t *testing.T) {
	c := newComposer(t)
	d := invitationData()
	d.OrgName = `<img src=x onerror=alert(1)>` + "\r\nBcc: victim@example.com"
	d.InvitedBy = `<script>alert("x")</script>`
	m, err := c.Compose(ports.MailInvitation, "new.colleague@example.com", d)
	require.NoError(t, err)
	assert.NotContains(t, m.HTML, "<img")
	assert.NotContains(t, m.HTML, "<script>")
	assert.Contains(t, m.HTML, "&lt;script&gt;")
	assert.NotContains(t, m.Subject, "\n")
	assert.NotContains(t, m.Subject, "\r")
}

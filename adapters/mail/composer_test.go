package mail_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/adapters/mail"
	"github.com/ums-project/ums/ports"
)

var allKinds = []ports.MailKind{
	ports.MailVerifyEmail, ports.MailPasswordReset, ports.MailPasswordChanged, ports.MailEmailChanging, ports.MailMFAEnabled, ports.MailMFADisabled,
}

func newComposer(t *testing.T) *mail.Composer {
	t.Helper()
	c, err := mail.NewComposer("Acme UMS")
	require.NoError(t, err)
	return c
}

func sampleData() ports.MailData {
	return ports.MailData{
		Username:  "ada",
		Link:      "https://ums.example.com/verify?token=tok123&x=1",
		Token:     "tok123",
		NewEmail:  "ada.new@example.com",
		ExpiresIn: 24 * time.Hour,
	}
}

func TestComposerRendersEveryKind(t *testing.T) {
	c := newComposer(t)
	for _, kind := range allKinds {
		t.Run(string(kind), func(t *testing.T) {
			m, err := c.Compose(kind, "ada@example.com", sampleData())
			require.NoError(t, err)
			assert.Equal(t, "ada@example.com", m.To)
			assert.NotEmpty(t, m.Subject)
			assert.Contains(t, m.Subject, "Acme UMS")
			assert.NotContains(t, m.Subject, "\n")
			assert.Contains(t, m.Text, "Hi ada,")
			assert.Contains(t, m.HTML, "Hi ada,")
			assert.Contains(t, m.Text, "Acme UMS")
			assert.True(t, strings.HasPrefix(m.HTML, "<!DOCTYPE html>"), m.HTML)
			assert.Contains(t, m.HTML, "<title>"+m.Subject+"</title>")
			assert.NotContains(t, m.Text, "<no value>")
			assert.NotContains(t, m.HTML, "<no value>")
			assert.NotContains(t, m.HTML, "ZgotmplZ")
		})
	}
}

func TestComposerLinksAndExpiry(t *testing.T) {
	c := newComposer(t)
	for _, kind := range []ports.MailKind{ports.MailVerifyEmail, ports.MailPasswordReset} {
		t.Run(string(kind), func(t *testing.T) {
			d := sampleData()
			m, err := c.Compose(kind, "ada@example.com", d)
			require.NoError(t, err)
			assert.Contains(t, m.Text, "\n"+d.Link+"\n", "the link on a line of its own")
			assert.Contains(t, m.Text, "works for 24 hours")
			assert.Contains(t, m.HTML, `href="https://ums.example.com/verify?token=tok123&amp;x=1"`)
			assert.Contains(t, m.HTML, "works for 24 hours")

			d.ExpiresIn = time.Hour
			m, err = c.Compose(kind, "ada@example.com", d)
			require.NoError(t, err)
			assert.Contains(t, m.Text, "works for 1 hour and")
			assert.Contains(t, m.HTML, "works for 1 hour and")

			d.ExpiresIn = 0
			m, err = c.Compose(kind, "ada@example.com", d)
			require.NoError(t, err)
			assert.NotContains(t, m.Text, "works for")
			assert.NotContains(t, m.Text, "\n\n\n", "no blank gap where the sentence was")
		})
	}
}

func TestComposerMessagesSayWhatHappened(t *testing.T) {
	c := newComposer(t)

	reset, err := c.Compose(ports.MailPasswordReset, "ada@example.com", sampleData())
	require.NoError(t, err)
	assert.Contains(t, reset.Subject, "password")

	changed, err := c.Compose(ports.MailPasswordChanged, "ada@example.com", ports.MailData{Username: "ada"})
	require.NoError(t, err)
	assert.Contains(t, changed.Text, "If this wasn't you, reset your password")
	assert.Contains(t, changed.HTML, "If this wasn't you, reset your password")
	assert.NotContains(t, changed.HTML, "<a ", "no link given, none shown")

	withLink, err := c.Compose(ports.MailPasswordChanged, "ada@example.com",
		ports.MailData{Username: "ada", Link: "https://ums.example.com/forgot"})
	require.NoError(t, err)
	assert.Contains(t, withLink.Text, "https://ums.example.com/forgot")
	assert.Contains(t, withLink.HTML, `href="https://ums.example.com/forgot"`)

	changing, err := c.Compose(ports.MailEmailChanging, "ada.old@example.com", sampleData())
	require.NoError(t, err)
	assert.Equal(t, "ada.old@example.com", changing.To, "goes to the old address")
	assert.Contains(t, changing.Text, "ada.new@example.com")
	assert.Contains(t, changing.HTML, "ada.new@example.com")
	assert.Contains(t, changing.Text, "only once the new address is verified")
	assert.NotContains(t, changing.Text, "token=", "the verification link is for the new address only")
}

func TestComposerEscapesHTML(t *testing.T) {
	c := newComposer(t)
	d := sampleData()
	d.Username = `<script>alert("x")</script>`
	d.NewEmail = `"><img src=x onerror=alert(1)>@example.com`
	d.Link = `javascript:alert(1)`
	for _, kind := range allKinds {
		m, err := c.Compose(kind, "ada@example.com", d)
		require.NoError(t, err, kind)
		assert.NotContains(t, m.HTML, "<script>", kind)
		assert.NotContains(t, m.HTML, "<img", kind)
		assert.NotContains(t, m.HTML, `href="javascript:`, kind)
		assert.Contains(t, m.HTML, "&lt;script&gt;", kind)
		assert.Contains(t, m.Text, `<script>alert("x")</script>`, "plain text is not escaped")
	}
}

func TestComposerWithoutUsername(t *testing.T) {
	c := newComposer(t)
	m, err := c.Compose(ports.MailVerifyEmail, "ada@example.com", ports.MailData{Link: "https://x.example/v"})
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(m.Text, "Hi,\n"), m.Text)
}

func TestComposerUnknownKind(t *testing.T) {
	c := newComposer(t)
	_, err := c.Compose("welcome_aboard", "ada@example.com", sampleData())
	assert.ErrorContains(t, err, "welcome_aboard")
}

func TestNewComposerNeedsAProductName(t *testing.T) {
	_, err := mail.NewComposer("  ")
	assert.Error(t, err)
}

func TestComposerSubjectIsOneLine(t *testing.T) {
	c, err := mail.NewComposer("Acme\r\nBcc: victim@example.com")
	require.NoError(t, err)
	m, err := c.Compose(ports.MailVerifyEmail, "ada@example.com", sampleData())
	require.NoError(t, err)
	assert.NotContains(t, m.Subject, "\r")
	assert.NotContains(t, m.Subject, "\n")
}

package mailtest_test

import (
	"net/smtp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/test/mailtest"
)

const nested = "From: Sender <sender@example.com>\r\n" +
	"To: ada@example.com\r\n" +
	"Subject: =?UTF-8?q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=outer\r\n" +
	"\r\n" +
	"--outer\r\n" +
	"Content-Type: multipart/alternative; boundary=inner\r\n" +
	"\r\n" +
	"--inner\r\n" +
	"Content-Type: text/plain; charset=UTF-8\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"SGFsbG8gWm/DqywKCmxpbms6IGh0dHBzOi8vZXhhbXBsZS5jb20vP3Rva2VuPWFiYwo=\r\n" +
	"--inner\r\n" +
	"Content-Type: text/html; charset=UTF-8\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"<p>Hallo Zo=C3=AB, <a href=3D\"https://example.com/?token=3Dabc\">link</a> with=\r\n" +
	" a soft break</p>\r\n" +
	"--inner--\r\n" +
	"--outer\r\n" +
	"Content-Type: application/octet-stream\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"AAEC\r\n" +
	"--outer--\r\n"

func TestServerParsesNestedMultipart(t *testing.T) {
	srv := mailtest.Start(t)
	require.NoError(t, smtp.SendMail(srv.Addr(), nil, "sender@example.com", []string{"ada@example.com"}, []byte(nested)))

	m := srv.WaitFor(t, mailtest.To("ADA@example.com"), 5*time.Second)
	require.NoError(t, m.ParseErr)
	assert.Equal(t, "sender@example.com", m.From)
	assert.Equal(t, []string{"ada@example.com"}, m.To)
	assert.Equal(t, "Grüße aus Köln", m.Subject)
	assert.Equal(t, "Hallo Zoë,\n\nlink: https://example.com/?token=abc\n", m.Text)
	assert.Equal(t, "<p>Hallo Zoë, <a href=\"https://example.com/?token=abc\">link</a> with a soft break</p>", m.HTML)
	assert.Equal(t, "Sender <sender@example.com>", m.Header.Get("From"))
	assert.Equal(t, []byte(nested), m.Raw)
	assert.Empty(t, m.AuthUser)
}

func TestServerSinglePartAndAuth(t *testing.T) {
	srv := mailtest.Start(t)
	body := "Subject: plain\r\n\r\nline one\r\nline two\r\n"
	auth := smtp.PlainAuth("", "someone", "anything", srv.Host())
	require.NoError(t, smtp.SendMail(srv.Addr(), auth, "a@example.com", []string{"b@example.com", "c@example.com"}, []byte(body)))

	msgs := srv.Messages()
	require.Len(t, msgs, 1)
	assert.Equal(t, "plain", msgs[0].Subject)
	assert.Equal(t, "line one\r\nline two\r\n", msgs[0].Text)
	assert.Empty(t, msgs[0].HTML)
	assert.Equal(t, []string{"b@example.com", "c@example.com"}, msgs[0].To)
	assert.Equal(t, "someone", msgs[0].AuthUser)
}

func TestServerRejectsOnRequest(t *testing.T) {
	srv := mailtest.Start(t)
	err := smtp.SendMail(srv.Addr(), nil, "a@example.com", []string{"reject+x@example.com"}, []byte("Subject: x\r\n\r\nx\r\n"))
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "550"), err.Error())

	err = smtp.SendMail(srv.Addr(), nil, "a@example.com", []string{"tempfail@example.com"}, []byte("Subject: x\r\n\r\nx\r\n"))
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "451"), err.Error())
	assert.Empty(t, srv.Messages())
}

func TestWaitForWaitsForLateMessages(t *testing.T) {
	srv := mailtest.Start(t)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		time.Sleep(100 * time.Millisecond)
		_ = smtp.SendMail(srv.Addr(), nil, "a@example.com", []string{"late@example.com"}, []byte("Subject: late\r\n\r\nx\r\n"))
	}()
	m := srv.WaitFor(t, func(m mailtest.Message) bool { return m.Subject == "late" }, 5*time.Second)
	assert.Equal(t, []string{"late@example.com"}, m.To)
	wg.Wait()
}

func TestAddressParts(t *testing.T) {
	srv := mailtest.Start(t)
	assert.Equal(t, "127.0.0.1", srv.Host())
	assert.NotZero(t, srv.Port())
	assert.True(t, strings.HasPrefix(srv.Addr(), "127.0.0.1:"))
}

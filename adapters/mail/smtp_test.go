package mail_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/adapters/mail"
	"github.com/ums-project/ums/ports"
	"github.com/ums-project/ums/test/mailtest"
)

func plainConfig(srv *mailtest.Server) mail.SMTPConfig {
	return mail.SMTPConfig{
		Host: srv.Host(), Port: srv.Port(), From: "Acme UMS <no-reply@acme.example>",
		TLS: mail.TLSNone, Timeout: 5 * time.Second, HELO: "ums.acme.example",
	}
}

func TestSMTPMailerDelivers(t *testing.T) {
	srv := mailtest.Start(t)
	m, err := mail.NewSMTPMailer(plainConfig(srv))
	require.NoError(t, err)

	c := newComposer(t)
	d := sampleData()
	d.Username = "Zoë <b>"
	msg, err := c.Compose(ports.MailPasswordReset, "ada@example.com", d)
	require.NoError(t, err)
	require.NoError(t, m.Send(context.Background(), msg))

	got := srv.WaitFor(t, mailtest.To("ada@example.com"), 5*time.Second)
	require.NoError(t, got.ParseErr)
	assert.Equal(t, "no-reply@acme.example", got.From)
	assert.Equal(t, []string{"ada@example.com"}, got.To)
	assert.Equal(t, msg.Subject, got.Subject)
	assert.Equal(t, normalizeNewlines(msg.Text), normalizeNewlines(got.Text))
	assert.Equal(t, normalizeNewlines(msg.HTML), normalizeNewlines(got.HTML))
	assert.Equal(t, `"Acme UMS" <no-reply@acme.example>`, got.Header.Get("From"))
	assert.Equal(t, "<ada@example.com>", got.Header.Get("To"))
	assert.True(t, strings.HasSuffix(got.Header.Get("Message-Id"), "@acme.example>"), got.Header.Get("Message-Id"))
	assert.NotEmpty(t, got.Header.Get("Date"))
	assert.Equal(t, "auto-generated", got.Header.Get("Auto-Submitted"))
	assert.NotContains(t, got.Header.Get("X-Mailer"), "go-mail")
	assert.Contains(t, got.Header.Get("Content-Type"), "multipart/alternative")
	assert.Empty(t, got.AuthUser, "no AUTH without a username")
}

func TestSMTPMailerTextOnly(t *testing.T) {
	srv := mailtest.Start(t)
	m, err := mail.NewSMTPMailer(plainConfig(srv))
	require.NoError(t, err)
	require.NoError(t, m.Send(context.Background(),
		ports.Mail{To: "bob@example.com", Subject: "Hello", Text: "Just text.\n"}))

	got := srv.WaitFor(t, mailtest.To("bob@example.com"), 5*time.Second)
	require.NoError(t, got.ParseErr)
	assert.Equal(t, "Just text.\n", normalizeNewlines(got.Text))
	assert.Empty(t, got.HTML)
	assert.NotContains(t, got.Header.Get("Content-Type"), "multipart")
}

func TestSMTPMailerAuthenticates(t *testing.T) {
	srv := mailtest.Start(t)
	cfg := plainConfig(srv)
	cfg.Username, cfg.Password = "mailer", "s3cret-pw"
	m, err := mail.NewSMTPMailer(cfg)
	require.NoError(t, err)
	require.NoError(t, m.Send(context.Background(),
		ports.Mail{To: "carol@example.com", Subject: "Hi", Text: "x"}))
	got := srv.WaitFor(t, mailtest.To("carol@example.com"), 5*time.Second)
	assert.Equal(t, "mailer", got.AuthUser)
}

func TestSMTPMailerPermanentAndTemporaryRejections(t *testing.T) {
	srv := mailtest.Start(t)
	cfg := plainConfig(srv)
	cfg.Password, cfg.Username = "s3cret-pw", "mailer"
	m, err := mail.NewSMTPMailer(cfg)
	require.NoError(t, err)

	err = m.Send(context.Background(), ports.Mail{To: "reject@example.com", Subject: "x", Text: "x"})
	require.Error(t, err)
	assert.True(t, mail.IsPermanent(err), "550 is permanent: %v", err)
	assert.Contains(t, err.Error(), "550")
	assert.NotContains(t, err.Error(), "s3cret-pw")

	err = m.Send(context.Background(), ports.Mail{To: "tempfail@example.com", Subject: "x", Text: "x"})
	require.Error(t, err)
	assert.False(t, mail.IsPermanent(err), "451 is worth retrying: %v", err)
	assert.NotContains(t, err.Error(), "s3cret-pw")

	err = m.Send(context.Background(), ports.Mail{To: "not an address", Subject: "x", Text: "x"})
	require.Error(t, err)
	assert.True(t, mail.IsPermanent(err), "an address that does not parse never will: %v", err)

	assert.Empty(t, srv.Messages())
	assert.False(t, mail.IsPermanent(nil))
	assert.False(t, mail.IsPermanent(errors.New("dial tcp: connection refused")))
}

func TestSMTPMailerRefusesToSendWithoutRequiredTLS(t *testing.T) {
	srv := mailtest.Start(t) // plain only: no STARTTLS, no TLS
	for _, mode := range []string{mail.TLSStartTLS, mail.TLSImplicit} {
		t.Run(mode, func(t *testing.T) {
			cfg := plainConfig(srv)
			cfg.TLS = mode
			cfg.Timeout = 2 * time.Second
			m, err := mail.NewSMTPMailer(cfg)
			require.NoError(t, err)
			err = m.Send(context.Background(), ports.Mail{To: "dave@example.com", Subject: "x", Text: "x"})
			require.Error(t, err)
			assert.False(t, mail.IsPermanent(err))
		})
	}
	assert.Empty(t, srv.Messages(), "nothing went out in the clear")
}

// silentListener accepts connections and never says a word.
func silentListener(t *testing.T) *net.TCPAddr {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var (
		mu    sync.Mutex
		conns []net.Conn
		done  = make(chan struct{})
	)
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().(*net.TCPAddr)
}

func TestSMTPMailerTimesOut(t *testing.T) {
	addr := silentListener(t)
	m, err := mail.NewSMTPMailer(mail.SMTPConfig{
		Host: addr.IP.String(), Port: addr.Port, From: "no-reply@acme.example",
		TLS: mail.TLSNone, Timeout: 300 * time.Millisecond,
	})
	require.NoError(t, err)

	start := time.Now()
	err = m.Send(context.Background(), ports.Mail{To: "ada@example.com", Subject: "x", Text: "x"})
	elapsed := time.Since(start)
	require.Error(t, err)
	assert.False(t, mail.IsPermanent(err))
	assert.Less(t, elapsed, 3*time.Second, "bounded by the timeout, took %s", elapsed)
	assert.GreaterOrEqual(t, elapsed, 250*time.Millisecond)
}

func TestSMTPMailerStopsWhenTheContextEnds(t *testing.T) {
	addr := silentListener(t)
	m, err := mail.NewSMTPMailer(mail.SMTPConfig{
		Host: addr.IP.String(), Port: addr.Port, From: "no-reply@acme.example",
		TLS: mail.TLSNone, Timeout: time.Minute,
	})
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = m.Send(ctx, ports.Mail{To: "ada@example.com", Subject: "x", Text: "x"})
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 5*time.Second)
}

func TestNewSMTPMailerChecksConfig(t *testing.T) {
	ok := mail.SMTPConfig{Host: "smtp.example.com", From: "no-reply@example.com"}
	for name, tc := range map[string]struct {
		mutate func(*mail.SMTPConfig)
		want   string
	}{
		"no host":           {func(c *mail.SMTPConfig) { c.Host = "" }, "host"},
		"bad from":          {func(c *mail.SMTPConfig) { c.From = "nobody" }, "from"},
		"bad tls":           {func(c *mail.SMTPConfig) { c.TLS = "ssl3" }, "TLS"},
		"bad port":          {func(c *mail.SMTPConfig) { c.Port = 70000 }, "port"},
		"negative timeout":  {func(c *mail.SMTPConfig) { c.Timeout = -time.Second }, "timeout"},
		"password, no user": {func(c *mail.SMTPConfig) { c.Password = "hunter2" }, "username"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := ok
			tc.mutate(&cfg)
			_, err := mail.NewSMTPMailer(cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "hunter2")
		})
	}
	_, err := mail.NewSMTPMailer(ok)
	assert.NoError(t, err, "port and TLS mode have defaults")
}

func TestSMTPConfigDoesNotPrintThePassword(t *testing.T) {
	cfg := mail.SMTPConfig{Host: "smtp.example.com", Username: "u", Password: "hunter2"}
	for _, s := range []string{fmt.Sprint(cfg), fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg)} {
		assert.NotContains(t, s, "hunter2")
		assert.Contains(t, s, "[redacted]")
	}
}

func normalizeNewlines(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

// scriptedServer accepts the message but refuses RSET and hangs up on
// QUIT, as some relays do; it counts the messages it accepted.
func scriptedServer(t *testing.T) (*net.TCPAddr, func() int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var (
		mu       sync.Mutex
		accepted int
		wg       sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				tp := textproto.NewConn(c)
				_ = tp.PrintfLine("220 scripted ESMTP")
				for {
					line, err := tp.ReadLine()
					if err != nil {
						return
					}
					verb := strings.ToUpper(strings.Fields(line + " x")[0])
					switch verb {
					case "EHLO":
						_ = tp.PrintfLine("250-scripted")
						_ = tp.PrintfLine("250 8BITMIME")
					case "DATA":
						_ = tp.PrintfLine("354 go ahead")
						if _, err := tp.ReadDotBytes(); err != nil {
							return
						}
						mu.Lock()
						accepted++
						mu.Unlock()
						_ = tp.PrintfLine("250 2.0.0 queued")
					case "RSET":
						_ = tp.PrintfLine("502 5.5.1 RSET not implemented")
					case "QUIT":
						return // hang up without a reply
					default:
						_ = tp.PrintfLine("250 ok")
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { _ = ln.Close(); wg.Wait() })
	return ln.Addr().(*net.TCPAddr), func() int { mu.Lock(); defer mu.Unlock(); return accepted }
}

func TestSMTPMailerCountsAcceptedDataAsSent(t *testing.T) {
	addr, accepted := scriptedServer(t)
	m, err := mail.NewSMTPMailer(mail.SMTPConfig{
		Host: addr.IP.String(), Port: addr.Port, From: "no-reply@acme.example",
		TLS: mail.TLSNone, Timeout: 2 * time.Second,
	})
	require.NoError(t, err)
	err = m.Send(context.Background(), ports.Mail{To: "ada@example.com", Subject: "x", Text: "x"})
	assert.NoError(t, err, "the server took the message; a failing RSET or QUIT must not cause a resend")
	assert.Equal(t, 1, accepted())
}

package mail

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/ums-project/ums/ports"
)

// TLS modes of SMTPConfig.
const (
	// TLSStartTLS connects in plain text and requires the server to upgrade
	// with STARTTLS before anything else is sent (submission, port 587).
	TLSStartTLS = "starttls"
	// TLSImplicit speaks TLS from the first byte (submissions, port 465).
	TLSImplicit = "tls"
	// TLSNone never encrypts; for a relay on the same host or network and
	// for tests. Credentials are still refused over it unless the server
	// is on localhost.
	TLSNone = "none"
)

// DefaultSMTPTimeout bounds each dial and each command exchange when
// SMTPConfig.Timeout is zero.
const DefaultSMTPTimeout = 10 * time.Second

// SMTPConfig says how to reach the mail server.
type SMTPConfig struct {
	Host string
	// Port defaults to 587 for "starttls", 465 for "tls" and 25 for "none".
	Port     int
	Username string
	// Password is used only with Username. It is never part of an error or
	// of the config's String form.
	Password string
	// From is the sender address, optionally with a display name:
	// "UMS <no-reply@example.com>".
	From string
	// TLS is "starttls" (the default), "tls" or "none".
	TLS string
	// Timeout bounds the dial and each command exchange of one Send;
	// DefaultSMTPTimeout when zero.
	Timeout time.Duration
	// HELO is the name given in EHLO; the local host name when empty.
	HELO string
}

// String describes the config with the password redacted, so logging it
// by accident does not leak the password.
func (c SMTPConfig) String() string {
	pw := ""
	if c.Password != "" {
		pw = "[redacted]"
	}
	return fmt.Sprintf("SMTPConfig{Host:%s Port:%d Username:%s Password:%s From:%s TLS:%s Timeout:%s HELO:%s}",
		c.Host, c.Port, c.Username, pw, c.From, c.TLS, c.Timeout, c.HELO)
}

// GoString keeps %#v from printing the password either.
func (c SMTPConfig) GoString() string { return c.String() }

// SMTPMailer delivers mail to an SMTP server with github.com/wneessen/go-mail.
// Each Send is one connection and one delivery attempt; retrying is the
// outbox worker's job.
type SMTPMailer struct {
	cfg  SMTPConfig
	from string
}

var _ ports.Mailer = (*SMTPMailer)(nil)

// NewSMTPMailer checks cfg and returns a mailer; it does not connect.
func NewSMTPMailer(cfg SMTPConfig) (*SMTPMailer, error) {
	cfg.Host = strings.TrimSpace(cfg.Host)
	if cfg.Host == "" {
		return nil, errors.New("smtp: host is empty")
	}
	cfg.TLS = strings.ToLower(strings.TrimSpace(cfg.TLS))
	if cfg.TLS == "" {
		cfg.TLS = TLSStartTLS
	}
	if cfg.Port == 0 {
		switch cfg.TLS {
		case TLSStartTLS:
			cfg.Port = 587
		case TLSImplicit:
			cfg.Port = 465
		case TLSNone:
			cfg.Port = 25
		}
	}
	switch cfg.TLS {
	case TLSStartTLS, TLSImplicit, TLSNone:
	default:
		return nil, fmt.Errorf("smtp: TLS mode %q is not one of starttls, tls, none", cfg.TLS)
	}
	if cfg.Port < 1 || cfg.Port > 65535 {
		return nil, fmt.Errorf("smtp: port %d is out of range", cfg.Port)
	}
	if cfg.Timeout < 0 {
		return nil, errors.New("smtp: timeout is negative")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultSMTPTimeout
	}
	if cfg.Password != "" && cfg.Username == "" {
		return nil, errors.New("smtp: password is set without a username")
	}
	from, err := netmail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("smtp: from address %q is invalid", cfg.From)
	}
	m := &SMTPMailer{cfg: cfg, from: from.String()}
	// Build a client once so a bad option fails here rather than on the
	// first Send.
	if _, err := m.client(); err != nil {
		return nil, err
	}
	return m, nil
}

// Send implements ports.Mailer. A 5xx reply to the message (sender,
// recipient or content refused) is permanent: IsPermanent reports it, and
// sending the same message again will not help. Anything else, including
// connection, TLS and authentication failures, is worth retrying.
func (m *SMTPMailer) Send(ctx context.Context, mail ports.Mail) error {
	msg, err := m.message(mail)
	if err != nil {
		return err
	}
	// The connection is closed when ctx ends, so a cancelled Send does not
	// wait for the I/O timeout. go-mail dials on this goroutine.
	stop := func() bool { return false }
	dial := func(dctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := m.dial(dctx, network, addr)
		if err != nil {
			return nil, err
		}
		stop()
		stop = context.AfterFunc(ctx, func() { _ = conn.Close() })
		return conn, nil
	}
	c, err := m.client(gomail.WithDialContextFunc(dial))
	if err != nil {
		return err
	}
	err = c.DialAndSendWithContext(ctx, msg)
	stop()
	if err == nil || msg.IsDelivered() {
		// Once the server accepted the data, a failing RSET or QUIT
		// afterwards must not make the outbox send the message again.
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("smtp: send to %s:%d: %w (%v)", m.cfg.Host, m.cfg.Port, ctxErr, err)
	}
	var sendErr *gomail.SendError
	if errors.As(err, &sendErr) && sendErr.ErrorCode() >= 500 && sendErr.ErrorCode() < 600 {
		return &permanentError{err: fmt.Errorf("smtp: send to %s:%d: %w", m.cfg.Host, m.cfg.Port, err)}
	}
	return fmt.Errorf("smtp: send to %s:%d: %w", m.cfg.Host, m.cfg.Port, err)
}

func (m *SMTPMailer) message(mail ports.Mail) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	if err := msg.From(m.from); err != nil {
		return nil, &permanentError{err: fmt.Errorf("smtp: from address: %w", err)}
	}
	if err := msg.To(mail.To); err != nil {
		// An address that does not parse will not parse next time either.
		return nil, &permanentError{err: fmt.Errorf("smtp: recipient address: %w", err)}
	}
	msg.Subject(mail.Subject)
	msg.SetDate()
	// go-mail otherwise names itself and its version in two headers.
	msg.SetUserAgent("UMS")
	// RFC 3834: keeps vacation responders from answering a robot.
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	msg.SetMessageIDWithValue(messageID(m.from))
	msg.SetBodyString(gomail.TypeTextPlain, mail.Text)
	if mail.HTML != "" {
		msg.AddAlternativeString(gomail.TypeTextHTML, mail.HTML)
	}
	return msg, nil
}

// client builds a go-mail client for one Send; go-mail clients keep
// per-connection state, so they are not shared between Sends.
func (m *SMTPMailer) client(extra ...gomail.Option) (*gomail.Client, error) {
	opts := []gomail.Option{
		gomail.WithPort(m.cfg.Port),
		gomail.WithTimeout(m.cfg.Timeout),
		gomail.WithTLSConfig(m.tlsConfig()),
	}
	switch m.cfg.TLS {
	case TLSStartTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSImplicit:
		opts = append(opts, gomail.WithSSL(), gomail.WithTLSPolicy(gomail.NoTLS))
	case TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	}
	if m.cfg.HELO != "" {
		opts = append(opts, gomail.WithHELO(m.cfg.HELO))
	}
	if m.cfg.Username != "" {
		// PLAIN or LOGIN, whichever the server offers; go-mail refuses both
		// over an unencrypted connection unless the server is localhost.
		opts = append(opts,
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(m.cfg.Username),
			gomail.WithPassword(m.cfg.Password))
	}
	c, err := gomail.NewClient(m.cfg.Host, append(opts, extra...)...)
	if err != nil {
		// go-mail's option errors name the option, never its value.
		return nil, fmt.Errorf("smtp: configure client: %w", err)
	}
	return c, nil
}

// dial connects, with TLS from the start in implicit mode. The *tls.Conn is
// returned as is: go-mail's SMTP client looks at the connection's type to
// know it is encrypted before it will send credentials.
func (m *SMTPMailer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: m.cfg.Timeout}
	if m.cfg.TLS == TLSImplicit {
		td := &tls.Dialer{NetDialer: d, Config: m.tlsConfig()}
		return td.DialContext(ctx, network, addr)
	}
	return d.DialContext(ctx, network, addr)
}

func (m *SMTPMailer) tlsConfig() *tls.Config {
	return &tls.Config{ServerName: m.cfg.Host, MinVersion: tls.VersionTLS12}
}

// messageID makes a Message-ID in the sender's domain.
func messageID(from string) string {
	domain := "localhost"
	if a, err := netmail.ParseAddress(from); err == nil {
		if i := strings.LastIndexByte(a.Address, '@'); i >= 0 && i+1 < len(a.Address) {
			domain = a.Address[i+1:]
		}
	}
	b := make([]byte, 12)
	_, _ = rand.Read(b) // crypto/rand.Read does not fail
	return strconv.FormatInt(time.Now().UnixNano(), 36) + "." + hex.EncodeToString(b) + "@" + domain
}

// permanentError marks a failure that retrying will not fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// IsPermanent reports whether err, from SMTPMailer.Send, is a permanent
// failure: the server refused the message with a 5xx reply, or the message
// cannot be built. The outbox gives up on such a message instead of trying
// again.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

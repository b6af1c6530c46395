// Package mailtest runs a real SMTP server in the test process
// (github.com/emersion/go-smtp on a loopback port) and keeps what it
// receives, so tests can check the mail UMS sends end to end.
//
// The server speaks plain SMTP (no TLS), offers AUTH PLAIN and accepts any
// credentials, or none. Recipients it refuses on purpose:
//
//   - a local part starting with "reject" (reject@example.com,
//     reject+1@example.com) gets 550, a permanent failure;
//   - a local part starting with "tempfail" gets 451, a temporary one.
package mailtest

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Message is one message the server accepted.
type Message struct {
	From string
	To   []string
	// Raw is the message as received after DATA.
	Raw []byte
	// Subject is the decoded Subject header.
	Subject string
	// Text and HTML are the decoded text/plain and text/html parts (or the
	// whole body of a single-part message of that type).
	Text string
	HTML string
	// AuthUser is the user name given with AUTH PLAIN, "" without AUTH.
	AuthUser string
	// Header is the parsed top-level header.
	Header mail.Header
	// ParseErr is set when Raw could not be parsed as a MIME message.
	ParseErr error
}

// Server is a running test SMTP server.
type Server struct {
	srv  *smtp.Server
	ln   net.Listener
	done chan struct{}

	mu       sync.Mutex
	messages []Message
	changed  chan struct{} // closed and replaced on every new message
}

// Start listens on 127.0.0.1 on a free port and serves until t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mailtest: listen: %v", err)
	}
	s := &Server{ln: ln, done: make(chan struct{}), changed: make(chan struct{})}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &session{server: s}, nil
	}))
	srv.Domain = "mailtest.localhost"
	srv.AllowInsecureAuth = true
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	srv.MaxMessageBytes = 10 << 20
	srv.MaxRecipients = 100
	// Clients that hang up mid-session are normal in tests; go-smtp would
	// report each on stderr.
	srv.ErrorLog = log.New(io.Discard, "", 0)
	s.srv = srv
	go func() {
		defer close(s.done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(s.Close)
	return s
}

// Close stops the server; Start registers it with t.Cleanup.
func (s *Server) Close() {
	_ = s.srv.Close()
	// A Close that comes before Serve registered the listener leaves Serve
	// running; closing the listener ends it either way.
	_ = s.ln.Close()
	<-s.done
}

// Addr is the host:port the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Host is the IP address the server listens on.
func (s *Server) Host() string { return s.ln.Addr().(*net.TCPAddr).IP.String() }

// Port is the TCP port the server listens on.
func (s *Server) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// Messages returns a copy of every message received so far, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// WaitFor returns the first message match accepts, waiting up to timeout
// for it to arrive; it fails t when none does.
func (s *Server) WaitFor(t testing.TB, match func(Message) bool, timeout time.Duration) Message {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		for _, m := range s.messages {
			if match(m) {
				s.mu.Unlock()
				return m
			}
		}
		changed := s.changed
		n := len(s.messages)
		s.mu.Unlock()
		select {
		case <-changed:
		case <-deadline.C:
			t.Fatalf("mailtest: no matching message within %s (%d received)", timeout, n)
			return Message{}
		}
	}
}

// To matches a message addressed to addr (case-insensitive).
func To(addr string) func(Message) bool {
	return func(m Message) bool {
		for _, r := range m.To {
			if strings.EqualFold(r, addr) {
				return true
			}
		}
		return false
	}
}

func (s *Server) add(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = append(s.messages, m)
	close(s.changed)
	s.changed = make(chan struct{})
}

type session struct {
	server   *Server
	authUser string
	from     string
	to       []string
}

var _ smtp.AuthSession = (*session)(nil)

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, _ string) error {
		s.authUser = username
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	local := strings.ToLower(to)
	if i := strings.LastIndexByte(local, '@'); i >= 0 {
		local = local[:i]
	}
	switch {
	case strings.HasPrefix(local, "reject"):
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "mailbox unavailable"}
	case strings.HasPrefix(local, "tempfail"):
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := Message{From: s.from, To: append([]string(nil), s.to...), Raw: raw, AuthUser: s.authUser}
	m.ParseErr = parse(&m)
	s.server.add(m)
	return nil
}

func (s *session) Reset() { s.from, s.to = "", nil }

func (s *session) Logout() error { return nil }

// parse fills the header, subject and bodies of m from m.Raw.
func parse(m *Message) error {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Raw))
	if err != nil {
		return fmt.Errorf("read message: %w", err)
	}
	m.Header = msg.Header
	dec := new(mime.WordDecoder)
	if m.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return fmt.Errorf("decode subject: %w", err)
	}
	return walk(m, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
}

// walk descends into multipart bodies and keeps the first text/plain and
// text/html leaves.
func walk(m *Message, contentType, encoding string, body io.Reader) error {
	if contentType == "" {
		contentType = "text/plain"
	}
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return fmt.Errorf("content type %q: %w", contentType, err)
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("multipart: %w", err)
			}
			if err := walk(m, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); err != nil {
				return err
			}
		}
	}
	data, err := decode(encoding, body)
	if err != nil {
		return err
	}
	switch mediaType {
	case "text/plain":
		if m.Text == "" {
			m.Text = string(data)
		}
	case "text/html":
		if m.HTML == "" {
			m.HTML = string(data)
		}
	}
	return nil
}

func decode(encoding string, r io.Reader) ([]byte, error) {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		b, err := io.ReadAll(quotedprintable.NewReader(r))
		if err != nil {
			return nil, fmt.Errorf("quoted-printable: %w", err)
		}
		return b, nil
	case "base64":
		b, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, r))
		if err != nil {
			return nil, fmt.Errorf("base64: %w", err)
		}
		return b, nil
	case "", "7bit", "8bit", "binary":
		return io.ReadAll(r)
	default:
		return nil, fmt.Errorf("unknown transfer encoding %s", strconv.Quote(encoding))
	}
}

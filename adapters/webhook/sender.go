package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/ums-project/ums/ports"
)

// SenderConfig tunes the HTTP client.
type SenderConfig struct {
	// Timeout bounds one request, connection and answer included.
	Timeout time.Duration
	// UserAgent names UMS to receivers.
	UserAgent string
	// WrapTransport, when set, wraps the guarded transport: the hook for
	// tracing (a transport that adds a client span and sends the
	// trace context on). The guard stays underneath, on every dial.
	WrapTransport func(http.RoundTripper) http.RoundTripper
}

// Sender POSTs signed webhook requests. It follows no redirect (a 3xx is
// an answer like any other, and a failure), uses no proxy (a proxy would
// dial on its behalf, around the guard), reads at most a little of each
// answer and keeps none of it.
type Sender struct {
	client    *http.Client
	userAgent string
	timeout   time.Duration
}

var _ ports.WebhookSender = (*Sender)(nil)

// maxDrain is how much of an answer is read, to reuse the connection.
const maxDrain = 64 << 10

// NewSender returns a Sender whose connections guard checks.
func NewSender(cfg SenderConfig, guard *Guard) *Sender {
	dialer := &net.Dialer{Timeout: cfg.Timeout, KeepAlive: 30 * time.Second, Control: guard.control}
	var rt http.RoundTripper = &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   cfg.Timeout,
		ResponseHeaderTimeout: cfg.Timeout,
		MaxIdleConns:          32,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
	}
	if cfg.WrapTransport != nil {
		rt = cfg.WrapTransport(rt)
	}
	ua := cfg.UserAgent
	if ua == "" {
		ua = "UMS-Webhooks/1"
	}
	return &Sender{
		client: &http.Client{Transport: rt, Timeout: cfg.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		userAgent: ua, timeout: cfg.Timeout,
	}
}

// Send implements ports.WebhookSender.
func (s *Sender) Send(ctx context.Context, r ports.WebhookRequest) (int, error) {
	sig, err := Sign(r.MessageID, r.Timestamp, r.Body, r.Secrets)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(r.Body))
	if err != nil {
		return 0, errors.New("the endpoint URL cannot be requested")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", s.userAgent)
	req.Header.Set(standardwebhooks.HeaderWebhookID, r.MessageID)
	req.Header.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(r.Timestamp.Unix(), 10))
	req.Header.Set(standardwebhooks.HeaderWebhookSignature, sig)
	res, err := s.client.Do(req)
	if err != nil {
		return 0, s.describe(err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, maxDrain))
	_ = res.Body.Close()
	return res.StatusCode, nil
}

// describe is a transport error without the URL, which may hold a token
// in its path or query and would end up in the log and the delivery log.
func (s *Sender) describe(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) || os.IsTimeout(err) {
		return fmt.Errorf("timeout: no answer within %s", s.timeout)
	}
	var oe *net.OpError
	if errors.Is(err, errInternalTarget) && errors.As(err, &oe) {
		return oe.Err
	}
	msg := err.Error()
	if strings.Contains(msg, "://") {
		return errors.New("the request failed")
	}
	return errors.New(msg)
}

// Sign is the webhook-signature header of a message: "v1,<base64
// HMAC-SHA256 of id.timestamp.body>" for each secret ("whsec_…"),
// space-separated, as the Standard Webhooks spec allows during a
// rotation. The signing is the spec's reference library's.
func Sign(msgID string, ts time.Time, body []byte, secrets []string) (string, error) {
	if len(secrets) == 0 {
		return "", errors.New("no signing secret")
	}
	sigs := make([]string, 0, len(secrets))
	for _, secret := range secrets {
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			return "", errors.New("a signing secret is not a whsec_ base64 key")
		}
		sig, err := wh.Sign(msgID, ts, body)
		if err != nil {
			return "", errors.New("signing failed")
		}
		sigs = append(sigs, sig)
	}
	return strings.Join(sigs, " "), nil
}

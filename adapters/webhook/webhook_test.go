package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/adapters/webhook"
	"github.com/ums-project/ums/ports"
)

func TestInternalAddresses(t *testing.T) {
	t.Parallel()
	for _, a := range []string{
		"127.0.0.1", "127.255.0.9", "10.1.2.3", "172.16.0.1", "172.31.255.255", "192.168.1.1", "169.254.169.254",
		"100.64.0.1", "100.127.255.254", "0.0.0.0", "0.1.2.3", "224.0.0.1", "239.255.255.250", "255.255.255.255",
		"240.0.0.1", "198.18.0.1", "192.0.2.10", "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1",
		"::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a00:1", "64:ff9b::7f00:1", "2002:7f00:1::1", "2001:db8::1",
		"64:ff9b:1::1", "fec0::1",
		// IPv4-compatible, SIIT-translated and other IPv6 outside 2000::/3.
		"::127.0.0.1", "::169.254.169.254", "::10.0.0.1", "::8.8.8.8", "::ffff:0:7f00:1", "::ffff:0:a9fe:a9fe",
		"::ffff:0:808:808", "::2", "4000::1", "e000::1", "1000::1",
	} {
		assert.True(t, webhook.Internal(netip.MustParseAddr(a)), a)
	}
	for _, a := range []string{
		"8.8.8.8", "1.1.1.1", "93.184.216.34", "172.32.0.1", "100.128.0.1", "192.169.0.1", "2606:4700:4700::1111",
		"::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1", "2a00:1450:4001:82a::200e", "2001:4860:4860::8888",
	} {
		assert.False(t, webhook.Internal(netip.MustParseAddr(a)), a)
	}
}

func TestGuardRegistration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	prod := webhook.NewGuard(webhook.GuardConfig{RequireHTTPS: true})
	for raw, code := range map[string]string{
		"http://8.8.8.8/hook":             "url_not_allowed",
		"https://127.0.0.1:8443/hook":     "url_not_allowed",
		"https://[::1]/hook":              "url_not_allowed",
		"https://169.254.169.254/latest":  "url_not_allowed",
		"https://10.0.0.7/hook":           "url_not_allowed",
		"https://[::ffff:192.168.0.1]/x":  "url_not_allowed",
		"https://localhost/hook":          "url_not_allowed",
		"https://no-such-host.invalid/x":  "url_not_allowed",
		"https:///nohost":                 "invalid_url",
		"https://100.64.1.1/carrier-nat":  "url_not_allowed",
		"https://[64:ff9b::a9fe:a9fe]/md": "url_not_allowed",
		"https://[::127.0.0.1]/hook":      "url_not_allowed",
		"https://[::169.254.169.254]/md":  "url_not_allowed",
		"https://[::ffff:0:a9fe:a9fe]/md": "url_not_allowed",
	} {
		fe := prod.CheckURL(ctx, "url", raw)
		if assert.NotNil(t, fe, raw) {
			assert.Equal(t, code, fe.Code, raw)
			assert.Equal(t, "url", fe.Field)
		}
	}
	assert.Nil(t, prod.CheckURL(ctx, "url", "https://8.8.8.8/hook"), "a public address")

	allowed := webhook.NewGuard(webhook.GuardConfig{RequireHTTPS: true, AllowPrivate: true})
	assert.Nil(t, allowed.CheckURL(ctx, "url", "https://10.0.0.7/hook"), "private targets allowed by config")
	assert.NotNil(t, allowed.CheckURL(ctx, "url", "http://10.0.0.7/hook"), "still https in production")

	dev := webhook.NewGuard(webhook.GuardConfig{AllowPrivate: true})
	assert.Nil(t, dev.CheckURL(ctx, "url", "http://127.0.0.1:9000/hook"), "outside production loopback http is fine")
}

// TestSenderRefusesInternalAddressesAtDialTime: the dialer checks the
// address it connects to, whatever the URL passed at registration.
func TestSenderRefusesInternalAddressesAtDialTime(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	req := ports.WebhookRequest{URL: srv.URL + "/hook?token=s3cret", MessageID: "msg_1", Timestamp: time.Now(),
		Body: []byte(`{}`), Secrets: []string{"whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))}}

	guarded := webhook.NewSender(webhook.SenderConfig{Timeout: 2 * time.Second}, webhook.NewGuard(webhook.GuardConfig{}))
	status, err := guarded.Send(context.Background(), req)
	require.Error(t, err)
	assert.Zero(t, status)
	assert.Contains(t, err.Error(), "refused")
	assert.Contains(t, err.Error(), "127.0.0.1")
	assert.NotContains(t, err.Error(), "s3cret", "no URL in errors")
	assert.Zero(t, hits.Load(), "nothing reached the receiver")

	open := webhook.NewSender(webhook.SenderConfig{Timeout: 2 * time.Second}, webhook.NewGuard(webhook.GuardConfig{AllowPrivate: true}))
	status, err = open.Send(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, http.StatusNoContent, status)
	assert.EqualValues(t, 1, hits.Load())
}

func TestSenderHeadersRedirectsAndTimeouts(t *testing.T) {
	t.Parallel()
	secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("a very secret key of 32 bytes!!!"))
	got := make(chan *http.Request, 4)
	bodies := make(chan []byte, 4)
	mux := http.NewServeMux()
	mux.HandleFunc("/hook", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r
		bodies <- b
		w.WriteHeader(http.StatusOK)
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/hook", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(3 * time.Second):
		case <-r.Context().Done():
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	var wrapped atomic.Int32
	s := webhook.NewSender(webhook.SenderConfig{Timeout: 300 * time.Millisecond, WrapTransport: func(rt http.RoundTripper) http.RoundTripper {
		return roundTripFunc(func(r *http.Request) (*http.Response, error) {
			wrapped.Add(1)
			return rt.RoundTrip(r)
		})
	}}, webhook.NewGuard(webhook.GuardConfig{AllowPrivate: true}))
	ts := time.Unix(1_900_000_000, 0)
	body := []byte(`{"type":"user.created","data":{"user_id":"u1"}}`)
	status, err := s.Send(context.Background(), ports.WebhookRequest{URL: srv.URL + "/hook", MessageID: "msg_abc",
		Timestamp: ts, Body: body, Secrets: []string{secret}})
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, status)
	r := <-got
	assert.Equal(t, body, <-bodies)
	assert.Equal(t, "msg_abc", r.Header.Get("webhook-id"))
	assert.Equal(t, "1900000000", r.Header.Get("webhook-timestamp"))
	assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
	assert.Equal(t, "v1,"+independentSignature(t, secret, "msg_abc", "1900000000", body), r.Header.Get("webhook-signature"))
	assert.EqualValues(t, 1, wrapped.Load(), "the transport hook sees the request")

	status, err = s.Send(context.Background(), ports.WebhookRequest{URL: srv.URL + "/moved", MessageID: "msg_abc",
		Timestamp: ts, Body: body, Secrets: []string{secret}})
	require.NoError(t, err)
	assert.Equal(t, http.StatusTemporaryRedirect, status, "redirects are not followed")
	assert.Empty(t, got)

	start := time.Now()
	_, err = s.Send(context.Background(), ports.WebhookRequest{URL: srv.URL + "/slow", MessageID: "msg_abc",
		Timestamp: ts, Body: body, Secrets: []string{secret}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "timeout")
	assert.Less(t, time.Since(start), 2*time.Second)
}

func TestSignWithTwoSecrets(t *testing.T) {
	t.Parallel()
	a := "whsec_" + base64.StdEncoding.EncodeToString([]byte("first secret of at least 24 b"))
	b := "whsec_" + base64.StdEncoding.EncodeToString([]byte("second secret of at least 24"))
	ts := time.Unix(1_700_000_000, 0)
	sig, err := webhook.Sign("msg_1", ts, []byte("{}"), []string{a, b})
	require.NoError(t, err)
	parts := strings.Split(sig, " ")
	require.Len(t, parts, 2)
	assert.Equal(t, "v1,"+independentSignature(t, a, "msg_1", "1700000000", []byte("{}")), parts[0])
	assert.Equal(t, "v1,"+independentSignature(t, b, "msg_1", "1700000000", []byte("{}")), parts[1])
	_, err = webhook.Sign("msg_1", ts, nil, nil)
	assert.Error(t, err)
	_, err = webhook.Sign("msg_1", ts, nil, []string{"whsec_not base64!"})
	assert.Error(t, err)
}

// independentSignature computes a Standard Webhooks v1 signature with the
// standard library only, as a receiver following the spec would.
func independentSignature(t *testing.T, secret, id, ts string, body []byte) string {
	t.Helper()
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	require.NoError(t, err)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "." + string(body)))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

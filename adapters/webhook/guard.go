// Package webhook delivers signed events to webhook endpoints (Standard
// Webhooks): the signer, the HTTP sender and the guard that keeps
// deliveries off private networks (SSRF).
package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"syscall"
	"time"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// Guard decides which targets webhooks may reach. In production it
// refuses plain http, and (unless private targets are allowed) any host
// that is or resolves to a private, loopback, link-local, unspecified,
// multicast, CGNAT or otherwise internal address: at registration
// (CheckURL) and again on every connection (the dialer's Control hook sees
// the address actually dialled), so a name that resolves differently later
// (DNS rebinding) is refused too.
type Guard struct {
	requireHTTPS bool
	allowPrivate bool
	resolver     *net.Resolver
}

var _ ports.WebhookTargetPolicy = (*Guard)(nil)

// GuardConfig sets the rules.
type GuardConfig struct {
	// RequireHTTPS refuses plain http URLs.
	RequireHTTPS bool
	// AllowPrivate lets targets be internal addresses.
	AllowPrivate bool
	// Resolver looks names up; nil is the system's.
	Resolver *net.Resolver
}

// NewGuard returns a Guard with cfg's rules.
func NewGuard(cfg GuardConfig) *Guard {
	r := cfg.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	return &Guard{requireHTTPS: cfg.RequireHTTPS, allowPrivate: cfg.AllowPrivate, resolver: r}
}

// resolveTimeout bounds the lookup of a host at registration.
const resolveTimeout = 5 * time.Second

// CheckURL implements ports.WebhookTargetPolicy.
func (g *Guard) CheckURL(ctx context.Context, field, raw string) *domain.FieldError {
	refuse := func(msg string) *domain.FieldError {
		return &domain.FieldError{Field: field, Code: "url_not_allowed", Message: msg}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Hostname() == "" {
		return &domain.FieldError{Field: field, Code: "invalid_url", Message: "must be an absolute http(s) URL with a host"}
	}
	if g.requireHTTPS && u.Scheme != "https" {
		return refuse("must use https")
	}
	if g.allowPrivate {
		return nil
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); err == nil {
		if Internal(ip) {
			return refuse("must not be a private, loopback, link-local or otherwise internal address")
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	addrs, err := g.resolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return refuse("the host name does not resolve")
	}
	for _, a := range addrs {
		if Internal(a) {
			return refuse("the host name resolves to a private, loopback, link-local or otherwise internal address")
		}
	}
	return nil
}

// errInternalTarget refuses a connection to an internal address.
var errInternalTarget = errors.New("refused: the address is private, loopback, link-local or otherwise internal")

// control is the dialer's hook: it runs after the name was resolved, on
// the address about to be connected to.
func (g *Guard) control(_, address string, _ syscall.RawConn) error {
	if g.allowPrivate {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("refused: unexpected address %q", address)
	}
	if Internal(ap.Addr()) {
		return fmt.Errorf("%w (%s)", errInternalTarget, ap.Addr())
	}
	return nil
}

// internalPrefixes are the ranges no public service lives in, beyond what
// netip's predicates name.
var internalPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT (RFC 6598)
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, broadcast
	netip.MustParsePrefix("100::/64"),        // discard
	netip.MustParsePrefix("2001::/23"),       // IETF protocol assignments (Teredo included)
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("fec0::/10"),       // site-local (deprecated)
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64 (RFC 8215)
}

// Prefixes whose addresses embed an IPv4 address that is what really gets
// reached.
var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
	// globalUnicast is the only IPv6 space public services are numbered
	// from; beyond it lie forms that reach IPv4 or local hosts
	// (IPv4-compatible ::a.b.c.d, SIIT ::ffff:0:a.b.c.d) on some stacks.
	globalUnicast = netip.MustParsePrefix("2000::/3")
)

// Internal reports whether ip is an address webhooks must not reach in
// production: private, loopback, link-local, unspecified, multicast,
// CGNAT, reserved or documentation ranges, IPv6 forms that embed such an
// IPv4 address (mapped, NAT64, 6to4), and any other IPv6 address outside
// global unicast 2000::/3.
func Internal(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return true
	}
	for _, p := range internalPrefixes {
		if p.Contains(ip) {
			return true
		}
	}
	if ip.Is6() {
		b := ip.As16()
		if nat64.Contains(ip) {
			return Internal(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
		}
		if sixToFour.Contains(ip) {
			return Internal(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
		}
		// An allow list, not more prefixes to deny: what is not public
		// unicast (NAT64 aside, judged above by its IPv4) is refused.
		if !globalUnicast.Contains(ip) {
			return true
		}
	}
	return false
}

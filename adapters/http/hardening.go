package http

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"go.uber.org/zap"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// ipExtractor takes the client IP from X-Forwarded-For (or X-Real-IP) only
// when the TCP peer is a trusted proxy: the rightmost address that is not
// a trusted proxy is the client. Without trusted proxies it is the peer,
// so no client can choose the IP it is audited and limited by.
func ipExtractor(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	xff := echo.ExtractIPFromXFFHeader(opts...)
	direct := echo.ExtractIPDirect()
	return func(r *http.Request) string {
		if r.Header.Get(echo.HeaderXForwardedFor) != "" {
			return xff(r)
		}
		peer := direct(r)
		if real := strings.TrimSpace(r.Header.Get(echo.HeaderXRealIP)); real != "" && inNets(peer, trusted) && net.ParseIP(real) != nil {
			return real
		}
		return peer
	}
}

func inNets(ip string, nets []*net.IPNet) bool {
	parsed := net.ParseIP(ip)
	if parsed == nil {
		return false
	}
	for _, n := range nets {
		if n.Contains(parsed) {
			return true
		}
	}
	return false
}

// overHTTPS reports whether the client's request came over TLS: directly,
// or through a trusted proxy that says so in X-Forwarded-Proto. The header
// of an untrusted peer is ignored.
func overHTTPS(r *http.Request, trusted []*net.IPNet) bool {
	if r.TLS != nil {
		return true
	}
	if !strings.EqualFold(r.Header.Get(echo.HeaderXForwardedProto), "https") {
		return false
	}
	return inNets(echo.ExtractIPDirect()(r), trusted)
}

// hsts is sent on responses to HTTPS requests only: over plain HTTP the
// header is meaningless and would be a lie.
const hsts = "max-age=63072000; includeSubDomains"

// corsMiddleware allows exactly the configured origins, with credentials;
// without origins no CORS header is ever sent (same-origin only).
func corsMiddleware(origins []string, maxAge time.Duration) echo.MiddlewareFunc {
	if len(origins) == 0 {
		return func(next echo.HandlerFunc) echo.HandlerFunc { return next }
	}
	return middleware.CORSWithConfig(middleware.CORSConfig{
		AllowOrigins:     origins,
		AllowCredentials: true,
		AllowMethods:     []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete},
		AllowHeaders:     []string{echo.HeaderAuthorization, echo.HeaderContentType, headerRequestID},
		ExposeHeaders: []string{headerRequestID, echo.HeaderLocation, "Retry-After",
			"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"},
		MaxAge: int(maxAge / time.Second),
	})
}

// RateLimits are the per-client-IP limits: a global one for every route
// and tighter ones by scope for the routes attackers like.
type RateLimits struct {
	Enabled bool
	Global  ports.RateLimit
	Scoped  map[string]ports.RateLimit
}

// Rate-limit scopes of the sensitive routes.
const (
	ScopeLogin    = "login"
	ScopeRegister = "register"
	ScopeRefresh  = "refresh"
	ScopePassword = "password"
	ScopeEmail    = "email"
)

// limiter applies rate limits; a store failure lets the request through
// (the limiter adapter already falls back to in-process counting, so this
// is the last resort) and is logged.
type limiter struct {
	rl       ports.RateLimiter
	limits   RateLimits
	log      *zap.Logger
	rejected func(scope string)
}

func (l *limiter) middleware(scope string) echo.MiddlewareFunc {
	limit, ok := l.limits.Global, true
	if scope != "global" {
		limit, ok = l.limits.Scoped[scope]
	}
	if !l.limits.Enabled || !ok || l.rl == nil || limit.Rate <= 0 {
		return func(next echo.HandlerFunc) echo.HandlerFunc { return next }
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			d, err := l.rl.Allow(c.Request().Context(), scope+":"+c.RealIP(), limit)
			if err != nil {
				l.log.Warn("rate limiter failed; letting the request through", zap.String("scope", scope), zap.Error(err))
				return next(c)
			}
			h := c.Response().Header()
			h.Set("RateLimit-Limit", strconv.Itoa(d.Limit))
			h.Set("RateLimit-Remaining", strconv.Itoa(max(0, d.Remaining)))
			h.Set("RateLimit-Reset", strconv.Itoa(seconds(d.ResetAfter)))
			if !d.Allowed {
				if l.rejected != nil {
					l.rejected(scope)
				}
				return rateLimited(time.Duration(max(1, seconds(d.RetryAfter))) * time.Second)
			}
			return next(c)
		}
	}
}

func seconds(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}

// rateLimited is a per-IP limit's refusal, as a domain error so that every
// renderer of errors (this API's and a mounted legacy one's) knows it.
func rateLimited(retry time.Duration) error {
	return &domain.Error{Kind: domain.KindRateLimited, Code: "rate_limited",
		Message: "too many requests from this address; slow down", RetryAfter: retry}
}

// redirectToHTTPS answers every plain-HTTP request with a permanent
// redirect to the same path on the public HTTPS URL; the host comes from
// configuration, never from the request, so it cannot be an open redirect.
func redirectToHTTPS(publicURL string) http.Handler {
	base := strings.TrimRight(publicURL, "/")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, base+r.URL.RequestURI(), http.StatusPermanentRedirect)
	})
}

// apiOnly applies mw to /api/ paths: probes, metrics and docs stay outside
// the global limit, so a load balancer's checks are never refused. (A
// group middleware would make Echo answer 404 for wrong methods.)
func apiOnly(mw echo.MiddlewareFunc) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		limited := mw(next)
		return func(c echo.Context) error {
			if strings.HasPrefix(c.Request().URL.Path, "/api/") {
				return limited(c)
			}
			return next(c)
		}
	}
}

package http

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

	"github.com/ums-project/ums/domain"
)

const headerRequestID = "X-Request-ID"

// withRequestID honours a sane incoming X-Request-ID (so a proxy's id links
// its log to ours) or makes one, echoes it back and puts the request's facts
// into the context for use cases and audit.
func withRequestID() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			id := c.Request().Header.Get(headerRequestID)
			if !validRequestID(id) {
				id = uuid.NewString()
			}
			c.Set("request_id", id)
			c.Response().Header().Set(headerRequestID, id)
			req := c.Request()
			ctx := domain.WithRequestInfo(req.Context(), domain.RequestInfo{
				IP: c.RealIP(), UserAgent: truncate(req.UserAgent(), 512), RequestID: id,
			})
			c.SetRequest(req.WithContext(ctx))
			return next(c)
		}
	}
}

func requestID(c echo.Context) string {
	id, _ := c.Get("request_id").(string)
	return id
}

// validRequestID admits ids that are safe to log and echo: 1..128 visible
// ASCII characters from a conservative set.
func validRequestID(s string) bool {
	if len(s) == 0 || len(s) > 128 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == ':') {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// accessLog writes one line per request after the error handler ran, so the
// logged status is the one the client got. It never logs bodies or
// credentials, only the route template. Traced, it names the request's
// trace and span.
func accessLog(log *zap.Logger, traced bool) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			if err := next(c); err != nil {
				c.Error(err)
			}
			res := c.Response()
			route := c.Path()
			if route == "" {
				route = "unmatched"
			}
			n := 7
			if traced {
				n += 2
			}
			fields := make([]zap.Field, 0, n)
			fields = append(fields,
				zap.String("request_id", requestID(c)),
				zap.String("method", c.Request().Method),
				zap.String("route", route),
				zap.Int("status", res.Status),
				zap.Duration("latency", time.Since(start)),
				zap.String("client_ip", c.RealIP()),
				zap.Int64("bytes_out", res.Size),
			)
			if traced {
				fields = append(fields, traceFields(c.Request().Context())...)
			}
			log.Info("request", fields...)
			return nil
		}
	}
}

// recoverPanics turns a panic into a 500 problem and logs the stack once.
func recoverPanics(log *zap.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) (err error) {
			defer func() {
				if r := recover(); r != nil {
					if r == http.ErrAbortHandler {
						panic(r)
					}
					log.Error("panic in handler", append([]zap.Field{zap.String("request_id", requestID(c)),
						zap.String("route", c.Path()), zap.String("panic", fmt.Sprint(r)), zap.Stack("stack")},
						traceFields(c.Request().Context())...)...)
					err = fmt.Errorf("panic: %v", r)
				}
			}()
			return next(c)
		}
	}
}

// securityHeaders sets the headers every response carries, errors
// included. The CSP is strict for JSON; the docs page sets its own, which
// still loads only our assets. HSTS goes only on responses to HTTPS.
func securityHeaders(trusted []*net.IPNet) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Response().Header()
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("X-Frame-Options", "DENY")
			h.Set("Referrer-Policy", "no-referrer")
			h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
			h.Set("Cross-Origin-Opener-Policy", "same-origin")
			h.Set("Cross-Origin-Resource-Policy", "same-origin")
			if overHTTPS(c.Request(), trusted) {
				h.Set("Strict-Transport-Security", hsts)
			}
			return next(c)
		}
	}
}

// noStore forbids caching of API responses (tokens, profiles, sessions):
// token responses must never sit in a browser or proxy cache (RFC 6749 5.1).
// It is global rather than on the route group because Echo answers unknown
// methods on a group with middleware as 404 instead of 405.
func noStore() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if path := c.Request().URL.Path; strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/oauth/") ||
				(strings.HasPrefix(path, "/ui/") && !strings.HasPrefix(path, "/ui/static/")) {
				h := c.Response().Header()
				h.Set(echo.HeaderCacheControl, "no-store")
				h.Set("Pragma", "no-cache")
			}
			return next(c)
		}
	}
}

package http

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"go.uber.org/zap"

	"github.com/ums-project/ums/domain"
)

// The 401s of a /metrics behind a token; the codes are those of the API's
// own bearer errors, so the challenge (see challenge) follows RFC 6750 the
// same way.
var (
	errMetricsTokenMissing = &domain.Error{Kind: domain.KindUnauthorized, Code: errMissingToken.Code,
		Message: "/metrics requires an Authorization: Bearer header with the metrics token"}
	errMetricsTokenInvalid = &domain.Error{Kind: domain.KindUnauthorized, Code: domain.ErrInvalidToken.Code,
		Message: "the metrics token is not the configured one"}
)

// metricsHandler serves the Prometheus handler; with a token configured,
// only to requests that present it as a bearer token. Both sides are
// hashed before the constant-time comparison so that neither the content
// nor the length of the token leaks through timing.
func metricsHandler(h http.Handler, token string) echo.HandlerFunc {
	serve := echo.WrapHandler(h)
	if token == "" {
		return serve
	}
	want := sha256.Sum256([]byte(token))
	return func(c echo.Context) error {
		header := c.Request().Header.Get(echo.HeaderAuthorization)
		if header == "" {
			return errMetricsTokenMissing
		}
		scheme, got, ok := strings.Cut(header, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return errMetricsTokenInvalid
		}
		sum := sha256.Sum256([]byte(strings.TrimSpace(got)))
		if subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			return errMetricsTokenInvalid
		}
		return serve(c)
	}
}

// metricsServer is the router of the METRICS_ADDR listener: /metrics and
// nothing else, its errors rendered as problems like the API's.
func metricsServer(h http.Handler, token string, log *zap.Logger) http.Handler {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler(log, nil)
	e.Use(withRequestID())
	e.GET("/metrics", metricsHandler(h, token))
	return e
}

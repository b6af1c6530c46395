package legacyapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/domain"
)

// oldError is an answer in one of the old service's error families, ready
// to write: a handler returns one when the old contract names the exact
// status and body for a case.
type oldError struct {
	status int
	body   any
	retry  int
}

func (e *oldError) Error() string { return "legacy api: " + strconv.Itoa(e.status) }

// errorBody is the {"error": …} family.
type errorBody struct {
	Error string `json:"error"`
}

// fieldsBody is the marshmallow {"errors": {field: [messages]}} family.
type fieldsBody struct {
	Errors map[string][]string `json:"errors"`
}

// msgBody is the JWT layer's {"msg": …} family.
type msgBody struct {
	Msg string `json:"msg"`
}

func failure(status int, msg string) error {
	return &oldError{status: status, body: errorBody{Error: msg}}
}

func fieldErrors(fields map[string][]string) error {
	return &oldError{status: http.StatusBadRequest, body: fieldsBody{Errors: fields}}
}

func jwtLayer(status int, msg string) error {
	return &oldError{status: status, body: msgBody{Msg: msg}}
}

// WriteError implements http.Mounted: the one place where errors become
// the old service's answers.
func (a *API) WriteError(c echo.Context, err error) {
	if c.Response().Committed {
		return
	}
	oe := a.translate(c, err)
	if oe.retry > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(oe.retry))
	}
	if c.Request().Method == http.MethodHead {
		c.Response().WriteHeader(oe.status)
		return
	}
	_ = c.JSON(oe.status, oe.body)
}

func (a *API) translate(c echo.Context, err error) *oldError {
	var oe *oldError
	if errors.As(err, &oe) {
		return oe
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch he.Code {
		case http.StatusNotFound:
			return &oldError{status: he.Code, body: errorBody{Error: "Resource not found"}}
		case http.StatusMethodNotAllowed:
			return &oldError{status: he.Code, body: errorBody{Error: "Method not allowed"}}
		case http.StatusRequestEntityTooLarge:
			return &oldError{status: he.Code, body: errorBody{Error: "Request body too large"}}
		}
		if he.Code < 500 {
			return &oldError{status: he.Code, body: errorBody{Error: http.StatusText(he.Code)}}
		}
	}
	var de *domain.Error
	if errors.As(err, &de) {
		return fromDomain(de)
	}
	if errors.Is(err, context.Canceled) {
		return &oldError{status: 499, body: errorBody{Error: "client closed request"}}
	}
	// Logged once here with the request id; the client sees nothing of the
	// cause, as the old service's production mode.
	fields := []zap.Field{zap.String("route", c.Path()),
		zap.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)), zap.Error(err)}
	if sc := trace.SpanContextFromContext(c.Request().Context()); sc.IsValid() {
		fields = append(fields, zap.String("trace_id", sc.TraceID().String()), zap.String("span_id", sc.SpanID().String()))
	}
	a.log.Error("legacy request failed", fields...)
	return &oldError{status: http.StatusInternalServerError, body: errorBody{Error: "Internal server error"}}
}

// fromDomain maps UMS's domain errors to the old families and statuses.
// Conditions the old service never had (limits, overload) keep their
// status with an {"error": …} body.
func fromDomain(de *domain.Error) *oldError {
	retry := 0
	if de.RetryAfter > 0 {
		retry = max(1, int(de.RetryAfter.Seconds()+0.999))
	}
	switch {
	case de.Code == domain.ErrInvalidToken.Code || de.Code == domain.ErrRefreshTokenReused.Code:
		return &oldError{status: http.StatusUnauthorized, body: msgBody{Msg: "Token is invalid, expired or revoked"}}
	case de.Code == application.ErrRefreshTokenNotAllowed.Code:
		return &oldError{status: http.StatusUnprocessableEntity, body: msgBody{Msg: "Only non-refresh tokens are allowed"}}
	case de.Code == application.ErrAccessTokenNotAllowed.Code:
		return &oldError{status: http.StatusUnprocessableEntity, body: msgBody{Msg: "Only refresh tokens are allowed"}}
	case de.Code == domain.ErrAdminRequired.Code:
		return &oldError{status: http.StatusForbidden, body: errorBody{Error: "Admin privileges required"}}
	case de.Code == domain.ErrPasswordChangeRequired.Code:
		return &oldError{status: http.StatusForbidden, body: passwordChangeBody()}
	case de.Code == domain.ErrUserNotFound.Code:
		return &oldError{status: http.StatusNotFound, body: errorBody{Error: "User not found"}}
	case de.Code == domain.ErrOrgNotFound.Code:
		return &oldError{status: http.StatusNotFound, body: errorBody{Error: "Lab not found"}}
	case de.Code == domain.ErrMembershipNotFound.Code:
		return &oldError{status: http.StatusNotFound, body: errorBody{Error: "Membership not found"}}
	case de.Kind == domain.KindInvalid:
		fields := map[string][]string{}
		for _, f := range de.Fields {
			fields[f.Field] = append(fields[f.Field], sentence(f.Message))
		}
		if len(fields) == 0 {
			fields["_schema"] = []string{sentence(de.Message)}
		}
		return &oldError{status: http.StatusBadRequest, body: fieldsBody{Errors: fields}}
	}
	status := map[domain.Kind]int{
		domain.KindNotFound: http.StatusNotFound, domain.KindConflict: http.StatusBadRequest,
		domain.KindUnauthorized: http.StatusUnauthorized, domain.KindForbidden: http.StatusForbidden,
		domain.KindRateLimited: http.StatusTooManyRequests, domain.KindUnavailable: http.StatusServiceUnavailable,
	}[de.Kind]
	if status == 0 {
		return &oldError{status: http.StatusInternalServerError, body: errorBody{Error: "Internal server error"}}
	}
	return &oldError{status: status, body: errorBody{Error: sentence(de.Message)}, retry: retry}
}

// passwordChangeBody is the old login's answer to a required change.
func passwordChangeBody() any {
	return struct {
		Error                 string `json:"error"`
		Message               string `json:"message"`
		RequirePasswordChange bool   `json:"require_password_change"`
	}{"Password change required", "Administrator has required you to change your password.", true}
}

// sentence capitalises a UMS message and ends it with a period, as
// marshmallow's messages read.
func sentence(msg string) string {
	if msg == "" {
		return msg
	}
	b := []byte(msg)
	if b[0] >= 'a' && b[0] <= 'z' {
		b[0] -= 'a' - 'A'
	}
	if b[len(b)-1] != '.' {
		b = append(b, '.')
	}
	return string(b)
}

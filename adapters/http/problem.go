package http

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"

	"github.com/ums-project/ums/domain"
)

// Problem is an RFC 9457 problem document with UMS's extension members.
type Problem struct {
	Type      string         `json:"type"`
	Title     string         `json:"title"`
	Status    int            `json:"status"`
	Detail    string         `json:"detail"`
	Code      string         `json:"code"`
	RequestID string         `json:"request_id"`
	Errors    []ProblemField `json:"errors,omitempty"`
	Checks    map[string]any `json:"checks,omitempty"`
}

// ProblemField is one broken rule of a validation problem.
type ProblemField struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

const problemTypePrefix = "urn:ums:problem:"

// statusClientClosed is nginx's 499: the client closed the connection
// before the answer; it shows in access logs and metrics only.
const statusClientClosed = 499

var kindStatus = map[domain.Kind]int{
	domain.KindInvalid:      http.StatusUnprocessableEntity,
	domain.KindNotFound:     http.StatusNotFound,
	domain.KindConflict:     http.StatusConflict,
	domain.KindUnauthorized: http.StatusUnauthorized,
	domain.KindForbidden:    http.StatusForbidden,
	domain.KindRateLimited:  http.StatusTooManyRequests,
	domain.KindUnavailable:  http.StatusServiceUnavailable,
}

// requestError is a malformed request caught by the adapter itself, before
// any use case ran (bad JSON, wrong content type, oversized body).
type requestError struct {
	status int
	code   string
	detail string
}

func (e *requestError) Error() string { return e.code + ": " + e.detail }

func badRequest(code, detail string) error {
	return &requestError{status: http.StatusBadRequest, code: code, detail: detail}
}

// errorHandler renders every error as a problem. It is the only code that
// writes error bodies.
func errorHandler(log *zap.Logger, mounts ...Mounted) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		if errors.Is(err, context.Canceled) && c.Request().Context().Err() != nil {
			// The client went away; nobody reads an answer and nothing
			// failed on our side, so it is not logged as an error.
			c.Response().WriteHeader(statusClientClosed)
			return
		}
		for _, m := range mounts {
			if m != nil && m.Owns(c.Request().URL.Path) {
				m.WriteError(c, err)
				return
			}
		}
		p, retryAfter := toProblem(err)
		p.RequestID = requestID(c)
		if p.Status >= 500 && p.Status != http.StatusServiceUnavailable {
			// Logged once here with the request id; the client sees nothing
			// of the cause.
			log.Error("request failed", append([]zap.Field{zap.String("request_id", p.RequestID),
				zap.String("route", c.Path()), zap.Error(err)}, traceFields(c.Request().Context())...)...)
			trace.SpanFromContext(c.Request().Context()).RecordError(err)
		}
		if p.Status == http.StatusUnauthorized {
			c.Response().Header().Set(echo.HeaderWWWAuthenticate, challenge(p.Code))
		}
		if retryAfter > 0 {
			c.Response().Header().Set("Retry-After", strconv.Itoa(retryAfter))
		}
		writeProblem(c, p)
	}
}

func writeProblem(c echo.Context, p Problem) {
	if p.Type == "" {
		p.Type = problemTypePrefix + p.Code
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
	if c.Request().Method == http.MethodHead {
		c.Response().WriteHeader(p.Status)
		return
	}
	_ = c.JSON(p.Status, p)
}

// toProblem maps an error to a problem and a Retry-After in seconds.
func toProblem(err error) (Problem, int) {
	var de *domain.Error
	if errors.As(err, &de) {
		status, ok := kindStatus[de.Kind]
		if !ok {
			return internalProblem(), 0
		}
		p := Problem{Status: status, Code: de.Code, Detail: de.Message}
		for _, f := range de.Fields {
			p.Errors = append(p.Errors, ProblemField(f))
		}
		retry := 0
		if de.RetryAfter > 0 {
			retry = max(1, int(de.RetryAfter.Seconds()+0.999))
		}
		return p, retry
	}
	var re *requestError
	if errors.As(err, &re) {
		return Problem{Status: re.status, Code: re.code, Detail: re.detail}, 0
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		return httpErrorProblem(he), 0
	}
	return internalProblem(), 0
}

func httpErrorProblem(he *echo.HTTPError) Problem {
	code := map[int]string{
		http.StatusNotFound:              "not_found",
		http.StatusMethodNotAllowed:      "method_not_allowed",
		http.StatusRequestEntityTooLarge: "body_too_large",
		http.StatusUnsupportedMediaType:  "unsupported_media_type",
		http.StatusUnauthorized:          "unauthorized",
		http.StatusForbidden:             "forbidden",
		http.StatusTooManyRequests:       "rate_limited",
		http.StatusBadRequest:            "bad_request",
	}[he.Code]
	if code == "" {
		if he.Code >= 500 {
			return internalProblem()
		}
		code = "error"
	}
	detail := http.StatusText(he.Code)
	if msg, ok := he.Message.(string); ok && he.Code < 500 {
		detail = msg
	}
	return Problem{Status: he.Code, Code: code, Detail: detail}
}

func internalProblem() Problem {
	return Problem{Status: http.StatusInternalServerError, Code: "internal_error",
		Detail: "an unexpected error occurred; quote the request id when reporting it"}
}

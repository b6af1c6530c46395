package http

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/ums-project/ums/domain"
)

// bindJSON decodes the request body into dst strictly: the content type must
// be JSON, unknown fields are refused (no mass assignment), exactly one value
// is allowed and the body limit is enforced even for chunked uploads. A
// decoded string holding NUL or control characters is a 422 naming the
// field (see checkBodyText).
func bindJSON(c echo.Context, limit int64, dst any) error {
	req := c.Request()
	ct := req.Header.Get(echo.HeaderContentType)
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return &requestError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type",
			detail: "the request body must be application/json"}
	}
	body := http.MaxBytesReader(c.Response(), req.Body, limit)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return decodeError(err)
		}
		return badRequest("malformed_json", "the body must hold exactly one JSON object")
	}
	if fields := checkBodyText(dst); len(fields) > 0 {
		return domain.Invalid(fields...)
	}
	return nil
}

func decodeError(err error) error {
	var (
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
		maxErr    *http.MaxBytesError
	)
	switch {
	case errors.As(err, &maxErr):
		return &requestError{status: http.StatusRequestEntityTooLarge, code: "body_too_large",
			detail: fmt.Sprintf("the request body exceeds %d bytes", maxErr.Limit)}
	case errors.Is(err, io.EOF):
		return badRequest("empty_body", "the request body is empty; a JSON object is required")
	case errors.Is(err, io.ErrUnexpectedEOF), errors.As(err, &syntaxErr):
		return badRequest("malformed_json", "the body is not well-formed JSON")
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return badRequest("invalid_type", "the body must be a JSON object")
		}
		return badRequest("invalid_type", fmt.Sprintf("field %q must be of type %s", typeErr.Field, typeErr.Type))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no typed error for this case.
		return badRequest("unknown_field", "unknown field "+strings.TrimPrefix(err.Error(), "json: unknown field "))
	default:
		return badRequest("malformed_json", "the body could not be decoded")
	}
}

package legacyapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
)

// form is a JSON object body read the old way: marshmallow's messages for
// the schema-validated routes, and plain lookups for the hand-parsed ones.
type form struct {
	raw  map[string]json.RawMessage
	errs map[string][]string
}

// readObject reads the body as one JSON object; null, an array or another
// value is the old schema's "Invalid input type.".
func (a *API) readObject(c echo.Context) (map[string]json.RawMessage, error) {
	req := c.Request()
	ct := req.Header.Get(echo.HeaderContentType)
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return nil, failure(http.StatusUnsupportedMediaType,
			"Did not attempt to load JSON data because the request Content-Type was not 'application/json'.")
	}
	b, err := io.ReadAll(http.MaxBytesReader(c.Response(), req.Body, a.bodyLimit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, failure(http.StatusRequestEntityTooLarge, "Request body too large")
		}
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return nil, failure(http.StatusBadRequest, "The browser (or proxy) sent a request that this server could not understand.")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fieldErrors(map[string][]string{"_schema": {"Invalid input type."}})
	}
	raw := make(map[string]json.RawMessage, len(obj))
	for k, val := range obj {
		raw[k], _ = json.Marshal(val)
	}
	return raw, nil
}

// bindSchema reads a schema-validated body: a key not in allowed is
// "Unknown field.".
func (a *API) bindSchema(c echo.Context, allowed ...string) (*form, error) {
	raw, err := a.readObject(c)
	if err != nil {
		return nil, err
	}
	f := &form{raw: raw, errs: map[string][]string{}}
	ok := map[string]bool{}
	for _, k := range allowed {
		ok[k] = true
	}
	for k := range raw {
		if !ok[k] {
			f.fail(k, "Unknown field.")
		}
	}
	return f, nil
}

// bindLoose reads a hand-parsed body: extra keys are ignored.
func (a *API) bindLoose(c echo.Context) (*form, error) {
	raw, err := a.readObject(c)
	if err != nil {
		return nil, err
	}
	return &form{raw: raw, errs: map[string][]string{}}, nil
}

func (f *form) fail(field, msg string) { f.errs[field] = append(f.errs[field], msg) }

// err is the collected marshmallow errors, or nil.
func (f *form) err() error {
	if len(f.errs) == 0 {
		return nil
	}
	return fieldErrors(f.errs)
}

func (f *form) has(name string) bool { _, ok := f.raw[name]; return ok }

// str reads a string field with marshmallow's rules and messages; secret
// fields may hold any character but NUL, others no control characters.
func (f *form) str(name string, required bool, minLen, maxLen int) (string, bool) {
	raw, ok := f.raw[name]
	if !ok {
		if required {
			f.fail(name, "Missing data for required field.")
		}
		return "", false
	}
	if string(raw) == "null" {
		f.fail(name, "Field may not be null.")
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil || !utf8.ValidString(s) {
		f.fail(name, "Not a valid string.")
		return "", false
	}
	if bad := controlChars(s, strings.Contains(name, "password")); bad != "" {
		f.fail(name, bad)
		return "", false
	}
	n := utf8.RuneCountInString(s)
	switch {
	case minLen > 0 && maxLen > 0 && (n < minLen || n > maxLen):
		f.fail(name, fmt.Sprintf("Length must be between %d and %d.", minLen, maxLen))
	case minLen > 0 && n < minLen:
		f.fail(name, fmt.Sprintf("Shorter than minimum length %d.", minLen))
	case maxLen > 0 && n > maxLen:
		f.fail(name, fmt.Sprintf("Longer than maximum length %d.", maxLen))
	default:
		return s, true
	}
	return "", false
}

// text reads a hand-parsed string field: missing, null or not a string is
// "" as the old code's .get() with a truthiness check saw it.
func (f *form) text(name string) string {
	var s string
	if raw, ok := f.raw[name]; ok && json.Unmarshal(raw, &s) == nil && controlChars(s, strings.Contains(name, "password")) == "" {
		return s
	}
	return ""
}

// integer reads marshmallow's Integer: a JSON integer or a string of one.
func (f *form) integer(name string, required bool) (int64, bool) {
	raw, ok := f.raw[name]
	if !ok {
		if required {
			f.fail(name, "Missing data for required field.")
		}
		return 0, false
	}
	n, ok := oldInt(raw)
	if !ok {
		f.fail(name, "Not a valid integer.")
	}
	return n, ok
}

// boolean reads marshmallow's lenient Boolean.
func (f *form) boolean(name string) (*bool, bool) {
	raw, ok := f.raw[name]
	if !ok {
		return nil, true
	}
	var v any
	_ = json.Unmarshal(raw, &v)
	var s string
	switch x := v.(type) {
	case bool:
		return &x, true
	case float64:
		s = strconv.FormatFloat(x, 'f', -1, 64)
	case string:
		s = strings.ToLower(x)
	}
	switch s {
	case "1", "true", "t", "yes", "y", "on":
		t := true
		return &t, true
	case "0", "false", "f", "no", "n", "off":
		b := false
		return &b, true
	}
	f.fail(name, "Not a valid boolean.")
	return nil, false
}

// oldInt reads an id as the old service matched them: a JSON integer, or
// a string of digits.
func oldInt(raw json.RawMessage) (int64, bool) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if dec.Decode(&v) != nil {
		return 0, false
	}
	switch x := v.(type) {
	case json.Number:
		n, err := x.Int64()
		return n, err == nil
	case string:
		return parseOldID(strings.TrimSpace(x))
	}
	return 0, false
}

// controlChars says why s cannot be stored, or "": NUL never (no store
// holds it), other control characters but tab and line breaks only in
// secrets.
func controlChars(s string, secret bool) string {
	for _, r := range s {
		switch {
		case r == 0:
			return "Must not contain NUL characters."
		case !secret && (r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f):
			return "Must not contain control characters."
		}
	}
	return ""
}

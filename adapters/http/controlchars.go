package http

import (
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/ums-project/ums/domain"
)

// Text a client sends is refused at the edge, with a 422 naming the field,
// when it holds characters no field of ours can mean:
//
//   - NUL (U+0000) everywhere: Postgres text cannot hold it and the SQL
//     layer refuses it, so letting it through would turn a client's mistake
//     into a 500. Passwords included: no keyboard types it, and C-string
//     code (some bcrypt ports, libpq) stops at it, so a password holding it
//     could mean different things to different verifiers.
//   - in JSON bodies, the other C0 controls except tab, newline and carriage
//     return, and DEL: no name, email, slug or token contains them, and
//     stored they would corrupt logs, exports and consoles. Secrets people
//     type (passwordFields) are exempt: a password may be any character a
//     keyboard produces, and it is only ever hashed.
//   - in query parameters and the path, every C0 control and DEL: none of
//     them is multi-line text.
const codeInvalidCharacters = "invalid_characters"

// passwordFields are the JSON names of the secrets people type; only NUL
// is refused in them.
var passwordFields = map[string]bool{"password": true, "current_password": true, "new_password": true}

// controlCharError describes s, or returns "" when s is acceptable. lenient
// admits tab, newline and carriage return; secret admits every control
// character except NUL.
func controlCharError(s string, lenient, secret bool) string {
	if strings.IndexByte(s, 0) >= 0 {
		return "must not contain NUL characters"
	}
	if secret {
		return ""
	}
	for i := 0; i < len(s); i++ {
		// Bytes below 0x80 are always whole characters in UTF-8, so a
		// byte scan cannot misread part of a multi-byte character.
		b := s[i]
		if b >= 0x20 && b != 0x7f {
			continue
		}
		if lenient && (b == '\t' || b == '\n' || b == '\r') {
			continue
		}
		return "must not contain control characters"
	}
	return ""
}

// checkBodyText walks a decoded request body and reports every string
// field holding characters the API refuses. Fields are named by their JSON
// names, nested ones by a dotted and indexed path (checks[0].org_id).
func checkBodyText(v any) []domain.FieldError {
	var out []domain.FieldError
	walkText(reflect.ValueOf(v), "", "", &out)
	return out
}

// walkText visits v, found at path under the JSON name leaf (which decides
// whether it is a password field).
func walkText(v reflect.Value, path, leaf string, out *[]domain.FieldError) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkText(v.Elem(), path, leaf, out)
		}
	case reflect.String:
		if msg := controlCharError(v.String(), true, passwordFields[leaf]); msg != "" {
			*out = append(*out, domain.FieldError{Field: fieldPath(path), Code: codeInvalidCharacters, Message: msg})
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if f.Anonymous && name == "" {
				// encoding/json promotes an embedded struct's exported
				// fields, even when the embedded type is unexported.
				walkText(v.Field(i), path, leaf, out)
				continue
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			walkText(v.Field(i), joinPath(path, name), name, out)
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			walkText(v.Index(i), fmt.Sprintf("%s[%d]", path, i), leaf, out)
		}
	case reflect.Map:
		keys := v.MapKeys()
		// Sorted, so the errors come in the same order on every request.
		sort.Slice(keys, func(i, j int) bool { return mapKey(keys[i]) < mapKey(keys[j]) })
		for _, k := range keys {
			name := mapKey(k)
			if msg := controlCharError(name, false, false); msg != "" {
				// The key itself cannot be echoed back as a field name.
				*out = append(*out, domain.FieldError{Field: fieldPath(path), Code: codeInvalidCharacters, Message: "keys " + msg})
				continue
			}
			walkText(v.MapIndex(k), joinPath(path, name), name, out)
		}
	}
}

// mapKey is a map key as JSON spells it; request bodies only have string
// keys, other kinds are named for completeness.
func mapKey(k reflect.Value) string {
	if k.Kind() == reflect.String {
		return k.String()
	}
	return fmt.Sprint(k)
}

func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// fieldPath names the body itself when a top-level value is the culprit.
func fieldPath(path string) string {
	if path == "" {
		return "body"
	}
	return path
}

// refuseControlChars answers 422 for a request whose query parameters or
// path hold NUL or other control characters, before any handler or store
// sees them. Only requests that matched a route are checked: an unknown
// route or method keeps its 404 or 405.
func refuseControlChars() echo.MiddlewareFunc {
	var (
		once   sync.Once
		routes map[string]bool
	)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			// Routes are all registered before the server starts; reading
			// them on the first request needs no ordering in NewServer.
			once.Do(func() {
				routes = map[string]bool{}
				for _, r := range c.Echo().Routes() {
					routes[r.Method+" "+r.Path] = true
				}
			})
			if !routes[c.Request().Method+" "+c.Path()] {
				return next(c)
			}
			if fields := checkRequestText(c); len(fields) > 0 {
				return domain.Invalid(fields...)
			}
			return next(c)
		}
	}
}

// checkRequestText reports the query parameters (by name) and the path
// that hold control characters.
func checkRequestText(c echo.Context) []domain.FieldError {
	var out []domain.FieldError
	query := c.QueryParams()
	names := make([]string, 0, len(query))
	for name := range query {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if msg := controlCharError(name, false, false); msg != "" {
			// A name that cannot be echoed back is reported as the query.
			out = append(out, domain.FieldError{Field: "query", Code: codeInvalidCharacters, Message: "parameter names " + msg})
			continue
		}
		for _, v := range query[name] {
			if msg := controlCharError(v, false, false); msg != "" {
				out = append(out, domain.FieldError{Field: name, Code: codeInvalidCharacters, Message: msg})
				break
			}
		}
	}
	// The decoded path covers every path parameter; the parameters are
	// checked too because Echo unescapes them itself when the raw path
	// carries escapes the decoded one does not.
	path := []string{c.Request().URL.Path}
	path = append(path, c.ParamValues()...)
	for _, p := range path {
		if msg := controlCharError(p, false, false); msg != "" {
			out = append(out, domain.FieldError{Field: "path", Code: codeInvalidCharacters, Message: msg})
			break
		}
	}
	return out
}

// refuseBadFormText is the same edge for the browser pages and the OAuth
// endpoints, which take forms and queries rather than JSON: NUL and
// invalid UTF-8 are refused in every value (the stores cannot hold them;
// SQLite's SQL text would be cut at a NUL), other control characters
// except tab, newline and carriage return in every field but passwords.
func refuseBadFormText() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			path := c.Request().URL.Path
			if !strings.HasPrefix(path, "/ui/") && !strings.HasPrefix(path, "/oauth/") {
				return next(c)
			}
			// Forms here are a few short fields; a megabyte is plenty.
			c.Request().Body = http.MaxBytesReader(c.Response(), c.Request().Body, 1<<20)
			if err := c.Request().ParseForm(); err != nil {
				var tooBig *http.MaxBytesError
				if errors.As(err, &tooBig) {
					return echo.NewHTTPError(http.StatusRequestEntityTooLarge, "the form is too large")
				}
				return domain.Invalid(domain.FieldError{Field: "form", Code: "malformed", Message: "the form could not be read"})
			}
			var out []domain.FieldError
			names := make([]string, 0, len(c.Request().Form))
			for name := range c.Request().Form {
				names = append(names, name)
			}
			sort.Strings(names)
			for _, name := range names {
				if !utf8.ValidString(name) || controlCharError(name, false, false) != "" {
					out = append(out, domain.FieldError{Field: "form", Code: codeInvalidCharacters, Message: "field names must be plain text"})
					continue
				}
				secret := strings.Contains(name, "password") || strings.Contains(name, "secret")
				for _, v := range c.Request().Form[name] {
					msg := controlCharError(v, true, secret)
					if msg == "" && !utf8.ValidString(v) {
						msg = "must be valid UTF-8"
					}
					if msg != "" {
						out = append(out, domain.FieldError{Field: name, Code: codeInvalidCharacters, Message: msg})
						break
					}
				}
			}
			if len(out) > 0 {
				return domain.Invalid(out...)
			}
			return next(c)
		}
	}
}

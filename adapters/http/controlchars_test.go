package http

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"github.com/ums-project/ums/domain"
)

func TestCheckBodyText(t *testing.T) {
	type inner struct {
		Name  string   `json:"name"`
		Tags  []string `json:"tags,omitempty"`
		Notes *string  `json:"notes"`
	}
	type embedded struct {
		Promoted string `json:"promoted"`
	}
	type body struct {
		embedded
		Login           string            `json:"login"`
		Password        string            `json:"password"`
		CurrentPassword string            `json:"current_password"`
		NewPassword     *string           `json:"new_password"`
		Nested          inner             `json:"nested"`
		List            []inner           `json:"list"`
		Ptr             *inner            `json:"ptr"`
		Labels          map[string]string `json:"labels"`
		Ignored         string            `json:"-"`
		NoTag           string
		hidden          string
	}
	str := func(s string) *string { return &s }
	nul := domain.FieldError{Code: codeInvalidCharacters, Message: "must not contain NUL characters"}
	ctl := domain.FieldError{Code: codeInvalidCharacters, Message: "must not contain control characters"}
	at := func(fe domain.FieldError, field string) domain.FieldError { fe.Field = field; return fe }

	for _, tc := range []struct {
		name string
		in   body
		want []domain.FieldError
	}{
		{name: "clean", in: body{Login: "ada", Password: "correct horse", Nested: inner{Name: "Ada Lovelace", Notes: str("é ü 中文 🙂")}}},
		{name: "tab newline and carriage return are text", in: body{Login: "a\tb", Nested: inner{Notes: str("line one\r\nline two")}}},
		{name: "NUL in a plain field", in: body{Login: "a\x00b"}, want: []domain.FieldError{at(nul, "login")}},
		{name: "other C0 control", in: body{Login: "a\x01b"}, want: []domain.FieldError{at(ctl, "login")}},
		{name: "escape", in: body{Login: "\x1b[31mred"}, want: []domain.FieldError{at(ctl, "login")}},
		{name: "DEL", in: body{Login: "a\x7f"}, want: []domain.FieldError{at(ctl, "login")}},
		{name: "NUL wins over other controls", in: body{Login: "\x01\x00"}, want: []domain.FieldError{at(nul, "login")}},
		{name: "password takes any control but NUL",
			in: body{Password: "\x01\x1b\x7f\t", CurrentPassword: "\x08bell\x07", NewPassword: str("\x1f\x7f")}},
		{name: "NUL in password refused", in: body{Password: "pass\x00word"}, want: []domain.FieldError{at(nul, "password")}},
		{name: "NUL in current and new password refused", in: body{CurrentPassword: "\x00", NewPassword: str("a\x00")},
			want: []domain.FieldError{at(nul, "current_password"), at(nul, "new_password")}},
		{name: "nested struct", in: body{Nested: inner{Name: "a\x00"}}, want: []domain.FieldError{at(nul, "nested.name")}},
		{name: "nested pointer field", in: body{Nested: inner{Notes: str("\x02")}}, want: []domain.FieldError{at(ctl, "nested.notes")}},
		{name: "slice of structs and strings",
			in:   body{List: []inner{{Name: "ok"}, {Name: "x\x00", Tags: []string{"fine", "b\x03d"}}}},
			want: []domain.FieldError{at(nul, "list[1].name"), at(ctl, "list[1].tags[1]")}},
		{name: "pointer to struct", in: body{Ptr: &inner{Name: "\x7f"}}, want: []domain.FieldError{at(ctl, "ptr.name")}},
		{name: "nil pointers are skipped", in: body{Ptr: nil, NewPassword: nil}},
		{name: "map values and keys", in: body{Labels: map[string]string{"b": "\x00", "a": "ok", "c\x01": "v"}},
			want: []domain.FieldError{at(nul, "labels.b"),
				{Field: "labels", Code: codeInvalidCharacters, Message: "keys must not contain control characters"}}},
		{name: "embedded struct fields are promoted", in: body{embedded: embedded{Promoted: "\x00"}}, want: []domain.FieldError{at(nul, "promoted")}},
		{name: "untagged field uses the Go name", in: body{NoTag: "\x05"}, want: []domain.FieldError{at(ctl, "NoTag")}},
		{name: "json:\"-\" and unexported fields are not input", in: body{Ignored: "\x00", hidden: "\x00"}},
		{name: "every offending field is reported", in: body{Login: "\x00", Password: "\x00", Nested: inner{Name: "\x01"}},
			want: []domain.FieldError{at(nul, "login"), at(nul, "password"), at(ctl, "nested.name")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			got := checkBodyText(&in)
			// Map iteration is sorted by key, so the order is fixed.
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestBindJSONRefusesNUL: the decoder accepts \u0000 (it is valid JSON),
// so bindJSON itself must turn it into a 422 naming the field.
func TestBindJSONRefusesNUL(t *testing.T) {
	e := echo.New()
	bind := func(body string, dst any) error {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		req.Header.Set(echo.HeaderContentType, "application/json")
		return bindJSON(e.NewContext(req, httptest.NewRecorder()), 1024, dst)
	}
	var login loginRequest
	err := bind(`{"login":"a\u0000b","password":"x"}`, &login)
	var de *domain.Error
	require.True(t, errors.As(err, &de), "%v", err)
	p, _ := toProblem(err)
	assert.Equal(t, http.StatusUnprocessableEntity, p.Status)
	assert.Equal(t, "validation_failed", p.Code)
	assert.Equal(t, []ProblemField{{Field: "login", Code: codeInvalidCharacters, Message: "must not contain NUL characters"}}, p.Errors)

	var change passwordChangeRequest
	require.NoError(t, bind(`{"current_password":"\u0001\u001b\u007f","new_password":"tab\tand\u0007bell"}`, &change),
		"passwords may hold any character but NUL")

	var batch authorizeBatchRequest
	err = bind(`{"checks":[{"org_id":"x","permissions":["ok","a\u0000"]}]}`, &batch)
	require.True(t, errors.As(err, &de), "%v", err)
	assert.Equal(t, "checks[0].permissions[1]", de.Fields[0].Field)
}

func TestRefuseControlCharsInQueryAndPath(t *testing.T) {
	e := echo.New()
	e.HTTPErrorHandler = errorHandler(zap.NewNop(), nil)
	e.Use(refuseControlChars())
	ok := func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }
	e.GET("/items", ok)
	e.DELETE("/items/:name", ok)

	for _, tc := range []struct {
		method, target string
		status         int
		fields         []string
	}{
		{http.MethodGet, "/items?q=plain%20text&q=%C3%A9", http.StatusNoContent, nil},
		{http.MethodGet, "/items?q=a%00b", http.StatusUnprocessableEntity, []string{"q"}},
		{http.MethodGet, "/items?q=a%09b", http.StatusUnprocessableEntity, []string{"q"}},
		{http.MethodGet, "/items?limit=1&q=ok&q=%7F", http.StatusUnprocessableEntity, []string{"q"}},
		{http.MethodGet, "/items?a=%01&b=%1B", http.StatusUnprocessableEntity, []string{"a", "b"}},
		{http.MethodGet, "/items?x%00y=1", http.StatusUnprocessableEntity, []string{"query"}},
		{http.MethodDelete, "/items/a%00b", http.StatusUnprocessableEntity, []string{"path"}},
		{http.MethodDelete, "/items/a%0Ab", http.StatusUnprocessableEntity, []string{"path"}},
		{http.MethodDelete, "/items/a%2Fb%01", http.StatusUnprocessableEntity, []string{"path"}},
		{http.MethodDelete, "/items/fine", http.StatusNoContent, nil},
		// Unknown routes and methods keep their 404 and 405.
		{http.MethodGet, "/nowhere/a%00b", http.StatusNotFound, nil},
		{http.MethodPut, "/items?q=%00", http.StatusMethodNotAllowed, nil},
	} {
		t.Run(tc.method+" "+tc.target, func(t *testing.T) {
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.target, nil))
			require.Equal(t, tc.status, rec.Code, rec.Body.String())
			if tc.fields == nil {
				return
			}
			var p Problem
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p))
			assert.Equal(t, "validation_failed", p.Code)
			var fields []string
			for _, f := range p.Errors {
				assert.Equal(t, codeInvalidCharacters, f.Code)
				fields = append(fields, f.Field)
			}
			assert.Equal(t, tc.fields, fields)
		})
	}
}

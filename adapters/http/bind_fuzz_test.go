package http

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/ums-project/ums/domain"
)

// requestBodies makes a fresh value of every request body type the API
// decodes with bindJSON.
var requestBodies = []func() any{
	func() any { return new(registerRequest) }, func() any { return new(loginRequest) },
	func() any { return new(refreshRequest) }, func() any { return new(passwordChangeRequest) },
	func() any { return new(passwordForgotRequest) }, func() any { return new(passwordResetRequest) },
	func() any { return new(emailChangeRequest) }, func() any { return new(tokenRequest) },
	func() any { return new(codeRequest) }, func() any { return new(mfaDisableRequest) },
	func() any { return new(createUserRequest) }, func() any { return new(userPatchRequest) },
	func() any { return new(passwordRequest) }, func() any { return new(orgRequest) },
	func() any { return new(memberRequest) }, func() any { return new(roleRequest) },
	func() any { return new(rolePermissionsRequest) }, func() any { return new(grantRequest) },
	func() any { return new(permissionRequest) }, func() any { return new(authorizeRequest) },
	func() any { return new(authorizeBatchRequest) }, func() any { return new(profilePatch) },
}

// FuzzBindJSON: for every request body type, any body and content type is
// either decoded or refused as the client's fault (400, 413, 415, or 422
// for NUL and control characters), never a panic or an error that would
// become a 500. Seeds are in testdata/fuzz/FuzzBindJSON.
func FuzzBindJSON(f *testing.F) {
	f.Add(uint8(0), "application/json", []byte(`{"email":"a@b.co","username":"abc","password":"correct horse battery staple"}`))
	f.Add(uint8(20), "application/json; charset=utf-8", []byte(`{"org_id":"x","permissions":["a.b"],"user_id":null}`))
	f.Add(uint8(21), "application/problem+json", []byte(`{"checks":[{"org_id":"x","permissions":[]}]}`))
	f.Add(uint8(1), "application/json", []byte(`{"login":"a\u0000b","password":"x"}`))
	f.Add(uint8(3), "application/json", []byte(`{"current_password":"\u0001\u007f","new_password":"\u0000"}`))
	f.Add(uint8(20), "application/json", []byte(`{"user_id":"\u001b","checks":[{"org_id":"x","permissions":["a\u0000"]}]}`))
	e := echo.New()
	f.Fuzz(func(t *testing.T, kind uint8, contentType string, body []byte) {
		dst := requestBodies[int(kind)%len(requestBodies)]()
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(string(body)))
		req.Header.Set(echo.HeaderContentType, contentType)
		c := e.NewContext(req, httptest.NewRecorder())
		err := bindJSON(c, 1024, dst)
		if err == nil {
			return
		}
		var de *domain.Error
		if errors.As(err, &de) {
			if de.Kind != domain.KindInvalid || len(de.Fields) == 0 {
				t.Fatalf("%T: domain error %v is not a validation failure with fields", dst, err)
			}
			return
		}
		var re *requestError
		if !errors.As(err, &re) {
			t.Fatalf("%T: error %v is not a request error (it would be a 500)", dst, err)
		}
		switch re.status {
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
		default:
			t.Fatalf("%T: status %d for a malformed body", dst, re.status)
		}
		if p, _ := toProblem(err); p.Status >= 500 {
			t.Fatalf("%T: mapped to %d", dst, p.Status)
		}
	})
}

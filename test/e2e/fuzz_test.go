package e2e

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/ums-project/ums/test/dbtest"
)

// FuzzRegisterNeverAnswers5xx: whatever a client sends, the answer is a
// contract-valid response below 500. `make test` runs the seeds; run
// `go test -fuzz FuzzRegister ./test/e2e` to explore further.
func FuzzRegisterNeverAnswers5xx(f *testing.F) {
	for _, seed := range []string{
		``, `null`, `{}`, `[]`, `"x"`, `1e999`, `{"email":{}}`, `{"email":[1,2]}`,
		`{"email":"a@b.co","username":"abc","password":"` + "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" + `"}`,
		`{"email":"a@b.co","username":"abc","password":"\ud800\ud800\ud800\ud800\ud800\ud800\ud800"}`,
		`{"email":"a@b.co","username":"abc","password":"correct horse battery staple","first_name":"\u0000"}`,
		`{"email":"\u0000@b.co","username":"abc","password":"correct horse battery staple"}`,
		`{"email":"a@b.co","username":"abc","password":"correct horse battery staple","last_name":"` + string([]byte{0xff, 0xfe}) + `"}`,
		`{"email":"a@b.co","email":"c@d.co","username":"dup","password":"correct horse battery staple"}`,
		`{"EMAIL":"a@b.co"}`, `{"username":"` + string(bytes.Repeat([]byte("é"), 40)) + `"}`,
	} {
		f.Add(seed)
	}
	s := startServer(f, dbtest.SQLiteURL(f), nil)
	f.Fuzz(func(t *testing.T, body string) {
		res := s.request(t, http.MethodPost, registerPath, "application/json", bytes.NewReader([]byte(body)), nil)
		if res.Status >= 500 {
			t.Fatalf("status %d for body %q", res.Status, body)
		}
	})
}

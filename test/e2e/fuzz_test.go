package e2e

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/ums-project/ums/test/dbtest"
)

// fuzzServers starts one server per store for a body fuzzer: SQLite always,
// Postgres whenever it is reachable (and required under CI=true), because
// the stores refuse different inputs (Postgres text cannot hold NUL, for
// one). Under `go test -fuzz` every worker process starts its own.
func fuzzServers(f *testing.F) []*server {
	f.Helper()
	servers := []*server{startServer(f, dbtest.SQLiteURL(f), nil)}
	if dbtest.PostgresAvailable() {
		servers = append(servers, startServer(f, dbtest.PostgresURL(f), nil))
	} else {
		f.Log("postgres unreachable: fuzzing on SQLite only")
	}
	return servers
}

// fuzzBodyOnEveryStore posts body to path on every server and fails on any
// 5xx; s.request also checks the answer against the contract.
func fuzzBodyOnEveryStore(t *testing.T, servers []*server, path, body string) {
	t.Helper()
	for _, s := range servers {
		res := s.request(t, http.MethodPost, path, "application/json", bytes.NewReader([]byte(body)), nil)
		if res.Status >= 500 {
			t.Fatalf("%s: status %d for body %q", s.dbURL, res.Status, body)
		}
	}
}

// bodySeeds are shapes every body fuzzer starts from: not objects, wrong
// types, and the characters that once answered 500 (NUL) or are refused at
// the edge (control characters), escaped and raw.
var bodySeeds = []string{
	``, `null`, `{}`, `[]`, `"x"`, `1e999`, `{"a":"\u0000"}`, "{\"a\":\"\x00\"}",
}

// FuzzRegisterNeverAnswers5xx: whatever a client sends, the answer is a
// contract-valid response below 500, on SQLite and on Postgres. `make test`
// runs the seeds; `go test -fuzz FuzzRegister ./test/e2e` explores further.
func FuzzRegisterNeverAnswers5xx(f *testing.F) {
	seeds := append([]string{}, bodySeeds...)
	seeds = append(seeds,
		`{"email":{}}`, `{"email":[1,2]}`,
		`{"email":"a@b.co","username":"abc","password":"`+"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"+`"}`,
		`{"email":"a@b.co","username":"abc","password":"\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000"}`,
		`{"email":"a@b.co","username":"abc","password":"\ud800\ud800\ud800\ud800\ud800\ud800\ud800"}`,
		`{"email":"a@b.co","username":"abc","password":"correct horse battery staple","first_name":"\u0000"}`,
		`{"email":"a@b.co","username":"abc","password":"correct horse battery staple","last_name":"Love\u0000lace"}`,
		`{"email":"\u0000@b.co","username":"abc","password":"correct horse battery staple"}`,
		`{"email":"a@b.co","username":"a\u0000bc","password":"correct horse battery staple"}`,
		`{"email":"a@b.co","username":"a\u001bbc","password":"correct horse battery staple"}`,
		`{"email":"c@d.co","username":"cde","password":"correct\u0001horse\u007fbattery staple"}`,
		`{"email":"a@b.co","username":"abc","password":"correct horse battery staple","last_name":"`+string([]byte{0xff, 0xfe})+`"}`,
		`{"email":"a@b.co","email":"c@d.co","username":"dup","password":"correct horse battery staple"}`,
		`{"EMAIL":"a@b.co"}`, `{"username":"`+string(bytes.Repeat([]byte("é"), 40))+`"}`,
	)
	for _, seed := range seeds {
		f.Add(seed)
	}
	servers := fuzzServers(f)
	f.Fuzz(func(t *testing.T, body string) {
		fuzzBodyOnEveryStore(t, servers, registerPath, body)
	})
}

// FuzzLoginNeverAnswers5xx: a login body, whatever it holds, is answered
// below 500 on both stores. The login text reaches a store lookup, which
// is where a NUL used to become a 500. The seeds include a real account so
// the fuzzer also explores wrong passwords, lockouts and MFA codes.
func FuzzLoginNeverAnswers5xx(f *testing.F) {
	seeds := append([]string{}, bodySeeds...)
	seeds = append(seeds,
		`{"login":{}}`, `{"login":["fuzzer"]}`, `{"login":"fuzzer","password":12}`,
		`{"login":"fuzzer","password":"`+testPass+`"}`,
		`{"login":"fuzzer@example.com","password":"wrong password"}`,
		`{"login":"fuzzer","password":"`+testPass+`","mfa_code":"123456"}`,
		`{"login":"a\u0000b","password":"x"}`,
		`{"login":"fuzzer\u0000","password":"`+testPass+`"}`,
		`{"login":"fuzzer","password":"`+testPass+`\u0000"}`,
		`{"login":"fuzzer","password":"x","mfa_code":"\u0000"}`,
		`{"login":"\u0001\u001b[2J\u007f","password":"\u0001\u007f"}`,
		`{"login":"\ud800","password":"\udfff"}`,
		`{"login":"`+string([]byte{0xc3, 0x28})+`","password":"x"}`,
		`{"login":"`+string(bytes.Repeat([]byte("x"), 4096))+`","password":"x"}`,
		`{"login":"' OR 1=1 --","password":"x"}`, `{"login":"%00","password":"x"}`,
		`{"login":"fuzzer","password":"x","extra":true}`,
	)
	for _, seed := range seeds {
		f.Add(seed)
	}
	servers := fuzzServers(f)
	account, err := json.Marshal(validRegistration("fuzzer"))
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range servers {
		// s.request wants a *testing.T; the setup needs no contract check.
		res, err := s.client.Post(s.base+registerPath, "application/json", bytes.NewReader(account))
		if err != nil {
			f.Fatal(err)
		}
		_ = res.Body.Close()
		if res.StatusCode != http.StatusCreated {
			f.Fatalf("register the fuzzer's account: status %d", res.StatusCode)
		}
	}
	f.Fuzz(func(t *testing.T, body string) {
		fuzzBodyOnEveryStore(t, servers, loginPath, body)
	})
}

package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/test/flask"
)

// legacySecret plays the old service's JWT_SECRET_KEY in these tests.
const legacySecret = "the-old-service-secret-for-tests"

// legacyRes is an answer of the old API. The old API is not in the
// OpenAPI document: its contract is ../shared/ref/lhums-api.md, checked
// here shape by shape.
type legacyRes struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body as an object.
func (r legacyRes) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &m), string(r.Body))
	return m
}

// legacy sends a request to the old API the way the old Django client
// did: JSON content type always, the bearer when it has one.
func (s *server) legacy(t *testing.T, method, path, token string, body any) legacyRes {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.base+"/api"+path, r)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := s.client.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Less(t, res.StatusCode, 500, "%s %s answered %d: %s", method, path, res.StatusCode, b)
	assert.Equal(t, "application/json", res.Header.Get("Content-Type"), "%s %s", method, path)
	return legacyRes{Status: res.StatusCode, Header: res.Header, Body: b}
}

// legacyWorld is a UMS with the old API on, after importing the old
// database: the old accounts sign in with their old passwords.
type legacyWorld struct {
	s   *server
	exp flaskExpected
}

func newLegacyWorld(t *testing.T, dbURL string, env map[string]string) *legacyWorld {
	t.Helper()
	// The old service's policy: five passwords of history.
	vars := map[string]string{"LEGACY_API": "true", "LEGACY_JWT_SECRET": legacySecret, "LOGIN_MAX_FAILURES": "50",
		"PASSWORD_HISTORY": "5"}
	for k, v := range env {
		vars[k] = v
	}
	s := startServer(t, dbURL, vars)
	src := flask.New(t, "sqlite")
	runFlaskImport(t, s, src.DSN, false)
	return &legacyWorld{s: s, exp: loadFlaskExpected(t)}
}

// user is an imported account of the fixture by old id.
func (w *legacyWorld) user(t *testing.T, id int64) flaskUser {
	t.Helper()
	for _, u := range w.exp.Users {
		if u.ID == id {
			return u
		}
	}
	t.Fatalf("no user %d in the fixture", id)
	return flaskUser{}
}

// login signs an old account in through the old API and returns its
// tokens.
func (w *legacyWorld) login(t *testing.T, id int64) (access, refresh string) {
	t.Helper()
	u := w.user(t, id)
	res := w.s.legacy(t, http.MethodPost, "/auth/login", "", map[string]any{"username": u.Username, "password": u.Password})
	require.Equal(t, http.StatusOK, res.Status, string(res.Body))
	body := res.JSON(t)
	return body["access_token"].(string), body["refresh_token"].(string)
}

// The old objects' keys and JSON types (lhums-api.md §5).
var (
	oldUserKeys = map[string]string{
		"id": "number", "username": "string", "email": "string", "first_name": "string", "last_name": "string",
		"is_active": "bool", "is_admin": "bool", "email_verified": "bool", "locked_until": "time?",
		"failed_login_attempts": "number", "last_login_at": "time?", "password_changed_at": "time?",
		"password_expires_at": "time?", "password_history": "null", "require_password_change": "bool",
		"two_factor_enabled": "bool", "two_factor_secret": "null", "created_at": "time", "updated_at": "time",
	}
	oldLabKeys = map[string]string{"id": "number", "name": "string", "code": "string", "description": "string",
		"is_active": "bool", "created_at": "time", "updated_at": "time"}
	oldMembershipKeys = map[string]string{"id": "null", "user_id": "number", "lab_id": "number", "role": "string",
		"is_active": "bool", "joined_at": "time", "user": "object?", "lab": "object"}
)

// assertShape checks that v is an object with exactly the keys of shape,
// each of its type ("?" allows null), integer ids integral.
func assertShape(t *testing.T, v any, shape map[string]string, what string) {
	t.Helper()
	obj, ok := v.(map[string]any)
	require.True(t, ok, "%s is an object: %v", what, v)
	var keys, want []string
	for k := range obj {
		keys = append(keys, k)
	}
	for k := range shape {
		want = append(want, k)
	}
	sort.Strings(keys)
	sort.Strings(want)
	require.Equal(t, want, keys, "%s has the old keys", what)
	for k, typ := range shape {
		val := obj[k]
		if val == nil {
			assert.True(t, typ == "null" || typ[len(typ)-1] == '?', "%s.%s may not be null", what, k)
			continue
		}
		switch typ {
		case "number":
			n, ok := val.(float64)
			assert.True(t, ok && n == float64(int64(n)), "%s.%s is an integer: %v", what, k, val)
		case "string":
			assert.IsType(t, "", val, "%s.%s", what, k)
		case "bool":
			assert.IsType(t, true, val, "%s.%s", what, k)
		case "time", "time?":
			s, ok := val.(string)
			assert.True(t, ok && oldTimeFormat(s), "%s.%s is a naive ISO time: %v", what, k, val)
		case "object", "object?":
			assert.IsType(t, map[string]any{}, val, "%s.%s", what, k)
		default:
			t.Errorf("%s.%s should be %s, is %v", what, k, typ, val)
		}
	}
}

// oldTimeFormat is Python's isoformat of a naive datetime: no zone, six
// digits of microseconds or none.
func oldTimeFormat(s string) bool {
	return (len(s) == len("2006-01-02T15:04:05") || len(s) == len("2006-01-02T15:04:05.000000")) &&
		s[10] == 'T' && s[len(s)-1] != 'Z'
}

// assertFamily checks an error answer's status and family: "error"
// ({"error": text}), "errors" ({"errors": {field: [text]}}) or "msg".
func assertFamily(t *testing.T, res legacyRes, status int, family string, what string) map[string]any {
	t.Helper()
	require.Equal(t, status, res.Status, "%s: %s", what, res.Body)
	body := res.JSON(t)
	switch family {
	case "error":
		assert.IsType(t, "", body["error"], "%s: {\"error\": text}: %s", what, res.Body)
	case "msg":
		assert.IsType(t, "", body["msg"], "%s: {\"msg\": text}: %s", what, res.Body)
		assert.Len(t, body, 1, what)
	case "errors":
		fields, ok := body["errors"].(map[string]any)
		require.True(t, ok, "%s: {\"errors\": {…}}: %s", what, res.Body)
		for f, msgs := range fields {
			list, ok := msgs.([]any)
			assert.True(t, ok && len(list) > 0, "%s: errors.%s is a list of messages", what, f)
		}
		assert.Len(t, body, 1, what)
	}
	return body
}

package sqlstore

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestStatementSpanNames(t *testing.T) {
	for query, want := range map[string]string{
		"SELECT id, email FROM users WHERE id = ?":                               "SELECT users",
		"SELECT subject, stamp FROM access_stamps WHERE subject IN (?, ?)":       "SELECT access_stamps",
		"INSERT INTO login_attempts (identifier, failures) VALUES (?, 1)":        "INSERT login_attempts",
		"  update refresh_tokens SET used_at = ? WHERE id = ? RETURNING id":      "UPDATE refresh_tokens",
		"WITH spent AS (UPDATE refresh_tokens SET x = 1) SELECT * FROM sessions": "WITH sessions",
		"SELECT 1": "SELECT",
		"":         "query",
	} {
		assert.Equal(t, want, statementSpanName(query), query)
	}
	// The hot paths' statements get their names when declared.
	for want, q := range map[string]prepared{"SELECT users": userByID, "SELECT access_stamps": accessStamps,
		"SELECT refresh_tokens": refreshTokenWithSession} {
		assert.Equal(t, want, q.span, q.sqlite)
	}
}

package sqlstore

import (
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPrepareNumbersPlaceholdersForPostgres(t *testing.T) {
	q := prepare("SELECT a FROM t WHERE b = ? AND c IN (?, ?)")
	assert.Equal(t, "SELECT a FROM t WHERE b = ? AND c IN (?, ?)", q.sqlite)
	assert.Equal(t, "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)", q.postgres)
}

// The prepared read of a user names its columns; one added to userRow and
// not to the statement would come back zero.
func TestUserByIDSelectsEveryColumnOfTheRow(t *testing.T) {
	typ := reflect.TypeOf(userRow{})
	for i := range typ.NumField() {
		tag := typ.Field(i).Tag.Get("bun")
		name, _, _ := strings.Cut(tag, ",")
		if name == "" || strings.HasPrefix(tag, "table:") {
			continue
		}
		assert.Regexp(t, `[\s,]`+name+`[,\s]`, userByID.sqlite, "column %s", name)
	}
}

package sqlstore

import (
	"encoding/base64"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
)

// Page sizes of keyset-paginated lists.
const (
	keysetDefaultLimit = 50
	keysetMaxLimit     = 200
)

// keyset is the position of the last row of a page in a list ordered by
// (time, id) ascending; the next page starts strictly after it. The list
// name is part of the cursor so a cursor of one list is refused by another.
type keyset struct {
	list string
	at   time.Time
	id   uuid.UUID
}

// encode makes the opaque cursor: base64url of "list|rfc3339nano|uuid".
func (k keyset) encode() string {
	raw := k.list + "|" + k.at.UTC().Format(time.RFC3339Nano) + "|" + k.id.String()
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// decodeKeyset reads a cursor of list back; "" is the first page (ok
// false). A malformed cursor, or one of another list, is a KindInvalid
// error on field "cursor".
func decodeKeyset(list, cursor string) (k keyset, ok bool, err error) {
	if cursor == "" {
		return keyset{}, false, nil
	}
	bad := domain.Invalid(domain.FieldError{Field: "cursor", Code: "invalid_cursor",
		Message: "is not a cursor returned by this list"})
	raw, derr := base64.RawURLEncoding.DecodeString(cursor)
	if derr != nil {
		return keyset{}, false, bad
	}
	parts := strings.Split(string(raw), "|")
	if len(parts) != 3 || parts[0] != list {
		return keyset{}, false, bad
	}
	at, terr := time.Parse(time.RFC3339Nano, parts[1])
	id, ierr := uuid.Parse(parts[2])
	if terr != nil || ierr != nil {
		return keyset{}, false, bad
	}
	return keyset{list: list, at: at.UTC(), id: id}, true, nil
}

// keysetLimit applies the default and the maximum page size.
func keysetLimit(limit int) int {
	switch {
	case limit <= 0:
		return keysetDefaultLimit
	case limit > keysetMaxLimit:
		return keysetMaxLimit
	}
	return limit
}

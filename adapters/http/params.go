package http

import (
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// pathID reads a uuid path parameter; anything else names nothing that
// exists, so it is the resource's 404.
func pathID(c echo.Context, name string, notFound *domain.Error) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Param(name))
	if err != nil {
		return uuid.Nil, notFound
	}
	return id, nil
}

// queryParams collects every malformed query parameter into one 422.
type queryParams struct {
	c      echo.Context
	fields []domain.FieldError
}

func (q *queryParams) uuid(name string) *uuid.UUID {
	v := q.c.QueryParam(name)
	if v == "" {
		return nil
	}
	id, err := uuid.Parse(v)
	if err != nil {
		q.fields = append(q.fields, domain.FieldError{Field: name, Code: "invalid_uuid", Message: "must be a UUID"})
		return nil
	}
	return &id
}

func (q *queryParams) boolean(name string) *bool {
	v := q.c.QueryParam(name)
	if v == "" {
		return nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		q.fields = append(q.fields, domain.FieldError{Field: name, Code: "invalid_boolean", Message: "must be true or false"})
		return nil
	}
	return &b
}

func (q *queryParams) time(name string) *time.Time {
	v := q.c.QueryParam(name)
	if v == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		q.fields = append(q.fields, domain.FieldError{Field: name, Code: "invalid_time", Message: "must be an RFC 3339 time"})
		return nil
	}
	return &t
}

func (q *queryParams) page() ports.Page {
	p := ports.Page{Cursor: q.c.QueryParam("cursor")}
	if v := q.c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			q.fields = append(q.fields, domain.FieldError{Field: "limit", Code: "invalid_limit", Message: "must be between 1 and 200"})
		}
		p.Limit = n
	}
	if len(p.Cursor) > 512 {
		q.fields = append(q.fields, domain.FieldError{Field: "cursor", Code: "invalid_cursor", Message: "is not a cursor this API made"})
	}
	return p
}

func (q *queryParams) err() error {
	if len(q.fields) == 0 {
		return nil
	}
	return domain.Invalid(q.fields...)
}

// listResponse is the envelope of every list: items and, when more
// follow, the cursor of the next page.
type listResponse[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

func list[T any](c echo.Context, items []T, next string) error {
	if items == nil {
		items = []T{}
	}
	return c.JSON(http.StatusOK, listResponse[T]{Items: items, NextCursor: next})
}

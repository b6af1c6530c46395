package http

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
)

// dependencyDown reports an error that means a dependency (the database)
// could not be reached or dropped the connection mid-request. The
// client's request was fine and may succeed on retry, so it is answered
// 503 with Retry-After, not 500. Drivers wrap these causes (pgx keeps
// the net.Error or io.ErrUnexpectedEOF it met), so the standard library's
// types are enough to recognize them without knowing the driver; pgx also
// marks errors that happened before a connection was used (such as a
// connection found closed) with SafeToRetry.
func dependencyDown(err error) bool {
	var (
		ne    net.Error
		retry interface{ SafeToRetry() bool }
	)
	return errors.As(err, &ne) ||
		(errors.As(err, &retry) && retry.SafeToRetry()) ||
		errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, driver.ErrBadConn) ||
		errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, context.DeadlineExceeded)
}

// unavailableProblem is the answer while a dependency is down.
func unavailableProblem() (Problem, int) {
	return Problem{Status: http.StatusServiceUnavailable, Code: "unavailable",
		Detail: "a dependency of the service is unavailable; retry shortly"}, 2
}

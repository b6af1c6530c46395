package http

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/ums-project/ums/domain"
)

func TestProblemsComeFromDomainKindsOnly(t *testing.T) {
	down := domain.Unavailable("unavailable", "a dependency is down", 2*time.Second)
	p, retry := toProblem(fmt.Errorf("select user: %w: %w", down, io.ErrUnexpectedEOF))
	assert.Equal(t, http.StatusServiceUnavailable, p.Status, "a store's unavailable error")
	assert.Equal(t, 2, retry)

	for name, err := range map[string]error{
		"a bug":         errors.New("a bug"),
		"a raw network": fmt.Errorf("select user: %w", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}),
	} {
		p, _ := toProblem(err)
		assert.Equal(t, http.StatusInternalServerError, p.Status,
			"%s: the HTTP adapter does not guess at driver errors; the adapter that met one translates it", name)
		assert.Equal(t, "internal_error", p.Code)
	}
}

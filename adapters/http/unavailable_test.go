package http

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
)

// lockErr stands for pgx's "conn closed" error, which marks itself safe
// to retry because nothing was sent.
type lockErr struct{}

func (lockErr) Error() string     { return "conn closed" }
func (lockErr) SafeToRetry() bool { return true }

func TestDependencyFailuresAre503NotInternal(t *testing.T) {
	for name, err := range map[string]error{
		"dial refused": fmt.Errorf("select user: %w", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}),
		"dropped":      fmt.Errorf("failed to connect: failed to receive message: %w", io.ErrUnexpectedEOF),
		"conn closed":  fmt.Errorf("create user: %w", lockErr{}),
	} {
		p, retry := toProblem(err)
		assert.Equal(t, http.StatusServiceUnavailable, p.Status, name)
		assert.Positive(t, retry, name)
	}
	p, _ := toProblem(errors.New("a bug"))
	assert.Equal(t, http.StatusInternalServerError, p.Status, "anything else is still internal")
}

package application

import (
	"context"
	"time"

	"github.com/ums-project/ums/domain"
)

// resetQueueSize bounds the reset requests waiting for the worker; a
// flood beyond it is refused (503) rather than held in memory.
const resetQueueSize = 1024

// resetRequests hands "forgot password" requests to a background worker,
// so the request costs the same whether or not the address has an
// account. A request lost in a crash costs its sender one more click.
type resetRequests struct {
	queue chan resetRequest
	send  func(context.Context, domain.Email) error
}

type resetRequest struct {
	addr domain.Email
	// info is the request's origin, for the audit record made later.
	info domain.RequestInfo
}

func newResetRequests(send func(context.Context, domain.Email) error) *resetRequests {
	return &resetRequests{queue: make(chan resetRequest, resetQueueSize), send: send}
}

func (r *resetRequests) enqueue(ctx context.Context, addr domain.Email) error {
	select {
	case r.queue <- resetRequest{addr: addr, info: domain.RequestInfoFrom(ctx)}:
		return nil
	default:
		return domain.Unavailable("overloaded", "too many password reset requests are waiting; retry shortly", 5*time.Second)
	}
}

// run works the queue until ctx ends.
func (r *resetRequests) run(ctx context.Context, onError func(error)) {
	for {
		select {
		case <-ctx.Done():
			return
		case req := <-r.queue:
			sendCtx, cancel := context.WithTimeout(domain.WithRequestInfo(ctx, req.info), 30*time.Second)
			if err := r.send(sendCtx, req.addr); err != nil && ctx.Err() == nil {
				onError(err)
			}
			cancel()
		}
	}
}

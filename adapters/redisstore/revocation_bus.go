package redisstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

const (
	healthInterval = 30 * time.Second
	confirmTimeout = 5 * time.Second
	backoffMin     = 100 * time.Millisecond
	backoffMax     = 2 * time.Second
)

// errResubscribed reports that the client replaced the subscription's
// connection on its own; what was published meanwhile is lost.
var errResubscribed = errors.New("redis subscription was re-established by the client")

// RevocationBus is a ports.RevocationBus over Redis pub/sub, on the
// channel prefix+"session-revoked".
type RevocationBus struct {
	client  redis.UniversalClient
	channel string
	log     *zap.Logger
	// health is how long a subscription waits in silence before it pings
	// Redis, so a dead connection is noticed.
	health time.Duration

	wg sync.WaitGroup
}

var _ ports.RevocationBus = (*RevocationBus)(nil)

// NewRevocationBus returns a bus on client. prefix namespaces the channel
// (instances that should hear each other share it); reconnect warnings go
// to log (nil for none). The bus does not own client.
func NewRevocationBus(client redis.UniversalClient, prefix string, log *zap.Logger) *RevocationBus {
	if log == nil {
		log = zap.NewNop()
	}
	channel := prefix + "session-revoked"
	return &RevocationBus{
		client:  client,
		channel: channel,
		log:     log.With(zap.String("channel", channel)),
		health:  healthInterval,
	}
}

// Publish sends revoked as one JSON message, [{"sid":…,"at":…}, …].
func (b *RevocationBus) Publish(ctx context.Context, revoked []domain.RevokedSession) error {
	if len(revoked) == 0 {
		return nil
	}
	msgs := make([]wireRevocation, len(revoked))
	for i, r := range revoked {
		msgs[i] = wireRevocation{SID: r.SessionID, At: r.RevokedAt.UTC()}
	}
	payload, err := json.Marshal(msgs)
	if err != nil {
		return fmt.Errorf("encode revocations: %w", err)
	}
	if err := b.client.Publish(ctx, b.channel, payload).Err(); err != nil {
		return fmt.Errorf("publish revocations: %w", err)
	}
	return nil
}

// Subscribe subscribes to the channel on a connection of its own and
// delivers to h from a goroutine of its own until ctx ends. Each time
// Redis has confirmed the subscription — at first and after every
// reconnection — it calls h.Resync before reading any message; when the
// connection breaks (or stays silent through a ping) or a Resync fails it
// calls h.Lost (once per outage) and subscribes again with a backoff
// growing to 2s.
//
// Subscribe returns nil once the first attempt is confirmed and resynced,
// or that attempt's error — and then keeps retrying in the background
// until ctx ends.
func (b *RevocationBus) Subscribe(ctx context.Context, h ports.RevocationHandler) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	first := make(chan error, 1)
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		b.run(ctx, h, first)
	}()
	return <-first
}

// Wait blocks until every subscription has ended: its context is done and
// its goroutine and connection are gone.
func (b *RevocationBus) Wait() { b.wg.Wait() }

// run keeps one subscription alive until ctx ends. It sends the outcome of
// the first attempt to first.
func (b *RevocationBus) run(ctx context.Context, h ports.RevocationHandler, first chan<- error) {
	reported := false
	report := func(err error) {
		if !reported {
			reported = true
			first <- err
		}
	}
	lost := false
	delay := backoffMin
	for {
		err := b.listen(ctx, h, func() {
			report(nil)
			lost = false
			delay = backoffMin
		})
		if ctx.Err() != nil {
			report(ctx.Err())
			return
		}
		if !lost {
			lost = true
			h.Lost(err)
		}
		// After Lost, so Subscribe returns with the handler told.
		report(err)
		wait := jitter(delay)
		b.log.Warn("revocation subscription down; resubscribing", zap.Error(err), zap.Duration("retry_in", wait))
		if !sleep(ctx, wait) {
			return
		}
		delay = min(2*delay, backoffMax)
	}
}

// listen subscribes, waits for Redis's confirmation, resyncs h, calls
// listening and then delivers messages until the subscription fails or
// ctx ends.
func (b *RevocationBus) listen(ctx context.Context, h ports.RevocationHandler, listening func()) error {
	ps := b.client.Subscribe(ctx, b.channel)
	// Receiving does not watch ctx; closing the PubSub ends a blocked
	// receive.
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() })
	defer func() {
		stop()
		_ = ps.Close()
	}()

	for confirmed := false; !confirmed; {
		msg, err := ps.ReceiveTimeout(ctx, confirmTimeout)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("subscribe: %w", err)
		}
		s, ok := msg.(*redis.Subscription)
		confirmed = ok && s.Kind == "subscribe" && s.Channel == b.channel
	}
	if err := h.Resync(ctx); err != nil {
		return fmt.Errorf("resync: %w", err)
	}
	listening()

	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, b.health)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			if !isTimeout(err) || pinged {
				return fmt.Errorf("receive: %w", err)
			}
			// Silence for a whole interval: the pong, or its absence by the
			// next timeout, tells whether Redis is still there.
			if err := ps.Ping(ctx); err != nil {
				return fmt.Errorf("ping: %w", err)
			}
			pinged = true
			continue
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Message:
			b.deliver(ctx, h, m.Payload)
		case *redis.Subscription:
			// The client reconnects by itself in some cases and subscribes
			// again; messages may have been lost in between.
			if m.Kind == "subscribe" && m.Channel == b.channel {
				return errResubscribed
			}
		}
	}
}

func (b *RevocationBus) deliver(ctx context.Context, h ports.RevocationHandler, payload string) {
	revoked, err := decodeRevocations(payload)
	if err != nil {
		// The payload is not logged: it is not ours, and may be large.
		b.log.Warn("ignoring malformed revocation message", zap.Int("bytes", len(payload)), zap.Error(err))
		return
	}
	if ctx.Err() != nil {
		return
	}
	h.Revoked(revoked)
}

// wireRevocation is one revoked session on the wire.
type wireRevocation struct {
	SID uuid.UUID `json:"sid"`
	At  time.Time `json:"at"`
}

func decodeRevocations(payload string) ([]domain.RevokedSession, error) {
	var msgs []wireRevocation
	if err := json.Unmarshal([]byte(payload), &msgs); err != nil {
		return nil, errors.New("not a JSON array of revocations")
	}
	out := make([]domain.RevokedSession, 0, len(msgs))
	for _, m := range msgs {
		if m.SID == uuid.Nil || m.At.IsZero() {
			return nil, errors.New("revocation without session id or time")
		}
		out = append(out, domain.RevokedSession{SessionID: m.SID, RevokedAt: m.At.UTC()})
	}
	return out, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// jitter spreads resubscriptions of many instances: d ± 20%.
func jitter(d time.Duration) time.Duration {
	return d - d/5 + rand.N(2*d/5+1)
}

// sleep waits d, or reports false when ctx ends first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

package crypto

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alexedwards/argon2id"
	"golang.org/x/crypto/argon2"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// HasherConfig sets the argon2id cost and the pool that bounds memory use.
type HasherConfig struct {
	MemoryKiB   uint32
	Iterations  uint32
	Parallelism uint8
	// Concurrency is how many hashes run at once; each holds MemoryKiB.
	Concurrency int
	// MaxQueue is how many callers may wait for a slot; more are refused.
	MaxQueue int
	// QueueTimeout is how long a caller waits for a slot before refusal.
	QueueTimeout time.Duration
}

// HasherStats are the pool's gauges, for metrics.
type HasherStats struct {
	Running int64
	Queued  int64
	// Rejected counts refusals (queue full or waited too long), Shed
	// those of them refused at once, without waiting; Waits and WaitNanos
	// count the callers that queued and their total wait.
	Rejected  uint64
	Shed      uint64
	Waits     uint64
	WaitNanos uint64
}

// Hasher hashes passwords with argon2id. At most Concurrency hashes run at
// once; a login storm queues briefly and is then refused with
// domain.ErrHashingOverloaded rather than exhausting memory. A caller is
// refused at once, rather than after QueueTimeout, when the hashes ahead
// of it would take longer than that at the pace the pool keeps: under
// overload the answer is a quick 503, never a queue that holds clients
// for seconds.
type Hasher struct {
	params  *argon2id.Params
	slots   chan struct{}
	cfg     HasherConfig
	queued  atomic.Int64
	running atomic.Int64
	// held is a moving average of how long a hash holds its slot, in
	// nanoseconds; 0 until the first hash.
	held atomic.Int64
	// admitted counts the requests Admit let through and not yet released.
	admitted atomic.Int64

	rejected  atomic.Uint64
	shed      atomic.Uint64
	waits     atomic.Uint64
	waitNanos atomic.Uint64
}

var (
	_ ports.PasswordHasher = (*Hasher)(nil)
	_ ports.ImportedHashes = (*Hasher)(nil)
)

// NewHasher validates cfg and returns a Hasher.
func NewHasher(cfg HasherConfig) (*Hasher, error) {
	if cfg.MemoryKiB < 8*1024 || cfg.Iterations < 1 || cfg.Parallelism < 1 {
		return nil, errors.New("argon2id parameters below the safe minimum (8 MiB, t=1, p=1)")
	}
	if cfg.Concurrency < 1 || cfg.MaxQueue < 0 || cfg.QueueTimeout <= 0 {
		return nil, errors.New("hash pool needs concurrency >= 1, queue >= 0 and a positive queue timeout")
	}
	return &Hasher{
		params: &argon2id.Params{Memory: cfg.MemoryKiB, Iterations: cfg.Iterations,
			Parallelism: cfg.Parallelism, SaltLength: 16, KeyLength: 32},
		slots: make(chan struct{}, cfg.Concurrency),
		cfg:   cfg,
	}, nil
}

// Hash implements ports.PasswordHasher.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	release, err := h.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	enc, err := argon2id.CreateHash(password, h.params)
	if err != nil {
		return "", fmt.Errorf("argon2id: %w", err)
	}
	return enc, nil
}

// Verify implements ports.PasswordHasher. Hashes imported from other
// products (see legacy_hash.go) are recognised by their prefix, checked in
// the same pool and always asked to be re-made as argon2id.
func (h *Hasher) Verify(ctx context.Context, password, encoded string) (bool, bool, error) {
	if !strings.HasPrefix(encoded, "$argon2id$") {
		return h.verifyLegacy(ctx, password, encoded)
	}
	release, err := h.acquire(ctx)
	if err != nil {
		return false, false, err
	}
	defer release()
	match, p, err := argon2id.CheckHash(password, encoded)
	if err != nil {
		return false, false, fmt.Errorf("argon2id: %w", err)
	}
	rehash := p.Memory != h.params.Memory || p.Iterations != h.params.Iterations ||
		p.Parallelism != h.params.Parallelism || p.KeyLength != h.params.KeyLength
	return match, match && rehash, nil
}

// CurrentPrefix implements ports.PasswordHasher: argon2id's encoding
// starts with the version and the parameters, before the salt.
func (h *Hasher) CurrentPrefix() string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$", argon2.Version, h.params.Memory, h.params.Iterations, h.params.Parallelism)
}

// Stats returns the pool's current load.
func (h *Hasher) Stats() HasherStats {
	return HasherStats{Running: h.running.Load(), Queued: h.queued.Load(),
		Rejected: h.rejected.Load(), Shed: h.shed.Load(), Waits: h.waits.Load(), WaitNanos: h.waitNanos.Load()}
}

func (h *Hasher) acquire(ctx context.Context) (func(), error) {
	var since time.Time
	release := func() {
		h.observe(time.Since(since))
		h.running.Add(-1)
		<-h.slots
	}
	select {
	case h.slots <- struct{}{}:
		h.running.Add(1)
		since = time.Now()
		return release, nil
	default:
	}
	if pos := h.queued.Add(1); pos > int64(h.cfg.MaxQueue) || h.expectedWait(pos) > h.cfg.QueueTimeout {
		h.queued.Add(-1)
		h.rejected.Add(1)
		h.shed.Add(1)
		return nil, domain.ErrHashingOverloaded
	}
	defer h.queued.Add(-1)
	start := time.Now()
	timer := time.NewTimer(h.cfg.QueueTimeout)
	defer timer.Stop()
	select {
	case h.slots <- struct{}{}:
		h.running.Add(1)
		h.waits.Add(1)
		h.waitNanos.Add(uint64(time.Since(start)))
		since = time.Now()
		return release, nil
	case <-timer.C:
		h.rejected.Add(1)
		return nil, domain.ErrHashingOverloaded
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Admit implements ports.PasswordHasher. Every admitted request counts
// until released, so a burst is judged by everything it will ask of the
// pool, not only by the hashes already queued: the requests beyond the
// slots are the queue to come, and one whose turn would come after
// QueueTimeout, or beyond the queue's size, is refused.
func (h *Hasher) Admit() (func(), error) {
	n := h.admitted.Add(1)
	if waiting := n - int64(h.cfg.Concurrency); waiting > 0 &&
		(waiting > int64(h.cfg.MaxQueue) || h.expectedWait(waiting) > h.cfg.QueueTimeout) {
		h.admitted.Add(-1)
		h.rejected.Add(1)
		h.shed.Add(1)
		return nil, domain.ErrHashingOverloaded
	}
	var once sync.Once
	return func() { once.Do(func() { h.admitted.Add(-1) }) }, nil
}

// observe folds one hash's slot time into the moving average (weight 1/8).
func (h *Hasher) observe(d time.Duration) {
	for {
		old := h.held.Load()
		next := int64(d)
		if old != 0 {
			next = old + (int64(d)-old)/8
		}
		if h.held.CompareAndSwap(old, next) {
			return
		}
	}
}

// expectedWait is how long the caller at position pos of the queue will
// wait for a slot: pos hashes of average length shared by the slots. It
// is 0 before any hash was measured.
func (h *Hasher) expectedWait(pos int64) time.Duration {
	return time.Duration(pos * h.held.Load() / int64(h.cfg.Concurrency))
}

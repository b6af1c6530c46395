package crypto_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/adapters/crypto"
	"github.com/ums-project/ums/domain"
)

func testConfig() crypto.HasherConfig {
	return crypto.HasherConfig{MemoryKiB: 8 * 1024, Iterations: 1, Parallelism: 1,
		Concurrency: 2, MaxQueue: 4, QueueTimeout: 5 * time.Second}
}

func TestHasherVerifiesWhatItHashed(t *testing.T) {
	h, err := crypto.NewHasher(testConfig())
	require.NoError(t, err)
	ctx := context.Background()
	enc, err := h.Hash(ctx, "correct horse battery staple")
	require.NoError(t, err)
	assert.Contains(t, enc, "$argon2id$v=19$m=8192,t=1,p=1$")

	match, rehash, err := h.Verify(ctx, "correct horse battery staple", enc)
	require.NoError(t, err)
	assert.True(t, match)
	assert.False(t, rehash)

	match, _, err = h.Verify(ctx, "wrong horse battery staple", enc)
	require.NoError(t, err)
	assert.False(t, match)
}

func TestHasherAsksForRehashWhenParametersChanged(t *testing.T) {
	old, err := crypto.NewHasher(testConfig())
	require.NoError(t, err)
	enc, err := old.Hash(context.Background(), "correct horse battery staple")
	require.NoError(t, err)

	cfg := testConfig()
	cfg.Iterations = 2
	cur, err := crypto.NewHasher(cfg)
	require.NoError(t, err)
	match, rehash, err := cur.Verify(context.Background(), "correct horse battery staple", enc)
	require.NoError(t, err)
	assert.True(t, match)
	assert.True(t, rehash)
}

func TestHasherRefusesBeyondItsQueue(t *testing.T) {
	cfg := testConfig()
	cfg.Concurrency, cfg.MaxQueue, cfg.QueueTimeout = 1, 1, 50*time.Millisecond
	cfg.MemoryKiB, cfg.Iterations = 64*1024, 8 // slow enough to keep the slot busy
	h, err := crypto.NewHasher(cfg)
	require.NoError(t, err)

	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() { defer wg.Done(); _, errs[i] = h.Hash(context.Background(), "correct horse battery staple") }()
	}
	wg.Wait()
	ok, refused := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case assert.ErrorIs(t, err, domain.ErrHashingOverloaded):
			refused++
		}
	}
	assert.GreaterOrEqual(t, ok, 1)
	assert.GreaterOrEqual(t, refused, 1, "a full pool must refuse, not pile up")
	st := h.Stats()
	assert.Zero(t, st.Running, "pool drains back to idle")
	assert.Zero(t, st.Queued, "pool drains back to idle")
	assert.Equal(t, uint64(refused), st.Rejected, "every refusal is counted")
}

func TestHasherRejectsUnsafeParameters(t *testing.T) {
	cfg := testConfig()
	cfg.MemoryKiB = 1024
	_, err := crypto.NewHasher(cfg)
	assert.Error(t, err)
}

func TestHasherCurrentPrefixStartsEveryNewHashOnly(t *testing.T) {
	h, err := crypto.NewHasher(crypto.HasherConfig{MemoryKiB: 8 * 1024, Iterations: 1, Parallelism: 1, Concurrency: 1, MaxQueue: 1, QueueTimeout: time.Second})
	require.NoError(t, err)
	enc, err := h.Hash(context.Background(), "a long enough password")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(enc, h.CurrentPrefix()), "%s does not start with %s", enc, h.CurrentPrefix())

	other, err := crypto.NewHasher(crypto.HasherConfig{MemoryKiB: 9 * 1024, Iterations: 1, Parallelism: 1, Concurrency: 1, MaxQueue: 1, QueueTimeout: time.Second})
	require.NoError(t, err)
	assert.False(t, strings.HasPrefix(enc, other.CurrentPrefix()), "other parameters, other prefix")
	assert.False(t, strings.HasPrefix("pbkdf2:sha256:600000$salt$ab", h.CurrentPrefix()))
}

// A caller whose turn would come after the queue timeout, at the pace the
// pool has kept, is refused at once instead of waiting to be refused.
func TestHasherRefusesAtOnceWhatItCouldNotServeInTime(t *testing.T) {
	cfg := testConfig()
	cfg.Concurrency, cfg.MaxQueue = 1, 64
	cfg.MemoryKiB, cfg.Iterations = 64*1024, 8 // tens of milliseconds per hash
	h, err := crypto.NewHasher(cfg)
	require.NoError(t, err)
	ctx := context.Background()
	started := time.Now()
	_, err = h.Hash(ctx, "correct horse battery staple")
	require.NoError(t, err)
	pace := time.Since(started)

	cfg.QueueTimeout = pace * 3 / 2 // room for one hash ahead, not two
	h, err = crypto.NewHasher(cfg)
	require.NoError(t, err)
	_, err = h.Hash(ctx, "correct horse battery staple") // the pace, measured
	require.NoError(t, err)

	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _, _ = h.Hash(ctx, "correct horse battery staple") }()
	require.Eventually(t, func() bool { return h.Stats().Running == 1 }, 5*time.Second, time.Millisecond)
	const n = 5
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() { defer wg.Done(); _, errs[i] = h.Hash(ctx, "correct horse battery staple") }()
	}
	wg.Wait()
	refused := 0
	for _, err := range errs {
		if err != nil {
			require.ErrorIs(t, err, domain.ErrHashingOverloaded)
			refused++
		}
	}
	st := h.Stats()
	assert.GreaterOrEqual(t, refused, 3, "behind a running hash, only one more fits in one and a half hashes")
	assert.Equal(t, uint64(refused), st.Rejected)
	assert.GreaterOrEqual(t, st.Shed, uint64(3), "refused at once, not after waiting for the timeout")
}

func TestHasherAdmitsWhatItCouldServeInTime(t *testing.T) {
	cfg := testConfig()
	cfg.Concurrency, cfg.MaxQueue, cfg.QueueTimeout = 1, 2, time.Second
	h, err := crypto.NewHasher(cfg)
	require.NoError(t, err)
	var releases []func()
	for range 3 { // one slot and a queue of two
		release, err := h.Admit()
		require.NoError(t, err)
		releases = append(releases, release)
	}
	_, err = h.Admit()
	assert.ErrorIs(t, err, domain.ErrHashingOverloaded, "a fourth request would wait beyond the queue")
	releases[0]()
	releases[0]() // releasing twice gives back one place
	release, err := h.Admit()
	require.NoError(t, err, "a released place is free again")
	release()
	_, err = h.Admit()
	require.NoError(t, err)
	_, err = h.Admit()
	assert.ErrorIs(t, err, domain.ErrHashingOverloaded)
}

// Admission follows the pace: with hashes measured, the requests admitted
// beyond the slots may wait at most the queue timeout.
func TestHasherAdmitsByThePaceOfThePool(t *testing.T) {
	cfg := testConfig()
	cfg.Concurrency, cfg.MaxQueue = 1, 1000
	cfg.MemoryKiB, cfg.Iterations = 64*1024, 4
	h, err := crypto.NewHasher(cfg)
	require.NoError(t, err)
	started := time.Now()
	_, err = h.Hash(context.Background(), "correct horse battery staple")
	require.NoError(t, err)
	pace := time.Since(started)

	cfg.QueueTimeout = 3*pace + pace/2
	h, err = crypto.NewHasher(cfg)
	require.NoError(t, err)
	_, err = h.Hash(context.Background(), "correct horse battery staple")
	require.NoError(t, err)
	admitted := 0
	for range 20 {
		if _, err := h.Admit(); err == nil {
			admitted++
		}
	}
	assert.InDelta(t, 4, admitted, 1, "one slot and about three and a half hashes of waiting")
}

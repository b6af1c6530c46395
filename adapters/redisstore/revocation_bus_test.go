package redisstore

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/ums-project/ums/ports"
	"github.com/ums-project/ums/ports/porttest"
	"github.com/ums-project/ums/test/dbtest"
)

func TestRevocationBusContract(t *testing.T) {
	porttest.RunRevocationBus(t, func(t *testing.T) (a, b ports.RevocationBus) {
		// Two clients, as two instances would have.
		ca, prefix := testRedis(t)
		cb, _ := testRedis(t)
		return NewRevocationBus(ca, prefix, nil), NewRevocationBus(cb, prefix, nil)
	})
}

func TestRevocationBusResubscribesAfterTheConnectionIsKilled(t *testing.T) {
	name := "ums-test-" + randomHex()
	client, prefix := testRedis(t, func(o *redis.Options) { o.ClientName = name })
	bus := NewRevocationBus(client, prefix, nil)
	h := subscribeUntilEnd(t, bus)
	require.Equal(t, 1, h.ResyncCount())

	require.Equal(t, 1, killSubscribers(t, client, name), "exactly one subscribed connection")
	require.Eventually(t, func() bool { return h.LostCount() == 1 }, 5*time.Second, 10*time.Millisecond, "Lost after the kill")
	require.Eventually(t, func() bool { return h.ResyncCount() == 2 }, 5*time.Second, 10*time.Millisecond, "a new Resync after resubscribing")

	want := porttest.RevokedSessions(2)
	require.NoError(t, bus.Publish(context.Background(), want))
	h.WaitFor(t, want, time.Second)
	assert.Equal(t, 1, h.LostCount())
}

func TestRevocationBusRetriesWhenTheFirstAttemptFails(t *testing.T) {
	_, prefix := testRedis(t) // skips without Redis
	addr := freeAddr(t)
	client := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	t.Cleanup(func() { _ = client.Close() })
	bus := NewRevocationBus(client, prefix, nil)
	h := porttest.NewRecordingHandler()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); waitOrFail(t, bus.Wait) })
	require.Error(t, bus.Subscribe(ctx, h), "nothing listens at %s yet", addr)
	assert.Equal(t, 1, h.LostCount())
	assert.Equal(t, 0, h.ResyncCount())

	startProxy(t, addr)
	require.Eventually(t, func() bool { return h.ResyncCount() == 1 }, 10*time.Second, 10*time.Millisecond)
	want := porttest.RevokedSessions(1)
	require.NoError(t, bus.Publish(context.Background(), want))
	h.WaitFor(t, want, time.Second)
	assert.Equal(t, 1, h.LostCount(), "one outage, one Lost")
}

func TestRevocationBusNoticesASilentConnection(t *testing.T) {
	_, prefix := testRedis(t)
	proxy := startProxy(t, freeAddr(t))
	client := redis.NewClient(&redis.Options{Addr: proxy.addr})
	t.Cleanup(func() { _ = client.Close() })
	bus := NewRevocationBus(client, prefix, nil)
	bus.health = 100 * time.Millisecond
	h := subscribeUntilEnd(t, bus)

	// The connection stays open but nothing comes through any more, as
	// when a peer vanished without a word.
	proxy.freeze()
	require.Eventually(t, func() bool { return h.LostCount() == 1 }, 5*time.Second, 10*time.Millisecond, "Lost after an unanswered ping")
	require.Eventually(t, func() bool { return h.ResyncCount() == 2 }, 5*time.Second, 10*time.Millisecond, "resubscribed on a new connection")
	want := porttest.RevokedSessions(1)
	require.NoError(t, bus.Publish(context.Background(), want))
	h.WaitFor(t, want, time.Second)
}

func TestRevocationBusSurvivesIdleHealthChecks(t *testing.T) {
	client, prefix := testRedis(t)
	bus := NewRevocationBus(client, prefix, nil)
	bus.health = 50 * time.Millisecond
	h := subscribeUntilEnd(t, bus)
	time.Sleep(400 * time.Millisecond)
	want := porttest.RevokedSessions(3)
	require.NoError(t, bus.Publish(context.Background(), want))
	h.WaitFor(t, want, time.Second)
	assert.Equal(t, 0, h.LostCount())
	assert.Equal(t, 1, h.ResyncCount())
}

func TestRevocationBusRetriesFailedResync(t *testing.T) {
	client, prefix := testRedis(t)
	bus := NewRevocationBus(client, prefix, nil)
	h := porttest.NewRecordingHandler()
	h.ResyncErr = assert.AnError
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); waitOrFail(t, bus.Wait) })
	require.ErrorIs(t, bus.Subscribe(ctx, h), assert.AnError)
	require.Eventually(t, func() bool { return h.ResyncCount() >= 3 }, 5*time.Second, 10*time.Millisecond,
		"Resync is retried")
	assert.Equal(t, 1, h.LostCount(), "Lost once per outage, not once per failed attempt")
}

func TestRevocationBusIgnoresMalformedMessages(t *testing.T) {
	client, prefix := testRedis(t)
	core, logs := observer.New(zapcore.WarnLevel)
	bus := NewRevocationBus(client, prefix, zap.New(core))
	h := subscribeUntilEnd(t, bus)

	ctx := context.Background()
	for _, p := range []string{"not json secret-ish", `{"sid":1}`, `[{"sid":"00000000-0000-0000-0000-000000000000","at":"2024-01-01T00:00:00Z"}]`} {
		require.NoError(t, client.Publish(ctx, prefix+"session-revoked", p).Err())
	}
	want := porttest.RevokedSessions(1)
	require.NoError(t, bus.Publish(ctx, want))
	h.WaitFor(t, want, time.Second)
	assert.Len(t, logs.FilterMessage("ignoring malformed revocation message").All(), 3)
	for _, e := range logs.All() {
		assert.NotContains(t, e.Message+" "+fmt.Sprint(e.ContextMap()), "secret-ish", "payloads are not logged")
	}
	assert.Equal(t, 0, h.LostCount())
}

func TestRevocationBusKeepsThePasswordOutOfErrorsAndLogs(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	client := redis.NewClient(&redis.Options{Addr: freeAddr(t), Password: "hunter2-secret", MaxRetries: -1})
	t.Cleanup(func() { _ = client.Close() })
	bus := NewRevocationBus(client, "ums-test-"+randomHex()+":", zap.New(core))
	ctx, cancel := context.WithCancel(context.Background())
	err := bus.Subscribe(ctx, porttest.NewRecordingHandler())
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "hunter2")
	require.Eventually(t, func() bool { return logs.Len() >= 1 }, 2*time.Second, 10*time.Millisecond, "reconnect warnings")
	cancel()
	waitOrFail(t, bus.Wait)
	for _, e := range logs.All() {
		assert.NotContains(t, e.Message+" "+fmt.Sprint(e.ContextMap()), "hunter2")
	}
}

func subscribeUntilEnd(t *testing.T, bus *RevocationBus) *porttest.RecordingHandler {
	t.Helper()
	h := porttest.NewRecordingHandler()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); waitOrFail(t, bus.Wait) })
	require.NoError(t, bus.Subscribe(ctx, h))
	return h
}

// killSubscribers kills the subscribed connections named name and returns
// how many there were.
func killSubscribers(t *testing.T, client *redis.Client, name string) int {
	t.Helper()
	ctx := context.Background()
	list, err := client.ClientList(ctx).Result()
	require.NoError(t, err)
	killed := 0
	sc := bufio.NewScanner(strings.NewReader(list))
	for sc.Scan() {
		fields := map[string]string{}
		for _, f := range strings.Fields(sc.Text()) {
			k, v, _ := strings.Cut(f, "=")
			fields[k] = v
		}
		if fields["name"] != name || fields["sub"] == "0" || fields["sub"] == "" {
			continue
		}
		require.NoError(t, client.Do(ctx, "CLIENT", "KILL", "ID", fields["id"]).Err())
		killed++
	}
	return killed
}

func waitOrFail(t *testing.T, wait func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("subscription goroutines still running 5s after their contexts ended")
	}
}

// freeAddr returns a loopback address nothing listens on (for now).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// proxy forwards TCP connections at addr to the test Redis server. Frozen
// connections stay open but carry nothing.
type proxy struct {
	addr   string
	ln     net.Listener
	mu     sync.Mutex
	frozen []*atomic.Bool
	conns  []net.Conn
	wg     sync.WaitGroup
}

func startProxy(t *testing.T, addr string) *proxy {
	t.Helper()
	opt, err := redis.ParseURL(dbtest.RequireRedis(t))
	require.NoError(t, err)
	ln, err := net.Listen("tcp", addr)
	require.NoError(t, err)
	p := &proxy{addr: addr, ln: ln}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			upstream, err := net.Dial("tcp", opt.Addr)
			if err != nil {
				_ = c.Close()
				continue
			}
			frozen := new(atomic.Bool)
			p.mu.Lock()
			p.frozen = append(p.frozen, frozen)
			p.conns = append(p.conns, c, upstream)
			p.mu.Unlock()
			p.wg.Add(2)
			go p.pipe(c, upstream, frozen)
			go p.pipe(upstream, c, frozen)
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		p.mu.Lock()
		for _, c := range p.conns {
			_ = c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

func (p *proxy) pipe(dst, src net.Conn, frozen *atomic.Bool) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !frozen.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				err = werr
			}
		}
		if err != nil {
			_ = dst.Close()
			_ = src.Close()
			return
		}
	}
}

// freeze silences every connection open now; later ones work.
func (p *proxy) freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range p.frozen {
		f.Store(true)
	}
}

package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/ums-project/ums/ports"
	"github.com/ums-project/ums/ports/porttest"
	"github.com/ums-project/ums/test/dbtest"
)

// These tests sit inside the package to shorten the listener's health
// interval; everything else goes through the exported API.

func TestNotifyBusContract(t *testing.T) {
	porttest.RunRevocationBus(t, func(t *testing.T) (a, b ports.RevocationBus) {
		dbURL := dbtest.PostgresURL(t)
		channel := uniqueChannel()
		return newTestNotifyBus(t, dbURL, channel, nil), newTestNotifyBus(t, dbURL, channel, nil)
	})
}

func TestNotifyBusPayloadsStayUnderTheLimit(t *testing.T) {
	want := porttest.RevokedSessions(1000)
	payloads, err := encodeNotifyPayloads(want, maxNotifyPayload)
	require.NoError(t, err)
	require.Greater(t, len(payloads), 1, "1000 revocations do not fit one notification")
	var got []string
	for _, p := range payloads {
		assert.LessOrEqual(t, len(p), maxNotifyPayload)
		batch, err := decodeNotifyPayload(p)
		require.NoError(t, err)
		for _, r := range batch {
			got = append(got, r.SessionID.String()+"@"+r.RevokedAt.Format(time.RFC3339Nano))
		}
	}
	require.Len(t, got, len(want))
	for i, r := range want {
		assert.Equal(t, r.SessionID.String()+"@"+r.RevokedAt.Format(time.RFC3339Nano), got[i])
	}

	one, err := encodeNotifyPayloads(want[:1], maxNotifyPayload)
	require.NoError(t, err)
	assert.Len(t, one, 1)
	assert.Contains(t, one[0], `"sid":"`+want[0].SessionID.String()+`"`)
}

func TestNotifyBusReconnectsAfterTheBackendIsKilled(t *testing.T) {
	dbURL := dbtest.PostgresURL(t)
	bus := newTestNotifyBus(t, dbURL, uniqueChannel(), nil)
	h := subscribeUntilEnd(t, bus)
	require.Equal(t, 1, h.ResyncCount())

	admin := openAdmin(t, dbURL)
	res, err := admin.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = $1 AND pid <> pg_backend_pid()`, ListenerApplicationName)
	require.NoError(t, err)
	n, err := res.RowsAffected()
	require.NoError(t, err)
	require.EqualValues(t, 1, n, "exactly one listener connection")

	require.Eventually(t, func() bool { return h.LostCount() == 1 }, 5*time.Second, 10*time.Millisecond, "Lost after the kill")
	require.Eventually(t, func() bool { return h.ResyncCount() == 2 }, 5*time.Second, 10*time.Millisecond, "a new Resync after reconnecting")

	want := porttest.RevokedSessions(2)
	require.NoError(t, bus.Publish(context.Background(), want))
	h.WaitFor(t, want, time.Second)
	assert.Equal(t, 1, h.LostCount())
}

func TestNotifyBusRetriesWhenTheFirstAttemptFails(t *testing.T) {
	// The database does not exist yet, so the first attempt fails; once
	// it exists, the background retry succeeds.
	adminURL := dbtest.PostgresURL(t) // also skips without Postgres
	admin := openAdmin(t, adminURL)
	name := "ums_test_late_" + randomHex()
	t.Cleanup(func() { _, _ = admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)") })
	u, err := url.Parse(adminURL)
	require.NoError(t, err)
	u.Path = "/" + name

	bus := newTestNotifyBus(t, u.String(), uniqueChannel(), nil)
	h := porttest.NewRecordingHandler()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); waitOrFail(t, bus.Wait) })
	require.Error(t, bus.Subscribe(ctx, h))
	assert.Equal(t, 1, h.LostCount())
	assert.Equal(t, 0, h.ResyncCount())

	_, err = admin.Exec("CREATE DATABASE " + name)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return h.ResyncCount() == 1 }, 5*time.Second, 10*time.Millisecond)
	want := porttest.RevokedSessions(1)
	require.NoError(t, bus.Publish(context.Background(), want))
	h.WaitFor(t, want, time.Second)
	assert.Equal(t, 1, h.LostCount(), "one outage, one Lost")
}

func TestNotifyBusRetriesFailedResync(t *testing.T) {
	dbURL := dbtest.PostgresURL(t)
	bus := newTestNotifyBus(t, dbURL, uniqueChannel(), nil)
	h := porttest.NewRecordingHandler()
	h.ResyncErr = assert.AnError
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); waitOrFail(t, bus.Wait) })
	require.ErrorIs(t, bus.Subscribe(ctx, h), assert.AnError)
	require.Eventually(t, func() bool { return h.ResyncCount() >= 3 }, 5*time.Second, 10*time.Millisecond,
		"Resync is retried")
	assert.Equal(t, 1, h.LostCount(), "Lost once per outage, not once per failed attempt")
}

func TestNotifyBusSurvivesIdleHealthChecks(t *testing.T) {
	dbURL := dbtest.PostgresURL(t)
	bus := newTestNotifyBus(t, dbURL, uniqueChannel(), nil)
	bus.healthInterval = 50 * time.Millisecond
	h := subscribeUntilEnd(t, bus)
	time.Sleep(400 * time.Millisecond)
	want := porttest.RevokedSessions(3)
	require.NoError(t, bus.Publish(context.Background(), want))
	h.WaitFor(t, want, time.Second)
	assert.Equal(t, 0, h.LostCount())
	assert.Equal(t, 1, h.ResyncCount())
}

func TestNotifyBusIgnoresMalformedPayloads(t *testing.T) {
	dbURL := dbtest.PostgresURL(t)
	core, logs := observer.New(zapcore.WarnLevel)
	channel := uniqueChannel()
	bus := newTestNotifyBus(t, dbURL, channel, zap.New(core))
	h := subscribeUntilEnd(t, bus)

	admin := openAdmin(t, dbURL)
	for _, p := range []string{"not json secret-ish", `{"sid":1}`, `[{"sid":"00000000-0000-0000-0000-000000000000","at":"2024-01-01T00:00:00Z"}]`} {
		_, err := admin.Exec("SELECT pg_notify($1, $2)", channel, p)
		require.NoError(t, err)
	}
	want := porttest.RevokedSessions(1)
	require.NoError(t, bus.Publish(context.Background(), want))
	h.WaitFor(t, want, time.Second)
	assert.Equal(t, 1, h.ResyncCount())
	assert.Equal(t, 0, h.LostCount())

	require.Eventually(t, func() bool { return logs.FilterMessage("ignoring malformed revocation notification").Len() == 3 },
		time.Second, 10*time.Millisecond)
	for _, e := range logs.All() {
		assert.NotContains(t, e.Message+" "+flatten(e.ContextMap()), "secret-ish", "payloads are not logged")
	}
}

func TestNotifyBusKeepsThePasswordOutOfErrorsAndLogs(t *testing.T) {
	core, logs := observer.New(zapcore.DebugLevel)
	// Port 1 on loopback refuses connections.
	bus := newTestNotifyBus(t, "postgres://ums:hunter2-secret@127.0.0.1:1/ums?sslmode=disable&connect_timeout=1", uniqueChannel(), zap.New(core))
	ctx, cancel := context.WithCancel(context.Background())
	h := porttest.NewRecordingHandler()
	err := bus.Subscribe(ctx, h)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "hunter2")
	pubErr := bus.Publish(context.Background(), porttest.RevokedSessions(1))
	require.Error(t, pubErr)
	assert.NotContains(t, pubErr.Error(), "hunter2")
	require.Eventually(t, func() bool { return logs.Len() >= 1 }, 2*time.Second, 10*time.Millisecond, "reconnect warnings")
	cancel()
	waitOrFail(t, bus.Wait)
	for _, e := range logs.All() {
		assert.NotContains(t, e.Message+" "+flatten(e.ContextMap()), "hunter2")
	}
	lost := h.LostCount()
	assert.Equal(t, 1, lost)
}

func TestNotifyBusRejectsWhatRetriesCannotFix(t *testing.T) {
	ctx := context.Background()
	h := porttest.NewRecordingHandler()
	for name, bus := range map[string]*NotifyBus{
		"sqlite":       NewNotifyBus("sqlite://ums.db", "ch", nil),
		"bad_url":      NewNotifyBus("postgres://u:pw-secret@[::1/x", "ch", nil),
		"long_channel": NewNotifyBus("postgres://127.0.0.1:1/x", strings.Repeat("c", 64), nil),
		"no_channel":   NewNotifyBus("postgres://127.0.0.1:1/x", "", nil),
	} {
		err := bus.Subscribe(ctx, h)
		require.Error(t, err, name)
		assert.NotContains(t, err.Error(), "pw-secret", name)
		require.Error(t, bus.Publish(ctx, porttest.RevokedSessions(1)), name)
		bus.Wait()
	}
	assert.Equal(t, 0, h.LostCount())
}

func newTestNotifyBus(t *testing.T, dbURL, channel string, log *zap.Logger) *NotifyBus {
	t.Helper()
	bus := NewNotifyBus(dbURL, channel, log)
	t.Cleanup(func() { assert.NoError(t, bus.Close()) })
	return bus
}

func subscribeUntilEnd(t *testing.T, bus *NotifyBus) *porttest.RecordingHandler {
	t.Helper()
	h := porttest.NewRecordingHandler()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); waitOrFail(t, bus.Wait) })
	require.NoError(t, bus.Subscribe(ctx, h))
	return h
}

func openAdmin(t *testing.T, dbURL string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dbURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func uniqueChannel() string { return "ums_test_revoked_" + randomHex() }

func randomHex() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// flatten renders a log entry's fields for substring checks.
func flatten(m map[string]any) string { return fmt.Sprint(m) }

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

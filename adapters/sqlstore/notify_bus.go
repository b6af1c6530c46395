package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"go.uber.org/zap"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// ListenerApplicationName is the application_name of the connection a
// NotifyBus listens on (unless the database URL sets one), so operators
// can tell it apart in pg_stat_activity.
const ListenerApplicationName = "ums-revocation-listener"

const (
	// maxNotifyPayload keeps each notification under Postgres's 8000-byte
	// payload limit with room to spare.
	maxNotifyPayload = 7000
	// notifyMaxChannel is NAMEDATALEN-1: LISTEN would silently truncate a
	// longer name, and pg_notify rejects it.
	notifyMaxChannel = 63

	notifyHealthInterval = 30 * time.Second
	notifyPingTimeout    = 5 * time.Second
	notifyBackoffMin     = 100 * time.Millisecond
	notifyBackoffMax     = 2 * time.Second
)

// NotifyBus is a ports.RevocationBus over Postgres LISTEN/NOTIFY, for
// deployments of several instances on one Postgres database. Notifications
// are scoped to the database, so instances must share the database as well
// as the channel.
type NotifyBus struct {
	databaseURL string
	channel     string
	log         *zap.Logger
	// healthInterval is how long a listener waits in silence before it
	// pings its connection, so a dead peer is noticed.
	healthInterval time.Duration

	mu sync.Mutex
	// cfg is the parsed URL; listenCfg adds the listener's
	// application_name.
	cfg, listenCfg *pgx.ConnConfig
	db             *sql.DB
	closed         bool

	wg sync.WaitGroup
}

var _ ports.RevocationBus = (*NotifyBus)(nil)

// NewNotifyBus returns a bus on channel of the Postgres database at
// databaseURL. It connects lazily: a bad URL or an unreachable server shows
// in Publish and Subscribe. Reconnect warnings go to log (nil for none).
func NewNotifyBus(databaseURL string, channel string, log *zap.Logger) *NotifyBus {
	if log == nil {
		log = zap.NewNop()
	}
	return &NotifyBus{
		databaseURL:    databaseURL,
		channel:        channel,
		log:            log.With(zap.String("channel", channel)),
		healthInterval: notifyHealthInterval,
	}
}

// Publish sends revoked as NOTIFY payloads on the bus's channel, split so
// each stays under 7000 bytes, all in one transaction: they are delivered
// together or not at all. It uses a small pool of its own, opened on first
// use and closed by Close.
func (b *NotifyBus) Publish(ctx context.Context, revoked []domain.RevokedSession) error {
	if len(revoked) == 0 {
		return nil
	}
	payloads, err := encodeNotifyPayloads(revoked, maxNotifyPayload)
	if err != nil {
		return err
	}
	db, err := b.pool()
	if err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return dbErrorSanitized("publish revocations", err)
	}
	defer func() { _ = tx.Rollback() }()
	for _, p := range payloads {
		if _, err := tx.ExecContext(ctx, "SELECT pg_notify($1, $2)", b.channel, p); err != nil {
			return dbErrorSanitized("publish revocations", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return dbErrorSanitized("publish revocations", err)
	}
	return nil
}

// Subscribe listens on the channel over a dedicated connection and
// delivers to h from a goroutine of its own until ctx ends. Each time it
// is listening — at first and after every reconnection — it calls
// h.Resync before reading any notification; when the connection breaks or
// a Resync fails it calls h.Lost (once per outage) and reconnects with a
// backoff growing to 2s.
//
// Subscribe returns nil once the first attempt is listening and resynced,
// or that attempt's error — and then keeps retrying in the background
// until ctx ends. Only a URL that is not a valid Postgres URL, or an
// invalid channel name, ends it at once, since no retry could help.
func (b *NotifyBus) Subscribe(ctx context.Context, h ports.RevocationHandler) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	cfg, err := b.connConfig()
	if err != nil {
		return err
	}
	first := make(chan error, 1)
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		b.run(ctx, cfg, h, first)
	}()
	return <-first
}

// Wait blocks until every subscription has ended: its context is done and
// its goroutine and connection are gone.
func (b *NotifyBus) Wait() { b.wg.Wait() }

// Close closes the pool Publish uses; Publish fails afterwards.
// Subscriptions end with their contexts, not with Close.
func (b *NotifyBus) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	if b.db == nil {
		return nil
	}
	err := b.db.Close()
	b.db = nil
	return err
}

// run keeps one subscription alive until ctx ends. It sends the outcome of
// the first attempt to first.
func (b *NotifyBus) run(ctx context.Context, cfg *pgx.ConnConfig, h ports.RevocationHandler, first chan<- error) {
	reported := false
	report := func(err error) {
		if !reported {
			reported = true
			first <- err
		}
	}
	lost := false
	delay := notifyBackoffMin
	for {
		err := b.listen(ctx, cfg, h, func() {
			report(nil)
			lost = false
			delay = notifyBackoffMin
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
		wait := notifyJitter(delay)
		b.log.Warn("revocation listener down; reconnecting", zap.Error(err), zap.Duration("retry_in", wait))
		if !notifySleep(ctx, wait) {
			return
		}
		delay = min(2*delay, notifyBackoffMax)
	}
}

// listen connects, listens, resyncs h, calls listening and then delivers
// notifications until the connection fails or ctx ends.
func (b *NotifyBus) listen(ctx context.Context, cfg *pgx.ConnConfig, h ports.RevocationHandler, listening func()) error {
	conn, err := pgx.ConnectConfig(ctx, cfg.Copy())
	if err != nil {
		return dbErrorSanitized("connect", err)
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{b.channel}.Sanitize()); err != nil {
		return dbErrorSanitized("listen", err)
	}
	if err := h.Resync(ctx); err != nil {
		return fmt.Errorf("resync: %w", err)
	}
	listening()
	for {
		wctx, cancel := context.WithTimeout(ctx, b.healthInterval)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		if n != nil {
			b.deliver(ctx, h, n.Payload)
		}
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if wctx.Err() == nil || conn.IsClosed() {
			return dbErrorSanitized("wait for notification", err)
		}
		// Silence for a whole interval: make sure the peer is still there.
		pctx, cancel := context.WithTimeout(ctx, notifyPingTimeout)
		err = conn.Ping(pctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return dbErrorSanitized("ping", err)
		}
	}
}

func (b *NotifyBus) deliver(ctx context.Context, h ports.RevocationHandler, payload string) {
	revoked, err := decodeNotifyPayload(payload)
	if err != nil {
		// The payload is not logged: it is not ours, and may be large.
		b.log.Warn("ignoring malformed revocation notification", zap.Int("bytes", len(payload)), zap.Error(err))
		return
	}
	if ctx.Err() != nil {
		return
	}
	h.Revoked(revoked)
}

// connConfig parses the database URL once and returns the listener's
// configuration.
func (b *NotifyBus) connConfig() (*pgx.ConnConfig, error) {
	if err := b.parse(); err != nil {
		return nil, err
	}
	return b.listenCfg, nil
}

func (b *NotifyBus) parse() error {
	if l := len(b.channel); l == 0 || l > notifyMaxChannel {
		return fmt.Errorf("notify bus: channel name must have 1 to %d bytes", notifyMaxChannel)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cfg != nil {
		return nil
	}
	if d, err := DialectOf(b.databaseURL); err != nil || d != Postgres {
		return errors.New("notify bus: the database URL is not a postgres:// URL")
	}
	cfg, err := pgx.ParseConfig(b.databaseURL)
	if err != nil {
		// pgx's message may echo the URL and with it a password.
		return errors.New("notify bus: invalid postgres connection string")
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	listenCfg := cfg.Copy()
	if _, ok := listenCfg.RuntimeParams["application_name"]; !ok {
		listenCfg.RuntimeParams["application_name"] = ListenerApplicationName
	}
	b.cfg, b.listenCfg = cfg, listenCfg
	return nil
}

// pool opens Publish's pool on first use.
func (b *NotifyBus) pool() (*sql.DB, error) {
	if err := b.parse(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, errors.New("notify bus: closed")
	}
	if b.db == nil {
		db := stdlib.OpenDB(*b.cfg.Copy())
		// Publishing is rare and brief; a connection or two is plenty and
		// need not idle for long.
		db.SetMaxOpenConns(2)
		db.SetMaxIdleConns(1)
		db.SetConnMaxIdleTime(time.Minute)
		b.db = db
	}
	return b.db, nil
}

// notifyMessage is one revoked session on the wire.
type notifyMessage struct {
	SID uuid.UUID `json:"sid"`
	At  time.Time `json:"at"`
}

// encodeNotifyPayloads renders revoked as JSON arrays of at most limit bytes
// each.
func encodeNotifyPayloads(revoked []domain.RevokedSession, limit int) ([]string, error) {
	var out []string
	buf := []byte{'['}
	for _, r := range revoked {
		item, err := json.Marshal(notifyMessage{SID: r.SessionID, At: r.RevokedAt.UTC()})
		if err != nil {
			return nil, fmt.Errorf("encode revocation: %w", err)
		}
		if len(buf) > 1 && len(buf)+len(item)+2 > limit {
			out = append(out, string(append(buf, ']')))
			buf = []byte{'['}
		}
		if len(buf) > 1 {
			buf = append(buf, ',')
		}
		buf = append(buf, item...)
	}
	return append(out, string(append(buf, ']'))), nil
}

func decodeNotifyPayload(payload string) ([]domain.RevokedSession, error) {
	var msgs []notifyMessage
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

// notifyJitter spreads reconnections of many instances: d ± 20%.
func notifyJitter(d time.Duration) time.Duration {
	return d - d/5 + rand.N(2*d/5+1)
}

// notifySleep waits d, or reports false when ctx ends first.
func notifySleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

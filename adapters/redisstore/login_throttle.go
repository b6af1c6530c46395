package redisstore

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ums-project/ums/ports"
)

// throttleSlack keeps a key a little past the end of its window or lock,
// so instances whose clocks differ slightly still find it.
const throttleSlack = time.Minute

// The scripts keep one hash per login key: count (failures plus attempts
// in flight), start (when the window began) and locked_until, all in unix
// milliseconds of the caller's clock. Each runs atomically in Redis, so
// instances cannot interleave between a read and a write.

// reserveScript: KEYS[1]; ARGV now, max failures, window, lockout, slack.
// Returns {ok, retry after ms}.
var reserveScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local max = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local lockout = tonumber(ARGV[4])
local slack = tonumber(ARGV[5])
local v = redis.call('HMGET', KEYS[1], 'count', 'start', 'locked_until')
local count = tonumber(v[1]) or 0
local start = tonumber(v[2])
local locked = tonumber(v[3])
if locked and locked > now then
  return {0, locked - now}
end
if start == nil or now >= start + window or locked then
  count = 0
  start = now
  redis.call('DEL', KEYS[1])
end
if count >= max then
  return {0, lockout}
end
redis.call('HSET', KEYS[1], 'count', count + 1, 'start', start)
redis.call('PEXPIRE', KEYS[1], math.max(start + window - now, 0) + slack)
return {1, 0}
`)

// releaseScript: KEYS[1]. Never creates the key.
var releaseScript = redis.NewScript(`
local count = tonumber(redis.call('HGET', KEYS[1], 'count'))
if count and count > 0 then
  redis.call('HSET', KEYS[1], 'count', count - 1)
end
return 0
`)

// failScript: KEYS[1]; ARGV now, max failures, window, lockout, slack.
// Returns 1 when this failure locked the key. A key already locked (or
// whose lock has ended: the reservation predates it) is not locked again.
var failScript = redis.NewScript(`
local now = tonumber(ARGV[1])
local max = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local lockout = tonumber(ARGV[4])
local slack = tonumber(ARGV[5])
local v = redis.call('HMGET', KEYS[1], 'count', 'start', 'locked_until')
local count = tonumber(v[1])
if count == nil or v[3] or count < max then
  return 0
end
local locked = now + lockout
local start = tonumber(v[2]) or now
redis.call('HSET', KEYS[1], 'locked_until', locked)
redis.call('PEXPIRE', KEYS[1], math.max(locked, start + window) - now + slack)
return 1
`)

// LoginThrottle is a ports.LoginThrottle shared by every instance through
// Redis, in the hash prefix+"login:"+key. Idle keys expire on their own.
type LoginThrottle struct {
	client redis.UniversalClient
	prefix string
	policy ports.ThrottlePolicy
}

var _ ports.LoginThrottle = (*LoginThrottle)(nil)

// NewLoginThrottle returns a throttle enforcing p on client; prefix
// namespaces its keys. The throttle does not own client.
func NewLoginThrottle(client redis.UniversalClient, prefix string, p ports.ThrottlePolicy) *LoginThrottle {
	return &LoginThrottle{client: client, prefix: prefix, policy: p}
}

// Reserve counts one attempt for key; see ports.LoginThrottle. When
// attempts in flight fill the threshold it asks to wait the lockout.
func (l *LoginThrottle) Reserve(ctx context.Context, key string, now time.Time) (bool, time.Duration, error) {
	res, err := reserveScript.Run(ctx, l.client, []string{l.key(key)}, l.args(now)...).Int64Slice()
	if err != nil {
		return false, 0, fmt.Errorf("login throttle reserve: %w", err)
	}
	if len(res) != 2 {
		return false, 0, fmt.Errorf("login throttle reserve: unexpected reply of %d values", len(res))
	}
	return res[0] == 1, time.Duration(res[1]) * time.Millisecond, nil
}

// Release gives back a reservation whose password was never checked.
func (l *LoginThrottle) Release(ctx context.Context, key string) error {
	if err := releaseScript.Run(ctx, l.client, []string{l.key(key)}).Err(); err != nil {
		return fmt.Errorf("login throttle release: %w", err)
	}
	return nil
}

// Fail keeps the reservation as a failure and locks key when failures
// reach the threshold, reporting true for the failure that locked it.
func (l *LoginThrottle) Fail(ctx context.Context, key string, now time.Time) (bool, error) {
	locked, err := failScript.Run(ctx, l.client, []string{l.key(key)}, l.args(now)...).Int64()
	if err != nil {
		return false, fmt.Errorf("login throttle fail: %w", err)
	}
	return locked == 1, nil
}

// Reset forgets key's failures and lock.
func (l *LoginThrottle) Reset(ctx context.Context, key string) error {
	if err := l.client.Del(ctx, l.key(key)).Err(); err != nil {
		return fmt.Errorf("login throttle reset: %w", err)
	}
	return nil
}

func (l *LoginThrottle) key(key string) string { return l.prefix + "login:" + key }

func (l *LoginThrottle) args(now time.Time) []any {
	return []any{
		now.UnixMilli(),
		l.policy.MaxFailures,
		l.policy.Window.Milliseconds(),
		l.policy.Lockout.Milliseconds(),
		throttleSlack.Milliseconds(),
	}
}

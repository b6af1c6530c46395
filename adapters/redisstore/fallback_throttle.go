package redisstore

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/ums-project/ums/ports"
)

// FallbackLoginThrottle counts failed logins in Redis and, while Redis
// fails, in the fallback (in-process) throttle, so logins keep working
// with per-instance lockouts instead of failing outright. After a failure
// the primary is retried at most once per retryEvery.
type FallbackLoginThrottle struct {
	primary, fallback ports.LoginThrottle
	retryEvery        time.Duration
	// downSince is the unix-nano time of the last primary failure, 0 when
	// the primary is healthy.
	downSince atomic.Int64
	onChange  func(degraded bool, err error)
}

var _ ports.LoginThrottle = (*FallbackLoginThrottle)(nil)

// NewFallbackLoginThrottle wraps primary; onChange (may be nil) hears each
// switch between degraded and healthy.
func NewFallbackLoginThrottle(primary, fallback ports.LoginThrottle, onChange func(degraded bool, err error)) *FallbackLoginThrottle {
	if onChange == nil {
		onChange = func(bool, error) {}
	}
	return &FallbackLoginThrottle{primary: primary, fallback: fallback, retryEvery: time.Second, onChange: onChange}
}

// Degraded reports whether the fallback is in use.
func (f *FallbackLoginThrottle) Degraded() bool { return f.downSince.Load() != 0 }

func (f *FallbackLoginThrottle) pick() ports.LoginThrottle {
	since := f.downSince.Load()
	if since != 0 && time.Since(time.Unix(0, since)) < f.retryEvery {
		return f.fallback
	}
	return f.primary
}

// do runs op on the chosen throttle and, when the primary fails, again on
// the fallback.
func (f *FallbackLoginThrottle) do(op func(ports.LoginThrottle) error) error {
	t := f.pick()
	if t == f.fallback {
		return op(t)
	}
	err := op(t)
	if err == nil {
		if f.downSince.Swap(0) != 0 {
			f.onChange(false, nil)
		}
		return nil
	}
	if f.downSince.Swap(time.Now().UnixNano()) == 0 {
		f.onChange(true, err)
	}
	return op(f.fallback)
}

// Reserve implements ports.LoginThrottle.
func (f *FallbackLoginThrottle) Reserve(ctx context.Context, key string, now time.Time) (ok bool, retry time.Duration, err error) {
	err = f.do(func(t ports.LoginThrottle) error {
		var e error
		ok, retry, e = t.Reserve(ctx, key, now)
		return e
	})
	return ok, retry, err
}

// Release implements ports.LoginThrottle.
func (f *FallbackLoginThrottle) Release(ctx context.Context, key string) error {
	return f.do(func(t ports.LoginThrottle) error { return t.Release(ctx, key) })
}

// Fail implements ports.LoginThrottle.
func (f *FallbackLoginThrottle) Fail(ctx context.Context, key string, now time.Time) (locked bool, err error) {
	err = f.do(func(t ports.LoginThrottle) error {
		var e error
		locked, e = t.Fail(ctx, key, now)
		return e
	})
	return locked, err
}

// Reset implements ports.LoginThrottle. Both stores are reset, so a lock
// counted in-process during an outage does not outlive the success.
func (f *FallbackLoginThrottle) Reset(ctx context.Context, key string) error {
	_ = f.fallback.Reset(ctx, key)
	return f.do(func(t ports.LoginThrottle) error { return t.Reset(ctx, key) })
}

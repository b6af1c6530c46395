package redisstore

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/ports"
	"github.com/ums-project/ums/ports/porttest"
)

func TestLoginThrottleContract(t *testing.T) {
	porttest.RunLoginThrottle(t, func(t *testing.T, p ports.ThrottlePolicy) ports.LoginThrottle {
		client, prefix := testRedis(t)
		return NewLoginThrottle(client, prefix, p)
	})
}

func TestLoginThrottleKeysExpireWhenIdle(t *testing.T) {
	ctx := context.Background()
	client, prefix := testRedis(t)
	p := ports.ThrottlePolicy{MaxFailures: 2, Window: time.Minute, Lockout: time.Hour}
	th := NewLoginThrottle(client, prefix, p)
	now := time.Now()
	k := prefix + "login:ada@example.com"

	ok, _, err := th.Reserve(ctx, "ada@example.com", now)
	require.NoError(t, err)
	require.True(t, ok)
	ttl, err := client.PTTL(ctx, k).Result()
	require.NoError(t, err)
	assert.InDelta(t, (p.Window + throttleSlack).Seconds(), ttl.Seconds(), 2, "the window plus slack")

	_, err = th.Fail(ctx, "ada@example.com", now)
	require.NoError(t, err)
	ok, _, err = th.Reserve(ctx, "ada@example.com", now)
	require.NoError(t, err)
	require.True(t, ok)
	locked, err := th.Fail(ctx, "ada@example.com", now)
	require.NoError(t, err)
	require.True(t, locked)
	ttl, err = client.PTTL(ctx, k).Result()
	require.NoError(t, err)
	assert.InDelta(t, (p.Lockout + throttleSlack).Seconds(), ttl.Seconds(), 2, "the lockout plus slack")

	require.NoError(t, th.Release(ctx, "nobody@example.com"))
	n, err := client.Exists(ctx, prefix+"login:nobody@example.com").Result()
	require.NoError(t, err)
	assert.Zero(t, n, "Release never creates a key")

	require.NoError(t, th.Reset(ctx, "ada@example.com"))
	n, err = client.Exists(ctx, k).Result()
	require.NoError(t, err)
	assert.Zero(t, n)
}

func TestLoginThrottlesWithOtherPrefixesDoNotMeet(t *testing.T) {
	ctx := context.Background()
	client, prefix := testRedis(t)
	p := ports.ThrottlePolicy{MaxFailures: 1, Window: time.Minute, Lockout: time.Hour}
	a := NewLoginThrottle(client, prefix+"a:", p)
	b := NewLoginThrottle(client, prefix+"b:", p)
	now := time.Now()
	ok, _, err := a.Reserve(ctx, "k", now)
	require.NoError(t, err)
	require.True(t, ok)
	ok, _, err = b.Reserve(ctx, "k", now)
	require.NoError(t, err)
	assert.True(t, ok)
}

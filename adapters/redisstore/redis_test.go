package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/test/dbtest"
)

// The tests sit inside the package to shorten the subscription's health
// interval; everything else goes through the exported API.

// testRedis returns a client of the test Redis server and a key prefix no
// other test uses; the prefix's keys are deleted when t ends. opts edits
// the client's options.
func testRedis(t *testing.T, opts ...func(*redis.Options)) (*redis.Client, string) {
	t.Helper()
	opt, err := redis.ParseURL(dbtest.RequireRedis(t))
	require.NoError(t, err)
	for _, o := range opts {
		o(opt)
	}
	client := redis.NewClient(opt)
	prefix := "ums-test-" + randomHex() + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		iter := client.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			_ = client.Del(ctx, iter.Val()).Err()
		}
		_ = client.Close()
	})
	return client, prefix
}

func randomHex() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

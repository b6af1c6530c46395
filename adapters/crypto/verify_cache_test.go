package crypto

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/domain"
)

func TestVerifyCacheServesRepeatsAndStaysStrict(t *testing.T) {
	f := newFixture(t)
	c := NewVerifyCache(f.codec, 2)
	tok := f.sign(t)
	lookups := 0
	lookup := func(ctx context.Context, kid string) (domain.SigningKey, bool, error) {
		lookups++
		return f.lookup(ctx, kid)
	}
	first, err := c.Verify(context.Background(), tok, lookup)
	require.NoError(t, err)
	again, err := c.Verify(context.Background(), tok, lookup)
	require.NoError(t, err)
	assert.Equal(t, first, again)
	assert.Equal(t, 1, c.Len())
	assert.Equal(t, 2, lookups, "a hit still asks whether the key is published")

	tampered := tok[:len(tok)-3] + "AAA"
	_, err = c.Verify(context.Background(), tampered, lookup)
	assert.ErrorIs(t, err, domain.ErrInvalidToken, "another token is verified in full")

	// A key that is no longer published stops its cached tokens.
	gone := func(context.Context, string) (domain.SigningKey, bool, error) { return domain.SigningKey{}, false, nil }
	_, err = c.Verify(context.Background(), tok, gone)
	assert.ErrorIs(t, err, domain.ErrInvalidToken)
	assert.Equal(t, 0, c.Len())

	// Past exp (and the leeway) the token is refused, cached or not.
	_, err = c.Verify(context.Background(), tok, f.lookup)
	require.NoError(t, err)
	f.now = f.claims.ExpiresAt.Add(time.Minute)
	_, err = c.Verify(context.Background(), tok, f.lookup)
	assert.ErrorIs(t, err, domain.ErrInvalidToken)
}

func TestVerifyCacheIsBounded(t *testing.T) {
	f := newFixture(t)
	c := NewVerifyCache(f.codec, 8)
	for range 50 {
		f.claims.TokenID = time.Now().String()
		_, err := c.Verify(context.Background(), f.sign(t), f.lookup)
		require.NoError(t, err)
		f.now = f.now.Add(time.Millisecond)
	}
	assert.LessOrEqual(t, c.Len(), 8)
}

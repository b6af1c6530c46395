package crypto_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/adapters/crypto"
	"github.com/ums-project/ums/domain"
)

// hashVector is one hash made by another product's own code, written by
// test/flask/make_fixture.py.
type hashVector struct {
	Source   string `json:"source"`
	Hash     string `json:"hash"`
	Password string `json:"password"`
	Wrong    string `json:"wrong"`
}

func loadVectors(t *testing.T) []hashVector {
	t.Helper()
	b, err := os.ReadFile("../../test/flask/testdata/hashes.json")
	require.NoError(t, err)
	var v []hashVector
	require.NoError(t, json.Unmarshal(b, &v))
	require.NotEmpty(t, v)
	return v
}

func TestLegacyHashesVerifyAndAskForRehash(t *testing.T) {
	h, err := crypto.NewHasher(testConfig())
	require.NoError(t, err)
	ctx := context.Background()
	for _, v := range loadVectors(t) {
		t.Run(v.Source+" "+strings.SplitN(v.Hash, "$", 3)[0], func(t *testing.T) {
			scheme, err := h.CheckImported(v.Hash)
			require.NoError(t, err)
			assert.NotEmpty(t, scheme)

			match, rehash, err := h.Verify(ctx, v.Password, v.Hash)
			require.NoError(t, err)
			assert.True(t, match, "the right password must match")
			assert.True(t, rehash, "a legacy hash is always replaced by argon2id")

			match, rehash, err = h.Verify(ctx, v.Wrong, v.Hash)
			require.NoError(t, err)
			assert.False(t, match)
			assert.False(t, rehash)
		})
	}
}

func TestLegacyHashesOutOfBoundsAreRefused(t *testing.T) {
	h, err := crypto.NewHasher(testConfig())
	require.NoError(t, err)
	hex32 := strings.Repeat("ab", 32)
	for name, enc := range map[string]string{
		"pbkdf2 iterations":        "pbkdf2:sha256:2000001$salt$" + hex32,
		"pbkdf2 without iteration": "pbkdf2:sha256$salt$" + hex32,
		"pbkdf2 unknown digest":    "pbkdf2:md5:1000$salt$" + strings.Repeat("ab", 16),
		"pbkdf2 short digest":      "pbkdf2:sha256:1000$salt$abcd",
		"pbkdf2 digest size":       "pbkdf2:sha256:1000$salt$" + strings.Repeat("ab", 20),
		"werkzeug empty salt":      "pbkdf2:sha256:1000$$" + hex32,
		"scrypt memory":            "scrypt:1048576:8:1$salt$" + strings.Repeat("ab", 64),
		"scrypt work":              "scrypt:16384:8:16$salt$" + strings.Repeat("ab", 64),
		"scrypt N not power of 2":  "scrypt:1000:8:1$salt$" + strings.Repeat("ab", 64),
		"scrypt huge r":            "scrypt:2:1000000:1$salt$" + strings.Repeat("ab", 64),
		"phc scrypt ln":            "$scrypt$ln=25,r=8,p=1$c2FsdHNhbHQ$" + strings.Repeat("A", 43),
		"phc pbkdf2 iterations":    "$pbkdf2-sha256$i=99999999,l=32$c2FsdHNhbHQ$" + strings.Repeat("A", 43),
		"phc pbkdf2 length":        "$pbkdf2-sha256$i=1000,l=16$c2FsdHNhbHQ$" + strings.Repeat("A", 43),
		"bcrypt cost":              "$2b$16$" + strings.Repeat("a", 53),
		"plain werkzeug sha256":    "sha256$salt$" + hex32,
		"md5":                      "md5$salt$" + strings.Repeat("ab", 16),
		"plain text":               "hunter2",
		"argon2i":                  "$argon2i$v=19$m=8192,t=1,p=1$c2FsdHNhbHQ$" + strings.Repeat("A", 43),
		"argon2id huge memory":     "$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHRzYWx0$" + strings.Repeat("A", 43),
		"too long":                 "pbkdf2:sha256:1000$" + strings.Repeat("s", 2000) + "$" + hex32,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := h.CheckImported(enc)
			require.ErrorIs(t, err, crypto.ErrUnsupportedHash)
			if strings.HasPrefix(enc, "$argon2id$") {
				return // stored argon2id hashes are UMS's own; only imports are bounded
			}
			_, _, err = h.Verify(context.Background(), "password", enc)
			require.ErrorIs(t, err, crypto.ErrUnsupportedHash)
		})
	}
}

func TestNewHashesAreNeverLegacy(t *testing.T) {
	h, err := crypto.NewHasher(testConfig())
	require.NoError(t, err)
	enc, err := h.Hash(context.Background(), "correct horse battery staple")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(enc, "$argon2id$"))
	scheme, err := h.CheckImported(enc)
	require.NoError(t, err)
	assert.Equal(t, "argon2id", scheme)
}

func TestLegacyVerifyUsesThePool(t *testing.T) {
	cfg := testConfig()
	cfg.Concurrency, cfg.MaxQueue = 1, 0
	cfg.MemoryKiB, cfg.Iterations = 64*1024, 8 // slow enough to keep the slot busy
	h, err := crypto.NewHasher(cfg)
	require.NoError(t, err)
	v := loadVectors(t)[0]
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = h.Hash(context.Background(), "correct horse battery staple")
	}()
	require.Eventually(t, func() bool { return h.Stats().Running == 1 }, 5*time.Second, time.Millisecond)
	// The only slot is busy and nobody may queue: a legacy check is
	// refused like an argon2id one, never run beside it.
	_, _, err = h.Verify(context.Background(), v.Password, v.Hash)
	require.ErrorIs(t, err, domain.ErrHashingOverloaded)
	<-done
	match, _, err := h.Verify(context.Background(), v.Password, v.Hash)
	require.NoError(t, err)
	assert.True(t, match)
}

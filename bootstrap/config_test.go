package bootstrap_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ums-project/ums/bootstrap"
)

const postgresURL = "postgres://ums:secret@db.internal:5432/ums?sslmode=verify-full"

// randomKey returns n fresh random bytes.
func randomKey(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

// goodKey is a base64 key of 32 random bytes, as `openssl rand -base64 32`
// prints.
func goodKey(t *testing.T) string {
	t.Helper()
	return base64.StdEncoding.EncodeToString(randomKey(t, 32))
}

// production returns a production setup that passes validation, with
// overrides applied.
func production(t *testing.T, overrides map[string]string) map[string]string {
	t.Helper()
	vars := map[string]string{
		"ENV":                "production",
		"DATABASE_URL":       postgresURL,
		"KEY_ENCRYPTION_KEY": goodKey(t),
		"MAIL_DRIVER":        "smtp",
		"SMTP_HOST":          "smtp.example.com",
		"METRICS_ADDR":       "127.0.0.1:9090",
	}
	for k, v := range overrides {
		vars[k] = v
	}
	return vars
}

func TestParseConfig_defaults(t *testing.T) {
	t.Parallel()
	c, err := bootstrap.ParseConfig(map[string]string{})
	require.NoError(t, err)

	assert.Equal(t, bootstrap.EnvDevelopment, c.Env)
	assert.False(t, c.IsProduction())
	assert.Equal(t, ":8080", c.HTTPAddr)
	assert.Equal(t, "sqlite://./data/ums.db", c.DatabaseURL)
	assert.Equal(t, "info", c.LogLevel)
	assert.Equal(t, "console", c.LogFormat, "development logs are for humans")
	assert.Equal(t, runtime.NumCPU(), c.HashConcurrency, "0 means one hash per core")
	assert.Equal(t, int64(1<<20), c.HTTPBodyLimit)
	assert.Equal(t, 5*time.Second, c.HTTPReadHeaderTimeout)
	assert.Equal(t, 20*time.Second, c.ShutdownTimeout)
	assert.Equal(t, uint32(19456), c.Argon2MemoryKiB, "OWASP's argon2id recommendation")
	assert.Equal(t, 12, c.PasswordMinLength)
	assert.Equal(t, 256, c.PasswordMaxLength)
	assert.Zero(t, c.PasswordRequireClasses)
	assert.Zero(t, c.PasswordMaxAgeDays)
	assert.Empty(t, c.KeyEncryptionKey)
	assert.True(t, c.DBPingOnStart)
}

// Not parallel: t.Setenv changes the process environment.
func TestParseConfig_reads_only_the_given_map(t *testing.T) {
	t.Setenv("HTTP_ADDR", ":9999")
	t.Setenv("ENV", "bogus")
	c, err := bootstrap.ParseConfig(map[string]string{})
	require.NoError(t, err)
	assert.Equal(t, ":8080", c.HTTPAddr)
	assert.Equal(t, bootstrap.EnvDevelopment, c.Env)
}

func TestParseConfig_reads_given_values(t *testing.T) {
	t.Parallel()
	c, err := bootstrap.ParseConfig(map[string]string{
		"ENV":                      "test",
		"HTTP_ADDR":                "127.0.0.1:0",
		"HTTP_BODY_LIMIT":          "2048",
		"HTTP_READ_TIMEOUT":        "3s",
		"HASH_CONCURRENCY":         "3",
		"LOG_LEVEL":                "debug",
		"DATABASE_URL":             "sqlite::memory:",
		"PASSWORD_REQUIRE_CLASSES": "2",
		"PASSWORD_MAX_AGE_DAYS":    "90",
	})
	require.NoError(t, err)
	assert.Equal(t, bootstrap.EnvTest, c.Env)
	assert.Equal(t, "127.0.0.1:0", c.HTTPAddr)
	assert.Equal(t, int64(2048), c.HTTPBodyLimit)
	assert.Equal(t, 3*time.Second, c.HTTPReadTimeout)
	assert.Equal(t, 3, c.HashConcurrency, "an explicit concurrency is kept")
	assert.Equal(t, "debug", c.LogLevel, "debug is fine outside production")
	assert.Equal(t, "console", c.LogFormat)
	assert.Equal(t, 2, c.PasswordRequireClasses)
	assert.Equal(t, 90, c.PasswordMaxAgeDays)
}

func TestParseConfig_unparsable_values_name_their_variable(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, variable, value string }{
		{"bad_int", "HTTP_BODY_LIMIT", "abc"},
		{"bad_duration", "HTTP_READ_TIMEOUT", "soon"},
		{"bad_bool", "DB_PING_ON_START", "maybe"},
		{"negative_unsigned", "ARGON2_MEMORY_KIB", "-1"},
		{"uint8_overflow", "ARGON2_PARALLELISM", "300"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := bootstrap.ParseConfig(map[string]string{tc.variable: tc.value})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.variable)
		})
	}
}

func TestParseConfig_production(t *testing.T) {
	t.Parallel()

	t.Run("refuses_sqlite_and_missing_key", func(t *testing.T) {
		t.Parallel()
		_, err := bootstrap.ParseConfig(map[string]string{"ENV": "production"})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "DATABASE_URL")
		assert.Contains(t, err.Error(), "KEY_ENCRYPTION_KEY")
	})

	t.Run("refuses_sqlite_alone", func(t *testing.T) {
		t.Parallel()
		_, err := bootstrap.ParseConfig(production(t, map[string]string{"DATABASE_URL": "sqlite://./data/ums.db"}))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "DATABASE_URL")
		assert.NotContains(t, err.Error(), "KEY_ENCRYPTION_KEY")
	})

	t.Run("refuses_missing_key_alone", func(t *testing.T) {
		t.Parallel()
		_, err := bootstrap.ParseConfig(production(t, map[string]string{"KEY_ENCRYPTION_KEY": ""}))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "KEY_ENCRYPTION_KEY")
		assert.NotContains(t, err.Error(), "DATABASE_URL")
	})

	t.Run("accepts_postgres_and_a_random_base64_key", func(t *testing.T) {
		t.Parallel()
		c, err := bootstrap.ParseConfig(production(t, nil))
		require.NoError(t, err)
		assert.True(t, c.IsProduction())
		assert.Equal(t, "json", c.LogFormat, "production logs are for machines")
		assert.Equal(t, postgresURL, c.DatabaseURL)
	})

	t.Run("accepts_postgresql_scheme", func(t *testing.T) {
		t.Parallel()
		_, err := bootstrap.ParseConfig(production(t, map[string]string{"DATABASE_URL": "postgresql://db/ums"}))
		require.NoError(t, err)
	})

	t.Run("refuses_the_log_mailer_and_cleartext_smtp_auth", func(t *testing.T) {
		t.Parallel()
		_, err := bootstrap.ParseConfig(production(t, map[string]string{"MAIL_DRIVER": "log"}))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "MAIL_DRIVER")
		_, err = bootstrap.ParseConfig(production(t, map[string]string{"SMTP_TLS": "none", "SMTP_USERNAME": "u", "SMTP_PASSWORD": "p"}))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "SMTP_TLS")
	})

	t.Run("keeps_an_explicit_log_format", func(t *testing.T) {
		t.Parallel()
		c, err := bootstrap.ParseConfig(production(t, map[string]string{"LOG_FORMAT": "console"}))
		require.NoError(t, err)
		assert.Equal(t, "console", c.LogFormat)
	})

	t.Run("refuses_debug_logging", func(t *testing.T) {
		t.Parallel()
		_, err := bootstrap.ParseConfig(production(t, map[string]string{"LOG_LEVEL": "debug"}))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "LOG_LEVEL")
	})

	t.Run("allows_info_logging", func(t *testing.T) {
		t.Parallel()
		_, err := bootstrap.ParseConfig(production(t, map[string]string{"LOG_LEVEL": "warn"}))
		require.NoError(t, err)
	})
}

func TestParseConfig_metrics_in_production(t *testing.T) {
	t.Parallel()
	token := hex.EncodeToString(randomKey(t, 32))

	t.Run("refuses_metrics_open_on_the_public_port", func(t *testing.T) {
		t.Parallel()
		_, err := bootstrap.ParseConfig(production(t, map[string]string{"METRICS_ADDR": ""}))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "METRICS_ADDR")
		assert.Contains(t, err.Error(), "METRICS_BEARER_TOKEN")
	})

	t.Run("accepts_a_private_metrics_address", func(t *testing.T) {
		t.Parallel()
		c, err := bootstrap.ParseConfig(production(t, map[string]string{"METRICS_ADDR": "10.0.0.5:9090"}))
		require.NoError(t, err)
		assert.Empty(t, c.MetricsBearerToken)
	})

	t.Run("accepts_a_token_instead", func(t *testing.T) {
		t.Parallel()
		c, err := bootstrap.ParseConfig(production(t, map[string]string{"METRICS_ADDR": "", "METRICS_BEARER_TOKEN": token}))
		require.NoError(t, err)
		assert.Equal(t, token, c.MetricsBearerToken)
	})

	t.Run("accepts_both", func(t *testing.T) {
		t.Parallel()
		_, err := bootstrap.ParseConfig(production(t, map[string]string{"METRICS_BEARER_TOKEN": token}))
		require.NoError(t, err)
	})

	t.Run("accepts_metrics_turned_off", func(t *testing.T) {
		t.Parallel()
		_, err := bootstrap.ParseConfig(production(t, map[string]string{"METRICS_ADDR": "", "METRICS_ENABLED": "false"}))
		require.NoError(t, err)
	})

	t.Run("refuses_a_short_token_without_echoing_it", func(t *testing.T) {
		t.Parallel()
		short := "s3cret-but-only-31-characters!!"
		require.Len(t, short, 31)
		for _, addr := range []string{"", "127.0.0.1:9090"} {
			_, err := bootstrap.ParseConfig(production(t, map[string]string{"METRICS_ADDR": addr, "METRICS_BEARER_TOKEN": short}))
			require.Error(t, err)
			assert.Contains(t, err.Error(), "METRICS_BEARER_TOKEN")
			assert.Contains(t, err.Error(), "32")
			assert.NotContains(t, err.Error(), short, "the token is a secret")
		}
	})

	t.Run("refuses_a_token_a_header_cannot_carry", func(t *testing.T) {
		t.Parallel()
		for _, bad := range []string{token[:40] + " " + token[:10], token + "\x01", token + "é"} {
			_, err := bootstrap.ParseConfig(production(t, map[string]string{"METRICS_BEARER_TOKEN": bad}))
			require.Error(t, err)
			assert.Contains(t, err.Error(), "METRICS_BEARER_TOKEN")
			assert.NotContains(t, err.Error(), token)
		}
	})

	t.Run("a_short_token_is_fine_outside_production", func(t *testing.T) {
		t.Parallel()
		c, err := bootstrap.ParseConfig(map[string]string{"METRICS_BEARER_TOKEN": "dev"})
		require.NoError(t, err)
		assert.Equal(t, "dev", c.MetricsBearerToken)
	})
}

func TestParseConfig_key_encryption_key(t *testing.T) {
	t.Parallel()
	good := []struct {
		name string
		key  func(t *testing.T) string
	}{
		{"std_base64_of_32_random_bytes", goodKey},
		{"raw_base64_of_32_random_bytes", func(t *testing.T) string {
			return base64.RawStdEncoding.EncodeToString(randomKey(t, 32))
		}},
		{"url_base64_of_32_random_bytes", func(t *testing.T) string {
			return base64.URLEncoding.EncodeToString(randomKey(t, 32))
		}},
		{"hex_of_32_random_bytes", func(t *testing.T) string { return hex.EncodeToString(randomKey(t, 32)) }},
		{"base64_of_64_random_bytes", func(t *testing.T) string {
			return base64.StdEncoding.EncodeToString(randomKey(t, 64))
		}},
		{"surrounding_space_is_ignored", func(t *testing.T) string { return " " + goodKey(t) + "\n" }},
	}
	for _, tc := range good {
		t.Run("accepts_"+tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := bootstrap.ParseConfig(production(t, map[string]string{"KEY_ENCRYPTION_KEY": tc.key(t)}))
			require.NoError(t, err)
		})
	}

	weak := []struct {
		name string
		key  func(t *testing.T) string
	}{
		{"too_short_base64", func(t *testing.T) string {
			return base64.StdEncoding.EncodeToString(randomKey(t, 16))
		}},
		{"31_bytes_base64", func(t *testing.T) string {
			return base64.StdEncoding.EncodeToString(randomKey(t, 31))
		}},
		{"32_equal_bytes", func(*testing.T) string {
			return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0x41}, 32))
		}},
		{"32_zero_bytes_hex", func(*testing.T) string { return hex.EncodeToString(make([]byte, 32)) }},
		{"few_distinct_bytes", func(*testing.T) string {
			return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("abcdefgh"), 4))
		}},
		{"not_base64_or_hex", func(*testing.T) string { return "this is not a key!" }},
		{"31_bytes_hex_that_also_parses_as_base64", func(t *testing.T) string { return hex.EncodeToString(randomKey(t, 31)) }},
		{"22_bytes_hex", func(t *testing.T) string { return hex.EncodeToString(randomKey(t, 22)) }},
		{"passphrase", func(*testing.T) string { return "correct horse battery staple, really!!" }},
	}
	for _, tc := range weak {
		t.Run("refuses_"+tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := bootstrap.ParseConfig(production(t, map[string]string{"KEY_ENCRYPTION_KEY": tc.key(t)}))
			require.Error(t, err)
			assert.Contains(t, err.Error(), "KEY_ENCRYPTION_KEY")
		})
		t.Run("refuses_"+tc.name+"_outside_production", func(t *testing.T) {
			t.Parallel()
			_, err := bootstrap.ParseConfig(map[string]string{"KEY_ENCRYPTION_KEY": tc.key(t)})
			require.Error(t, err, "a key that is set is checked in every environment")
			assert.Contains(t, err.Error(), "KEY_ENCRYPTION_KEY")
		})
	}

	t.Run("key_is_optional_outside_production", func(t *testing.T) {
		t.Parallel()
		c, err := bootstrap.ParseConfig(map[string]string{"ENV": "development"})
		require.NoError(t, err)
		assert.Empty(t, c.KeyEncryptionKey)
	})
}

func TestParseConfig_rejects_invalid_settings(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		vars     map[string]string
		variable string
	}{
		{"unknown_env", map[string]string{"ENV": "prod"}, "ENV"},
		{"upper_case_env", map[string]string{"ENV": "Production"}, "ENV"},
		{"unknown_database_scheme", map[string]string{"DATABASE_URL": "mysql://db/ums"}, "DATABASE_URL"},
		{"unknown_log_level", map[string]string{"LOG_LEVEL": "trace"}, "LOG_LEVEL"},
		{"unknown_log_format", map[string]string{"LOG_FORMAT": "xml"}, "LOG_FORMAT"},
		{"tiny_body_limit", map[string]string{"HTTP_BODY_LIMIT": "100"}, "HTTP_BODY_LIMIT"},
		{"zero_timeout", map[string]string{"HTTP_WRITE_TIMEOUT": "0s"}, "HTTP_WRITE_TIMEOUT"},
		{"negative_timeout", map[string]string{"SHUTDOWN_TIMEOUT": "-1s"}, "SHUTDOWN_TIMEOUT"},
		{"no_db_connections", map[string]string{"DB_MAX_OPEN_CONNS": "0"}, "DB_MAX_OPEN_CONNS"},
		{"weak_argon2_memory", map[string]string{"ARGON2_MEMORY_KIB": "1024"}, "ARGON2_MEMORY_KIB"},
		{"zero_argon2_iterations", map[string]string{"ARGON2_ITERATIONS": "0"}, "ARGON2_ITERATIONS"},
		{"zero_argon2_parallelism", map[string]string{"ARGON2_PARALLELISM": "0"}, "ARGON2_PARALLELISM"},
		{"password_max_age_that_would_overflow", map[string]string{"PASSWORD_MAX_AGE_DAYS": "200000"}, "PASSWORD_MAX_AGE_DAYS"},
		{"negative_hash_concurrency", map[string]string{"HASH_CONCURRENCY": "-1"}, "HASH_CONCURRENCY"},
		{"negative_hash_queue", map[string]string{"HASH_QUEUE_SIZE": "-1"}, "HASH_QUEUE_SIZE"},
		{"short_minimum_password", map[string]string{"PASSWORD_MIN_LENGTH": "6"}, "PASSWORD_MIN_LENGTH"},
		{"max_below_min_password", map[string]string{"PASSWORD_MIN_LENGTH": "20", "PASSWORD_MAX_LENGTH": "16"}, "PASSWORD_MAX_LENGTH"},
		{"huge_max_password", map[string]string{"PASSWORD_MAX_LENGTH": "4096"}, "PASSWORD_MAX_LENGTH"},
		{"five_classes", map[string]string{"PASSWORD_REQUIRE_CLASSES": "5"}, "PASSWORD_REQUIRE_CLASSES"},
		{"negative_max_age", map[string]string{"PASSWORD_MAX_AGE_DAYS": "-1"}, "PASSWORD_MAX_AGE_DAYS"},
		{"account_threshold_not_above_login", map[string]string{"LOGIN_MAX_FAILURES": "5", "LOGIN_ACCOUNT_MAX_FAILURES": "5"},
			"LOGIN_ACCOUNT_MAX_FAILURES"},
		{"old_public_jwt_secret", map[string]string{"LEGACY_API": "true", "LEGACY_JWT_SECRET": "dev-secret-key-change-in-production"},
			"LEGACY_JWT_SECRET"},
		{"old_secret_without_the_old_api", map[string]string{"LEGACY_JWT_SECRET": "a real old secret"}, "LEGACY_JWT_SECRET"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := bootstrap.ParseConfig(tc.vars)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.variable)
		})
	}
}

func TestParseConfig_reports_every_broken_rule_at_once(t *testing.T) {
	t.Parallel()
	_, err := bootstrap.ParseConfig(map[string]string{
		"ENV":               "production",
		"LOG_LEVEL":         "debug",
		"HTTP_BODY_LIMIT":   "10",
		"DB_MAX_OPEN_CONNS": "0",
	})
	require.Error(t, err)
	for _, v := range []string{"DATABASE_URL", "KEY_ENCRYPTION_KEY", "LOG_LEVEL", "HTTP_BODY_LIMIT", "DB_MAX_OPEN_CONNS"} {
		assert.Contains(t, err.Error(), v)
	}
}

// Package bootstrap loads and validates configuration and composes the
// application with Uber fx: one module per adapter, bound to the ports. It is
// the only package that knows every other one.
package bootstrap

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
	"github.com/joho/godotenv"
	"golang.org/x/net/publicsuffix"

	"github.com/ums-project/ums/ports"
)

// Environments UMS knows.
const (
	EnvDevelopment = "development"
	EnvProduction  = "production"
	EnvTest        = "test"
)

// Config is every setting of UMS, read from the environment. .env.example
// documents each variable; keep the two in step.
type Config struct {
	Env string `env:"ENV" envDefault:"development"`

	HTTPAddr              string        `env:"HTTP_ADDR" envDefault:":8080"`
	HTTPBodyLimit         int64         `env:"HTTP_BODY_LIMIT" envDefault:"1048576"`
	HTTPReadHeaderTimeout time.Duration `env:"HTTP_READ_HEADER_TIMEOUT" envDefault:"5s"`
	HTTPReadTimeout       time.Duration `env:"HTTP_READ_TIMEOUT" envDefault:"15s"`
	HTTPWriteTimeout      time.Duration `env:"HTTP_WRITE_TIMEOUT" envDefault:"30s"`
	HTTPIdleTimeout       time.Duration `env:"HTTP_IDLE_TIMEOUT" envDefault:"120s"`
	ShutdownTimeout       time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"20s"`

	DatabaseURL    string `env:"DATABASE_URL" envDefault:"sqlite://./data/ums.db"`
	DBMaxOpenConns int    `env:"DB_MAX_OPEN_CONNS" envDefault:"20"`
	// DBMaxIdleConns 0 keeps every open connection: below the open limit,
	// a burst closes connections it then has to reopen (a Postgres backend
	// forks per connection), which was the tail of GET /me under load.
	DBMaxIdleConns    int           `env:"DB_MAX_IDLE_CONNS" envDefault:"0"`
	DBConnMaxLifetime time.Duration `env:"DB_CONN_MAX_LIFETIME" envDefault:"30m"`
	DBConnMaxIdleTime time.Duration `env:"DB_CONN_MAX_IDLE_TIME" envDefault:"5m"`
	DBPingOnStart     bool          `env:"DB_PING_ON_START" envDefault:"true"`

	LogLevel          string `env:"LOG_LEVEL" envDefault:"info"`
	LogFormat         string `env:"LOG_FORMAT"`
	LogFile           string `env:"LOG_FILE"`
	LogFileMaxSizeMB  int    `env:"LOG_FILE_MAX_SIZE_MB" envDefault:"100"`
	LogFileMaxBackups int    `env:"LOG_FILE_MAX_BACKUPS" envDefault:"10"`
	LogFileMaxAgeDays int    `env:"LOG_FILE_MAX_AGE_DAYS" envDefault:"30"`

	PublicURL           string        `env:"PUBLIC_URL" envDefault:"http://localhost:8080"`
	AccessTokenTTL      time.Duration `env:"ACCESS_TOKEN_TTL" envDefault:"15m"`
	AccessTokenAudience string        `env:"ACCESS_TOKEN_AUDIENCE" envDefault:"ums"`
	TokenLeeway         time.Duration `env:"TOKEN_LEEWAY" envDefault:"30s"`
	RefreshTokenIdleTTL time.Duration `env:"REFRESH_TOKEN_IDLE_TTL" envDefault:"168h"`
	SessionTTL          time.Duration `env:"SESSION_TTL" envDefault:"720h"`
	RefreshReuseGrace   time.Duration `env:"REFRESH_REUSE_GRACE" envDefault:"0s"`

	LoginMaxFailures   int           `env:"LOGIN_MAX_FAILURES" envDefault:"5"`
	LoginFailureWindow time.Duration `env:"LOGIN_FAILURE_WINDOW" envDefault:"15m"`
	LoginLockout       time.Duration `env:"LOGIN_LOCKOUT" envDefault:"15m"`
	// LoginAccountMaxFailures is the per-account threshold across the
	// account's login texts; 0 means four times LoginMaxFailures.
	LoginAccountMaxFailures int `env:"LOGIN_ACCOUNT_MAX_FAILURES" envDefault:"0"`

	AppName                  string        `env:"APP_NAME" envDefault:"UMS"`
	RequireEmailVerification bool          `env:"REQUIRE_EMAIL_VERIFICATION" envDefault:"false"`
	PasswordResetTTL         time.Duration `env:"PASSWORD_RESET_TTL" envDefault:"1h"`
	EmailVerificationTTL     time.Duration `env:"EMAIL_VERIFICATION_TTL" envDefault:"24h"`

	MailDriver      string `env:"MAIL_DRIVER" envDefault:"log"`
	MailFrom        string `env:"MAIL_FROM" envDefault:"UMS <no-reply@localhost>"`
	MailLinkBaseURL string `env:"MAIL_LINK_BASE_URL"`
	// UIIdleTimeout signs a console browser out after this long without
	// a page; UIReauthAfter is how old a sign-in may be for a sensitive
	// action before the password is asked again.
	UIIdleTimeout    time.Duration `env:"UI_IDLE_TIMEOUT" envDefault:"30m"`
	UIReauthAfter    time.Duration `env:"UI_REAUTH_AFTER" envDefault:"10m"`
	MailPollInterval time.Duration `env:"MAIL_POLL_INTERVAL" envDefault:"2s"`
	SMTPHost         string        `env:"SMTP_HOST"`
	SMTPPort         int           `env:"SMTP_PORT" envDefault:"587"`
	SMTPUsername     string        `env:"SMTP_USERNAME"`
	SMTPPassword     string        `env:"SMTP_PASSWORD"`
	SMTPTLS          string        `env:"SMTP_TLS" envDefault:"starttls"`
	SMTPTimeout      time.Duration `env:"SMTP_TIMEOUT" envDefault:"10s"`

	AuditRetention time.Duration `env:"AUDIT_RETENTION" envDefault:"0s"`

	TrustedProxies   []string      `env:"TRUSTED_PROXIES" envSeparator:","`
	AllowedOrigins   []string      `env:"ALLOWED_ORIGINS" envSeparator:","`
	CORSMaxAge       time.Duration `env:"CORS_MAX_AGE" envDefault:"10m"`
	TLSCertFile      string        `env:"TLS_CERT_FILE"`
	TLSKeyFile       string        `env:"TLS_KEY_FILE"`
	HTTPRedirectAddr string        `env:"HTTP_REDIRECT_ADDR"`
	MetricsEnabled   bool          `env:"METRICS_ENABLED" envDefault:"true"`
	MetricsAddr      string        `env:"METRICS_ADDR"`
	PprofAddr        string        `env:"PPROF_ADDR"`
	// MetricsBearerToken, when set, guards /metrics (on either listener)
	// with "Authorization: Bearer <token>". A secret: never logged.
	MetricsBearerToken string `env:"METRICS_BEARER_TOKEN"`

	// LegacyAPI serves the old Flask service's API under /api/ beside
	// /api/v1, for its clients through the cutover.
	LegacyAPI bool `env:"LEGACY_API" envDefault:"false"`
	// LegacyJWTSecret is the old service's JWT_SECRET_KEY: with it, the
	// tokens it issued before the cutover keep working until they
	// expire. A secret: never logged.
	LegacyJWTSecret string `env:"LEGACY_JWT_SECRET"`

	RateLimitEnabled  bool   `env:"RATE_LIMIT_ENABLED" envDefault:"true"`
	RateLimitGlobal   string `env:"RATE_LIMIT_GLOBAL" envDefault:"1200/1m"`
	RateLimitLogin    string `env:"RATE_LIMIT_LOGIN" envDefault:"30/1m"`
	RateLimitRegister string `env:"RATE_LIMIT_REGISTER" envDefault:"20/1h"`
	RateLimitRefresh  string `env:"RATE_LIMIT_REFRESH" envDefault:"120/1m"`
	RateLimitPassword string `env:"RATE_LIMIT_PASSWORD" envDefault:"10/15m"`
	RateLimitEmail    string `env:"RATE_LIMIT_EMAIL" envDefault:"20/1h"`
	// RateLimitInvite bounds the invitations sent (made or resent) by
	// each inviter and into each organization, not per IP.
	RateLimitInvite string `env:"RATE_LIMIT_INVITE" envDefault:"30/1h"`

	RedisURL       string `env:"REDIS_URL"`
	RedisKeyPrefix string `env:"REDIS_KEY_PREFIX" envDefault:"ums:"`

	KeyEncryptionKey     string `env:"KEY_ENCRYPTION_KEY"`
	KeyEncryptionKeyFile string `env:"KEY_ENCRYPTION_KEY_FILE" envDefault:"./data/key-encryption-key"`

	Argon2MemoryKiB   uint32        `env:"ARGON2_MEMORY_KIB" envDefault:"19456"`
	Argon2Iterations  uint32        `env:"ARGON2_ITERATIONS" envDefault:"2"`
	Argon2Parallelism uint8         `env:"ARGON2_PARALLELISM" envDefault:"1"`
	HashConcurrency   int           `env:"HASH_CONCURRENCY" envDefault:"0"`
	HashQueueSize     int           `env:"HASH_QUEUE_SIZE" envDefault:"64"`
	HashQueueTimeout  time.Duration `env:"HASH_QUEUE_TIMEOUT" envDefault:"500ms"`

	// AuthzCacheSize bounds the (user, organization) access facts kept in
	// memory for /authorize; 0 turns the cache off. AuthzCacheTTL bounds
	// an entry's life (stamps already invalidate it on every change).
	AuthzCacheSize int           `env:"AUTHZ_CACHE_SIZE" envDefault:"100000"`
	AuthzCacheTTL  time.Duration `env:"AUTHZ_CACHE_TTL" envDefault:"1m"`

	PasswordMinLength      int `env:"PASSWORD_MIN_LENGTH" envDefault:"12"`
	PasswordMaxLength      int `env:"PASSWORD_MAX_LENGTH" envDefault:"256"`
	PasswordRequireClasses int `env:"PASSWORD_REQUIRE_CLASSES" envDefault:"0"`
	PasswordMaxAgeDays     int `env:"PASSWORD_MAX_AGE_DAYS" envDefault:"0"`
	PasswordHistory        int `env:"PASSWORD_HISTORY" envDefault:"0"`

	// WebAuthnRPID is the passkeys' relying party id: a domain that is
	// each origin's host or a registrable suffix of it. Empty means the
	// host of PUBLIC_URL (ParseConfig fills it in), unless that is an IP
	// address, which cannot be one: passkeys are then off.
	WebAuthnRPID string `env:"WEBAUTHN_RP_ID"`
	// WebAuthnRPOrigins are the exact origins browsers may run passkey
	// ceremonies from. Empty means the origin of PUBLIC_URL.
	WebAuthnRPOrigins []string `env:"WEBAUTHN_RP_ORIGINS" envSeparator:","`
	// WebAuthnRPName is the name authenticators show beside a passkey.
	WebAuthnRPName string `env:"WEBAUTHN_RP_NAME" envDefault:"UMS"`

	// Webhooks: one request's timeout; the first retry's wait (doubled
	// each time, with jitter) and the attempts before a delivery is given
	// up; how long an endpoint may fail without a success before it is
	// disabled (0: never); how long a rotated-out secret keeps signing;
	// private targets in production; how often the worker looks for work;
	// how long delivered messages and their log are kept (0: forever).
	WebhookTimeout       time.Duration `env:"WEBHOOK_TIMEOUT" envDefault:"10s"`
	WebhookRetryBase     time.Duration `env:"WEBHOOK_RETRY_BASE" envDefault:"5s"`
	WebhookMaxAttempts   int           `env:"WEBHOOK_MAX_ATTEMPTS" envDefault:"8"`
	WebhookDisableAfter  time.Duration `env:"WEBHOOK_DISABLE_AFTER" envDefault:"120h"`
	WebhookSecretOverlap time.Duration `env:"WEBHOOK_SECRET_OVERLAP" envDefault:"24h"`
	WebhookAllowPrivate  bool          `env:"WEBHOOK_ALLOW_PRIVATE" envDefault:"false"`
	WebhookPollInterval  time.Duration `env:"WEBHOOK_POLL_INTERVAL" envDefault:"1s"`
	WebhookRetention     time.Duration `env:"WEBHOOK_RETENTION" envDefault:"720h"`
}

// IsProduction reports whether the production safety rules apply.
func (c Config) IsProduction() bool { return c.Env == EnvProduction }

// LoadConfig reads the process environment. Outside production a .env file
// in the working directory is read first; real environment variables win.
func LoadConfig() (Config, error) {
	if os.Getenv("ENV") != EnvProduction {
		if err := godotenv.Load(); err != nil && !errors.Is(err, os.ErrNotExist) {
			return Config{}, fmt.Errorf(".env: %w", err)
		}
	}
	return ParseConfig(env.ToMap(os.Environ()))
}

// ParseConfig builds and validates a Config from the given variables.
func ParseConfig(vars map[string]string) (Config, error) {
	var c Config
	if err := env.ParseWithOptions(&c, env.Options{Environment: vars}); err != nil {
		return Config{}, describeParseError(err)
	}
	if c.HashConcurrency == 0 {
		c.HashConcurrency = runtime.NumCPU()
	}
	if c.MailLinkBaseURL == "" {
		c.MailLinkBaseURL = c.PublicURL
	}
	if c.LogFormat == "" {
		c.LogFormat = "console"
		if c.IsProduction() {
			c.LogFormat = "json"
		}
	}
	c.defaultWebAuthn()
	return c, c.Validate()
}

// Validate checks every rule and reports all broken ones, each naming its
// variable.
func (c Config) Validate() error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
	}
	switch c.Env {
	case EnvDevelopment, EnvProduction, EnvTest:
	default:
		bad("ENV", "must be development, production or test, got %q", c.Env)
	}
	if !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") &&
		!strings.HasPrefix(c.DatabaseURL, "sqlite:") {
		bad("DATABASE_URL", "must start with postgres://, postgresql:// or sqlite://")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("LOG_LEVEL", "must be debug, info, warn or error, got %q", c.LogLevel)
	}
	if c.LogFormat != "console" && c.LogFormat != "json" {
		bad("LOG_FORMAT", "must be console or json, got %q", c.LogFormat)
	}
	if c.HTTPBodyLimit < 1024 {
		bad("HTTP_BODY_LIMIT", "must be at least 1024 bytes")
	}
	for name, d := range map[string]time.Duration{
		"HTTP_READ_HEADER_TIMEOUT": c.HTTPReadHeaderTimeout, "HTTP_READ_TIMEOUT": c.HTTPReadTimeout,
		"HTTP_WRITE_TIMEOUT": c.HTTPWriteTimeout, "HTTP_IDLE_TIMEOUT": c.HTTPIdleTimeout,
		"SHUTDOWN_TIMEOUT": c.ShutdownTimeout, "HASH_QUEUE_TIMEOUT": c.HashQueueTimeout, "AUTHZ_CACHE_TTL": c.AuthzCacheTTL,
	} {
		if d <= 0 {
			bad(name, "must be a positive duration such as 15s")
		}
	}
	if !strings.HasPrefix(c.PublicURL, "http://") && !strings.HasPrefix(c.PublicURL, "https://") {
		bad("PUBLIC_URL", "must be an http:// or https:// URL, got %q", c.PublicURL)
	}
	if c.AccessTokenTTL < time.Minute || c.AccessTokenTTL > 24*time.Hour {
		bad("ACCESS_TOKEN_TTL", "must be between 1m and 24h")
	}
	if strings.TrimSpace(c.AccessTokenAudience) == "" {
		bad("ACCESS_TOKEN_AUDIENCE", "must not be empty")
	}
	if c.TokenLeeway < 0 || c.TokenLeeway > 5*time.Minute {
		bad("TOKEN_LEEWAY", "must be between 0s and 5m")
	}
	if c.SessionTTL < time.Hour {
		bad("SESSION_TTL", "must be at least 1h")
	}
	if c.RefreshTokenIdleTTL < time.Minute || c.RefreshTokenIdleTTL > c.SessionTTL {
		bad("REFRESH_TOKEN_IDLE_TTL", "must be between 1m and SESSION_TTL")
	}
	if c.RefreshReuseGrace < 0 || c.RefreshReuseGrace > time.Minute {
		bad("REFRESH_REUSE_GRACE", "must be between 0s (strict) and 1m")
	}
	if c.LoginMaxFailures < 1 {
		bad("LOGIN_MAX_FAILURES", "must be at least 1")
	}
	if c.LoginAccountMaxFailures != 0 && c.LoginAccountMaxFailures <= c.LoginMaxFailures {
		bad("LOGIN_ACCOUNT_MAX_FAILURES", "must be above LOGIN_MAX_FAILURES (or 0 for four times it)")
	}
	if c.LoginFailureWindow <= 0 {
		bad("LOGIN_FAILURE_WINDOW", "must be a positive duration such as 15m")
	}
	if c.LoginLockout <= 0 {
		bad("LOGIN_LOCKOUT", "must be a positive duration such as 15m; the lock is always temporary")
	}
	if c.PasswordHistory < 0 || c.PasswordHistory > 24 {
		bad("PASSWORD_HISTORY", "must be between 0 (off) and 24")
	}
	if c.PasswordResetTTL < 5*time.Minute || c.PasswordResetTTL > 24*time.Hour {
		bad("PASSWORD_RESET_TTL", "must be between 5m and 24h")
	}
	if c.EmailVerificationTTL < 5*time.Minute || c.EmailVerificationTTL > 30*24*time.Hour {
		bad("EMAIL_VERIFICATION_TTL", "must be between 5m and 720h")
	}
	if !strings.HasPrefix(c.MailLinkBaseURL, "http://") && !strings.HasPrefix(c.MailLinkBaseURL, "https://") {
		bad("MAIL_LINK_BASE_URL", "must be an http:// or https:// URL, got %q", c.MailLinkBaseURL)
	}
	if strings.TrimSpace(c.MailFrom) == "" {
		bad("MAIL_FROM", "must not be empty")
	}
	if c.MailPollInterval < 10*time.Millisecond {
		bad("MAIL_POLL_INTERVAL", "must be at least 10ms")
	}
	switch c.MailDriver {
	case "log":
	case "smtp":
		if c.SMTPHost == "" {
			bad("SMTP_HOST", "is required with MAIL_DRIVER=smtp")
		}
		if c.SMTPPort < 1 || c.SMTPPort > 65535 {
			bad("SMTP_PORT", "must be a TCP port")
		}
		switch c.SMTPTLS {
		case "starttls", "tls", "none":
		default:
			bad("SMTP_TLS", "must be starttls, tls or none, got %q", c.SMTPTLS)
		}
		if c.SMTPTimeout <= 0 {
			bad("SMTP_TIMEOUT", "must be a positive duration such as 10s")
		}
	default:
		bad("MAIL_DRIVER", "must be smtp or log, got %q", c.MailDriver)
	}
	if _, err := c.TrustedNets(); err != nil {
		bad("TRUSTED_PROXIES", "%v", err)
	}
	for _, o := range c.AllowedOrigins {
		if err := checkOrigin(o); err != nil {
			bad("ALLOWED_ORIGINS", "%v", err)
		}
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		bad("TLS_CERT_FILE", "TLS_CERT_FILE and TLS_KEY_FILE go together")
	}
	if c.HTTPRedirectAddr != "" && c.TLSCertFile == "" {
		bad("HTTP_REDIRECT_ADDR", "needs TLS_CERT_FILE and TLS_KEY_FILE: it redirects to this server's HTTPS")
	}
	for name, v := range c.rateLimitVars() {
		if _, err := ParseRateLimit(v); err != nil {
			bad(name, "%v", err)
		}
	}
	if c.AuditRetention != 0 && c.AuditRetention < 24*time.Hour {
		bad("AUDIT_RETENTION", "must be 0 (keep forever) or at least 24h")
	}
	if c.RedisURL != "" && !strings.HasPrefix(c.RedisURL, "redis://") && !strings.HasPrefix(c.RedisURL, "rediss://") {
		bad("REDIS_URL", "must start with redis:// or rediss://")
	}
	if c.AuthzCacheSize < 0 {
		bad("AUTHZ_CACHE_SIZE", "must be 0 (off) or more")
	}
	if c.DBMaxOpenConns < 1 {
		bad("DB_MAX_OPEN_CONNS", "must be at least 1")
	}
	if c.Argon2MemoryKiB < 8*1024 {
		bad("ARGON2_MEMORY_KIB", "must be at least 8192 (8 MiB); OWASP recommends 19456")
	}
	if c.Argon2Iterations < 1 {
		bad("ARGON2_ITERATIONS", "must be at least 1")
	}
	if c.Argon2Parallelism < 1 {
		bad("ARGON2_PARALLELISM", "must be at least 1")
	}
	if c.HashConcurrency < 1 {
		bad("HASH_CONCURRENCY", "must be at least 1 (0 means one per core)")
	}
	if c.HashQueueSize < 0 {
		bad("HASH_QUEUE_SIZE", "must not be negative")
	}
	if c.PasswordMinLength < 8 {
		bad("PASSWORD_MIN_LENGTH", "must be at least 8")
	}
	if c.PasswordMaxLength < c.PasswordMinLength || c.PasswordMaxLength > 1024 {
		bad("PASSWORD_MAX_LENGTH", "must be between PASSWORD_MIN_LENGTH and 1024")
	}
	if c.PasswordRequireClasses < 0 || c.PasswordRequireClasses > 4 {
		bad("PASSWORD_REQUIRE_CLASSES", "must be between 0 and 4")
	}
	if c.PasswordMaxAgeDays < 0 || c.PasswordMaxAgeDays > 3650 {
		bad("PASSWORD_MAX_AGE_DAYS", "must be between 0 (no expiry) and 3650")
	}
	if c.MetricsBearerToken != "" && !visibleASCII(c.MetricsBearerToken) {
		// The value itself is never quoted: it is a secret.
		bad("METRICS_BEARER_TOKEN", "must be printable ASCII without spaces: scrapers send it in an Authorization header")
	}
	if c.LegacyJWTSecret != "" {
		switch {
		case !c.LegacyAPI:
			bad("LEGACY_JWT_SECRET", "is only used with LEGACY_API=true")
		case publicLegacySecrets[c.LegacyJWTSecret]:
			// Anyone can sign with a published key: its tokens prove nothing.
			bad("LEGACY_JWT_SECRET", "is the old service's public default; tokens signed with it prove nothing, so leave it unset and let those users sign in once more")
		}
	}
	if c.KeyEncryptionKey != "" {
		if err := checkSecret(c.KeyEncryptionKey); err != nil {
			bad("KEY_ENCRYPTION_KEY", "%v", err)
		}
	}
	errs = append(errs, c.webAuthnErrors()...)
	errs = append(errs, c.webhookErrors()...)
	if c.IsProduction() {
		errs = append(errs, c.productionErrors()...)
	}
	return errors.Join(errs...)
}

// productionErrors are the rules that keep an unsafe setup from serving.
func (c Config) productionErrors() []error {
	var errs []error
	if strings.HasPrefix(c.DatabaseURL, "sqlite:") {
		errs = append(errs, errors.New("DATABASE_URL: SQLite is for development; production needs postgres:// so instances share state and backups are possible"))
	}
	if c.KeyEncryptionKey == "" {
		errs = append(errs, errors.New("KEY_ENCRYPTION_KEY: required in production (generate one with: openssl rand -base64 32)"))
	}
	if c.LogLevel == "debug" {
		errs = append(errs, errors.New("LOG_LEVEL: debug is refused in production; it may record request details not meant for logs"))
	}
	if c.MailDriver == "log" {
		errs = append(errs, errors.New("MAIL_DRIVER: log writes reset links and tokens to the log; production needs smtp"))
	}
	if c.MailDriver == "smtp" && c.SMTPTLS == "none" && c.SMTPUsername != "" {
		errs = append(errs, errors.New("SMTP_TLS: none would send SMTP_PASSWORD in the clear; use starttls or tls"))
	}
	if c.MetricsEnabled && c.MetricsAddr == "" && c.MetricsBearerToken == "" {
		// Metrics name routes, traffic and failure rates: reconnaissance
		// for anyone who can reach the public port.
		errs = append(errs, errors.New("METRICS_ADDR: production must not serve /metrics openly on the public port; "+
			"set METRICS_ADDR to a private address, or METRICS_BEARER_TOKEN to require a token (or METRICS_ENABLED=false)"))
	}
	if n := len(c.MetricsBearerToken); n > 0 && n < minMetricsTokenLen {
		errs = append(errs, fmt.Errorf("METRICS_BEARER_TOKEN: is %d characters; production needs at least %d (generate one with: openssl rand -hex 32)",
			n, minMetricsTokenLen))
	}
	return errs
}

// minMetricsTokenLen is the shortest METRICS_BEARER_TOKEN production
// accepts: 32 characters leave no room for a guessable word.
const minMetricsTokenLen = 32

// visibleASCII reports whether s is made of printable ASCII other than
// space, the characters a bearer token can carry unchanged in a header.
func visibleASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// checkSecret accepts base64 or hex encodings of at least 32 random bytes.
// Spreading over at least 16 distinct byte values rules out "aaaa…" and
// similar hand-typed keys that decode to enough length but carry no entropy.
func checkSecret(s string) error {
	raw, err := decodeSecret(s)
	if err != nil {
		return err
	}
	if len(raw) < 32 {
		return fmt.Errorf("decodes to %d bytes; at least 32 random bytes are required (openssl rand -base64 32)", len(raw))
	}
	distinct := map[byte]struct{}{}
	for _, b := range raw {
		distinct[b] = struct{}{}
	}
	if len(distinct) < 16 {
		return errors.New("does not look random (too few distinct bytes); generate one with: openssl rand -base64 32")
	}
	return nil
}

// decodeSecret decodes a base64 (standard or URL, padded or not) or hex
// secret.
func decodeSecret(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	// A string of hex digits is read as hex even when it would also parse
	// as base64, so a short hex key is measured by its real length.
	if b, err := hex.DecodeString(s); err == nil {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("must be base64 or hex (generate one with: openssl rand -base64 32)")
}

// describeParseError rewrites the env library's field names into variable
// names, which is what an operator sees and sets.
func describeParseError(err error) error {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return err
	}
	var out []error
	for _, e := range agg.Errors {
		var pe env.ParseError
		if errors.As(e, &pe) {
			out = append(out, fmt.Errorf("%s: cannot parse as %s: %v", envName(pe.Name), pe.Type, pe.Err))
			continue
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}

func envName(field string) string {
	if f, ok := reflect.TypeOf(Config{}).FieldByName(field); ok {
		if tag := f.Tag.Get("env"); tag != "" {
			return tag
		}
	}
	return field
}

// TrustedNets parses TRUSTED_PROXIES: CIDRs or single addresses.
func (c Config) TrustedNets() ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, s := range c.TrustedProxies {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			ip := net.ParseIP(s)
			if ip == nil {
				return nil, fmt.Errorf("%q is neither an IP address nor a CIDR", s)
			}
			bits := 32
			if ip.To4() == nil {
				bits = 128
			}
			s = fmt.Sprintf("%s/%d", s, bits)
		}
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an IP address nor a CIDR", s)
		}
		out = append(out, n)
	}
	return out, nil
}

// checkOrigin accepts an exact origin: scheme, host and optional port, no
// path and no wildcard (credentials are allowed, so "*" would be unsafe).
func checkOrigin(o string) error {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Contains(o, "*") ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return fmt.Errorf("%q must be an exact origin such as https://portal.example.com (no wildcard, no path)", o)
	}
	return nil
}

func (c Config) rateLimitVars() map[string]string {
	return map[string]string{
		"RATE_LIMIT_GLOBAL": c.RateLimitGlobal, "RATE_LIMIT_LOGIN": c.RateLimitLogin,
		"RATE_LIMIT_REGISTER": c.RateLimitRegister, "RATE_LIMIT_REFRESH": c.RateLimitRefresh,
		"RATE_LIMIT_PASSWORD": c.RateLimitPassword, "RATE_LIMIT_EMAIL": c.RateLimitEmail,
		"RATE_LIMIT_INVITE": c.RateLimitInvite,
	}
}

// ParseRateLimit reads "N/duration" (e.g. 30/1m): N requests per duration
// per client IP, N of them at once.
func ParseRateLimit(s string) (ports.RateLimit, error) {
	n, d, ok := strings.Cut(strings.TrimSpace(s), "/")
	rate, err := strconv.Atoi(n)
	if !ok || err != nil || rate < 1 {
		return ports.RateLimit{}, fmt.Errorf("%q must look like 30/1m: a positive count, a slash and a duration", s)
	}
	period, err := time.ParseDuration(d)
	if err != nil || period < time.Second {
		return ports.RateLimit{}, fmt.Errorf("%q must look like 30/1m with a duration of at least 1s", s)
	}
	return ports.RateLimit{Rate: rate, Period: period, Burst: rate}, nil
}

// publicLegacySecrets are the defaults the old Flask service fell back to
// when no secret was set: published in its repository, so nobody's secret.
var publicLegacySecrets = map[string]bool{
	"dev-secret-key-change-in-production": true,
}

// defaultWebAuthn derives the passkeys' relying party from PUBLIC_URL where
// it is not set, and writes every origin the way browsers serialize it
// (the library compares them as strings).
func (c *Config) defaultWebAuthn() {
	pub, err := url.Parse(strings.TrimSpace(c.PublicURL))
	if err != nil || pub.Host == "" {
		pub = nil
	}
	if pub != nil && net.ParseIP(pub.Hostname()) != nil {
		// Browsers (and the library) refuse an IP address as a relying
		// party: without a domain of their own, passkeys are off.
		pub = nil
	}
	c.WebAuthnRPID = strings.ToLower(strings.TrimSpace(c.WebAuthnRPID))
	if c.WebAuthnRPID == "" && pub != nil {
		c.WebAuthnRPID = strings.ToLower(pub.Hostname())
	}
	var origins []string
	for _, o := range c.WebAuthnRPOrigins {
		if o = strings.TrimSpace(o); o != "" {
			origins = append(origins, browserOrigin(o))
		}
	}
	if len(origins) == 0 && pub != nil && c.WebAuthnRPID != "" {
		origins = []string{browserOrigin(pub.Scheme + "://" + pub.Host)}
	}
	c.WebAuthnRPOrigins = origins
}

// browserOrigin writes an origin as a browser sends it in a WebAuthn
// ceremony: lower-case scheme and host, no default port, no trailing
// slash. What is not an origin is returned as is, for Validate to name.
func browserOrigin(o string) string {
	u, err := url.Parse(o)
	if err != nil || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return o
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return u.Scheme + "://" + host
}

// PasskeysEnabled reports whether passkeys are on: they need a relying
// party id, which PUBLIC_URL gives unless its host is an IP address.
func (c Config) PasskeysEnabled() bool { return c.WebAuthnRPID != "" }

// webAuthnErrors checks the relying party: an RP ID a browser accepts for
// every origin, exact http(s) origins, and https in production (browsers
// allow passkeys over plain http on localhost only).
func (c Config) webAuthnErrors() []error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
	}
	if !c.PasskeysEnabled() {
		if len(c.WebAuthnRPOrigins) > 0 {
			bad("WEBAUTHN_RP_ORIGINS", "needs WEBAUTHN_RP_ID: the host of PUBLIC_URL is an IP address, which cannot be a relying party")
		}
		return errs
	}
	idErr := checkRPID(c.WebAuthnRPID)
	if idErr != nil {
		bad("WEBAUTHN_RP_ID", "%v", idErr)
	}
	if len(c.WebAuthnRPOrigins) == 0 {
		bad("WEBAUTHN_RP_ORIGINS", "at least one origin is required (the default is the origin of PUBLIC_URL)")
	}
	for _, o := range c.WebAuthnRPOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
			strings.Contains(o, "*") || u.Path != "" || u.RawQuery != "" || u.Fragment != "" {
			bad("WEBAUTHN_RP_ORIGINS", "%q must be an exact http(s) origin such as https://login.example.com (no path, no wildcard)", o)
			continue
		}
		host := strings.ToLower(u.Hostname())
		if idErr == nil && !rpIDCovers(c.WebAuthnRPID, host) {
			bad("WEBAUTHN_RP_ORIGINS", "the host of %q is neither WEBAUTHN_RP_ID (%s) nor one of its subdomains; browsers would refuse its passkeys",
				o, c.WebAuthnRPID)
		}
		if c.IsProduction() && u.Scheme != "https" && !isLocalhost(host) {
			bad("WEBAUTHN_RP_ORIGINS", "%q: production needs https origins (browsers offer passkeys over http on localhost only)", o)
		}
	}
	if name := strings.TrimSpace(c.WebAuthnRPName); name == "" || len(name) > 64 {
		bad("WEBAUTHN_RP_NAME", "must be 1 to 64 characters")
	}
	return errs
}

// checkRPID accepts a domain name that is not a public suffix (a passkey
// for "com" or "github.io" would be offered on every site under it), or
// localhost. Browsers refuse IP addresses.
func checkRPID(id string) error {
	switch {
	case id == "localhost":
		return nil
	case net.ParseIP(strings.Trim(id, "[]")) != nil:
		return fmt.Errorf("%q is an IP address, which browsers refuse as a relying party; use a domain name (or localhost)", id)
	case len(id) > 253 || strings.ContainsAny(id, ":/*@?# "):
		return fmt.Errorf("%q must be a domain such as example.com: no scheme, port or path", id)
	}
	for _, label := range strings.Split(id, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("%q is not a valid domain name", id)
		}
		for i := 0; i < len(label); i++ {
			if b := label[i]; (b < 'a' || b > 'z') && (b < '0' || b > '9') && b != '-' {
				return fmt.Errorf("%q is not a valid domain name (write an internationalized name in its xn-- form)", id)
			}
		}
	}
	if suffix, _ := publicsuffix.PublicSuffix(id); suffix == id {
		return fmt.Errorf("%q is a public suffix; use a domain of your own, such as example.com", id)
	}
	return nil
}

// rpIDCovers reports whether a browser on host may use passkeys of RP ID
// id: the host is the id itself or a subdomain of it (never an IP).
func rpIDCovers(id, host string) bool {
	if net.ParseIP(host) != nil {
		return false
	}
	return host == id || strings.HasSuffix(host, "."+id)
}

// isLocalhost reports whether a host is the local machine by name, which
// browsers treat as a secure context over plain http.
func isLocalhost(host string) bool {
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}

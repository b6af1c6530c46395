package oidc

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/domain"
)

// BearerConfig is what the API needs to accept service accounts' tokens.
type BearerConfig struct {
	// Issuer is the provider's issuer (PUBLIC_URL).
	Issuer string
	// APIAudience must be among a token's audiences.
	APIAudience string
	// Leeway tolerates clock differences between instances.
	Leeway time.Duration
}

// ServiceAccountBearer accepts, as bearer credentials on the API, the
// access tokens service accounts get at the token endpoint: RS256 JWTs
// signed with the provider's keys, for the API's audience, whose subject
// is their own client.
type ServiceAccountBearer struct {
	cfg      BearerConfig
	keys     *application.OIDCKeys
	accounts *application.ServiceAccounts

	mu       sync.Mutex
	cached   map[string]*rsa.PublicKey
	loadedAt time.Time
}

var _ application.BearerScheme = (*ServiceAccountBearer)(nil)

// Key cache: keys are reread every keyCacheTTL, and at most every
// keyReloadGap for a kid not seen yet (a key another instance just made),
// so a flood of unknown kids costs one read a second.
const (
	keyCacheTTL     = time.Minute
	keyReloadGap    = time.Second
	maxBearerLength = 8 << 10
)

// NewServiceAccountBearer returns the scheme.
func NewServiceAccountBearer(cfg BearerConfig, keys *application.OIDCKeys, accounts *application.ServiceAccounts) *ServiceAccountBearer {
	cfg.Issuer = strings.TrimSuffix(cfg.Issuer, "/")
	return &ServiceAccountBearer{cfg: cfg, keys: keys, accounts: accounts}
}

// Accepts implements application.BearerScheme: a JWT whose header names
// RS256 and a kid. The API's own tokens are EdDSA; a person's token from
// the provider has this shape too, and Authenticate refuses it.
func (b *ServiceAccountBearer) Accepts(raw string) bool {
	head, _, ok := strings.Cut(raw, ".")
	if !ok || len(head) > 512 {
		return false
	}
	dec, err := base64.RawURLEncoding.DecodeString(head)
	// Every API request passes here: a header that cannot name RS256
	// (the API's own EdDSA tokens) is turned away before any JSON.
	if err != nil || !bytes.Contains(dec, []byte(`"RS256"`)) {
		return false
	}
	var h struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	return json.Unmarshal(dec, &h) == nil && h.Alg == string(jose.RS256) && h.Kid != ""
}

// serviceClaims are the claims of a service account's access token.
type serviceClaims struct {
	Issuer    string        `json:"iss"`
	Subject   string        `json:"sub"`
	Audience  oidc.Audience `json:"aud"`
	Expiry    oidc.Time     `json:"exp"`
	NotBefore oidc.Time     `json:"nbf"`
	JWTID     string        `json:"jti"`
	ClientID  string        `json:"client_id"`
}

// Authenticate implements application.BearerScheme: the signature (RS256
// only, with a published key of the provider), the issuer, the API's
// audience, the expiry and that the subject is its own client; then the
// use case checks the session and the account as they are now. Any
// failure of the token is domain.ErrInvalidToken.
func (b *ServiceAccountBearer) Authenticate(ctx context.Context, raw string) (domain.Principal, error) {
	if len(raw) > maxBearerLength {
		return domain.Principal{}, domain.ErrInvalidToken
	}
	sig, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil || len(sig.Signatures) != 1 {
		return domain.Principal{}, domain.ErrInvalidToken
	}
	pub, err := b.key(ctx, sig.Signatures[0].Header.KeyID)
	if err != nil {
		return domain.Principal{}, err
	}
	if pub == nil {
		return domain.Principal{}, domain.ErrInvalidToken
	}
	payload, err := sig.Verify(pub)
	if err != nil {
		return domain.Principal{}, domain.ErrInvalidToken
	}
	var c serviceClaims
	if json.Unmarshal(payload, &c) != nil {
		return domain.Principal{}, domain.ErrInvalidToken
	}
	now := time.Now()
	exp := c.Expiry.AsTime()
	switch {
	case c.Issuer != b.cfg.Issuer, c.Subject == "", c.Subject != c.ClientID,
		!slices.Contains(c.Audience, b.cfg.APIAudience), !slices.Contains(c.Audience, c.ClientID),
		exp.IsZero(), !now.Before(exp.Add(b.cfg.Leeway)),
		c.NotBefore != 0 && c.NotBefore.AsTime().After(now.Add(b.cfg.Leeway)):
		return domain.Principal{}, domain.ErrInvalidToken
	}
	account, err := uuid.Parse(c.Subject)
	if err != nil {
		return domain.Principal{}, domain.ErrInvalidToken
	}
	sid, err := uuid.Parse(c.JWTID)
	if err != nil {
		return domain.Principal{}, domain.ErrInvalidToken
	}
	return b.accounts.AuthenticateToken(ctx, sid, account, exp)
}

// key returns the provider's published key kid, or nil.
func (b *ServiceAccountBearer) key(ctx context.Context, kid string) (*rsa.PublicKey, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	since := time.Since(b.loadedAt)
	if k, ok := b.cached[kid]; ok && since < keyCacheTTL {
		return k, nil
	}
	if b.cached != nil && since < keyReloadGap {
		return b.cached[kid], nil
	}
	keys, err := b.keys.PublicKeys(ctx)
	if err != nil {
		return nil, err
	}
	b.cached = make(map[string]*rsa.PublicKey, len(keys))
	for _, k := range keys {
		b.cached[k.KID] = k.PublicKey
	}
	b.loadedAt = time.Now()
	return b.cached[kid], nil
}

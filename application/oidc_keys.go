package application

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// OIDCKeys are the RSA keys of the OpenID Connect provider, kept beside
// the Ed25519 keys in the same store: one active, retired ones published
// until their tokens expire. The first is made on first use, so an
// instance that never serves a client never pays for an RSA key.
type OIDCKeys struct {
	keys    *Keys
	refresh time.Duration

	mu       sync.Mutex
	cached   []domain.RSASigningKey
	loadedAt time.Time
}

// oidcKeyBits is the RSA modulus size.
const oidcKeyBits = 2048

const oidcSealLabel = "signing_keys.private_key.rsa"

// NewOIDCKeys manages the provider's keys in keys' store, rereading them
// every refresh.
func NewOIDCKeys(keys *Keys, refresh time.Duration) *OIDCKeys {
	return &OIDCKeys{keys: keys, refresh: refresh}
}

// Signing returns the active key, making the first one if there is none.
func (o *OIDCKeys) Signing(ctx context.Context) (domain.RSASigningKey, error) {
	keys, err := o.load(ctx, false)
	if err != nil {
		return domain.RSASigningKey{}, err
	}
	for _, k := range keys {
		if k.Active() {
			return k, nil
		}
	}
	if _, err := o.Rotate(ctx); err != nil {
		return domain.RSASigningKey{}, err
	}
	keys, err = o.load(ctx, true)
	if err != nil {
		return domain.RSASigningKey{}, err
	}
	for _, k := range keys {
		if k.Active() {
			return k, nil
		}
	}
	return domain.RSASigningKey{}, errors.New("no active OpenID Connect signing key")
}

// PublicKeys returns the keys verifiers need, newest first, without the
// private halves. It reads the store on each call, so a rotation made by
// any instance is published at once (signing may lag by the refresh).
func (o *OIDCKeys) PublicKeys(ctx context.Context) ([]domain.RSASigningKey, error) {
	stored, err := o.keys.repo.All(ctx)
	if err != nil {
		return nil, fmt.Errorf("load RSA keys: %w", err)
	}
	now := o.keys.clock.Now()
	out := []domain.RSASigningKey{}
	for _, s := range stored {
		key := domain.RSASigningKey{KID: s.KID, CreatedAt: s.CreatedAt, RetiredAt: s.RetiredAt, ExpiresAt: s.ExpiresAt}
		if s.Algorithm != domain.OIDCSigningAlgorithm || !key.Published(now) {
			continue
		}
		parsed, err := x509.ParsePKIXPublicKey(s.PublicKey)
		pub, ok := parsed.(*rsa.PublicKey)
		if err != nil || !ok {
			return nil, fmt.Errorf("RSA key %s is unreadable", s.KID)
		}
		key.PublicKey = pub
		out = append(out, key)
	}
	return out, nil
}

// Rotate makes a new active key and retires the previous ones.
func (o *OIDCKeys) Rotate(ctx context.Context) (domain.RSASigningKey, error) {
	k := o.keys
	priv, err := rsa.GenerateKey(k.random, oidcKeyBits)
	if err != nil {
		return domain.RSASigningKey{}, fmt.Errorf("generate RSA key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return domain.RSASigningKey{}, err
	}
	pub, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return domain.RSASigningKey{}, err
	}
	sealed, err := k.box.Seal(der, oidcSealLabel)
	if err != nil {
		return domain.RSASigningKey{}, fmt.Errorf("seal RSA key: %w", err)
	}
	now := k.clock.Now()
	key := domain.RSASigningKey{KID: newKID(k.ids), PublicKey: &priv.PublicKey, PrivateKey: priv, CreatedAt: now}
	err = k.tx.WithinTx(ctx, func(ctx context.Context) error {
		existing, err := k.repo.All(ctx)
		if err != nil {
			return err
		}
		for _, old := range existing {
			if old.RetiredAt == nil && old.Algorithm == domain.OIDCSigningAlgorithm {
				if err := k.repo.Retire(ctx, old.KID, now, now.Add(k.tokenTTL)); err != nil {
					return err
				}
			}
		}
		if err := k.repo.Create(ctx, ports.StoredSigningKey{KID: key.KID, Algorithm: domain.OIDCSigningAlgorithm,
			PublicKey: pub, PrivateKeySealed: sealed, CreatedAt: now}); err != nil {
			return err
		}
		ev := domain.NewAuditEvent(ctx, k.ids.NewID(), now, domain.ActionKeyRotated, domain.OutcomeSuccess)
		ev.TargetType, ev.TargetID = "signing_key", key.KID
		ev.Details = map[string]any{"algorithm": domain.OIDCSigningAlgorithm}
		return k.audit.Record(ctx, ev)
	})
	if err != nil {
		return domain.RSASigningKey{}, fmt.Errorf("rotate RSA key: %w", err)
	}
	o.mu.Lock()
	o.cached = nil
	o.mu.Unlock()
	return key, nil
}

func (o *OIDCKeys) load(ctx context.Context, force bool) ([]domain.RSASigningKey, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.keys.clock.Now()
	if !force && o.cached != nil && now.Sub(o.loadedAt) < o.refresh {
		return o.cached, nil
	}
	stored, err := o.keys.repo.All(ctx)
	if err != nil {
		return nil, fmt.Errorf("load RSA keys: %w", err)
	}
	out := []domain.RSASigningKey{}
	for _, s := range stored {
		if s.Algorithm != domain.OIDCSigningAlgorithm {
			continue
		}
		key := domain.RSASigningKey{KID: s.KID, CreatedAt: s.CreatedAt, RetiredAt: s.RetiredAt, ExpiresAt: s.ExpiresAt}
		if !key.Published(now) {
			continue
		}
		der, err := o.keys.box.Open(s.PrivateKeySealed, oidcSealLabel)
		if err != nil {
			return nil, fmt.Errorf("open RSA key %s (is KEY_ENCRYPTION_KEY the one it was sealed with?): %w", s.KID, err)
		}
		parsed, err := x509.ParsePKCS8PrivateKey(der)
		priv, ok := parsed.(*rsa.PrivateKey)
		if err != nil || !ok {
			return nil, fmt.Errorf("RSA key %s is unreadable", s.KID)
		}
		key.PrivateKey, key.PublicKey = priv, &priv.PublicKey
		out = append(out, key)
	}
	o.cached, o.loadedAt = out, now
	return out, nil
}

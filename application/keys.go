package application

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// Keys manages the token signing keys: the one active key and the retired
// ones still published.
type Keys struct {
	repo     ports.SigningKeyRepository
	box      ports.SecretBox
	tx       ports.TxManager
	audit    ports.AuditLog
	clock    ports.Clock
	ids      ports.IDGenerator
	random   io.Reader
	tokenTTL time.Duration
}

// sealLabel binds sealed private keys to the signing_keys table.
const sealLabel = "signing_keys.private_key"

// NewKeys wires the key management use case. tokenTTL is the lifetime of
// the longest token a key signs (plus clock leeway).
func NewKeys(repo ports.SigningKeyRepository, box ports.SecretBox, tx ports.TxManager, audit ports.AuditLog,
	clock ports.Clock, ids ports.IDGenerator, random io.Reader, tokenTTL time.Duration,
) *Keys {
	return &Keys{repo: repo, box: box, tx: tx, audit: audit, clock: clock, ids: ids, random: random, tokenTTL: tokenTTL}
}

// Rotate makes a new active key and retires the previous ones, which stay
// published until their tokens expire.
func (k *Keys) Rotate(ctx context.Context) (domain.SigningKey, error) {
	pub, priv, err := ed25519.GenerateKey(k.random)
	if err != nil {
		return domain.SigningKey{}, fmt.Errorf("generate signing key: %w", err)
	}
	now := k.clock.Now()
	key := domain.SigningKey{KID: newKID(k.ids), PublicKey: pub, PrivateKey: priv, CreatedAt: now}
	sealed, err := k.box.Seal(priv.Seed(), sealLabel)
	if err != nil {
		return domain.SigningKey{}, fmt.Errorf("seal signing key: %w", err)
	}
	err = k.tx.WithinTx(ctx, func(ctx context.Context) error {
		existing, err := k.repo.All(ctx)
		if err != nil {
			return err
		}
		for _, old := range existing {
			if old.RetiredAt == nil && old.Algorithm == domain.SigningAlgorithm {
				if err := k.repo.Retire(ctx, old.KID, now, now.Add(k.tokenTTL)); err != nil {
					return err
				}
			}
		}
		if err := k.repo.Create(ctx, ports.StoredSigningKey{
			KID: key.KID, Algorithm: domain.SigningAlgorithm, PublicKey: pub, PrivateKeySealed: sealed, CreatedAt: now,
		}); err != nil {
			return err
		}
		ev := domain.NewAuditEvent(ctx, k.ids.NewID(), now, domain.ActionKeyRotated, domain.OutcomeSuccess)
		ev.TargetType, ev.TargetID = "signing_key", key.KID
		return k.audit.Record(ctx, ev)
	})
	if err != nil {
		return domain.SigningKey{}, fmt.Errorf("rotate signing key: %w", err)
	}
	return key, nil
}

// EnsureActive creates the first key on a fresh database and otherwise
// returns the active one.
func (k *Keys) EnsureActive(ctx context.Context) (domain.SigningKey, error) {
	keys, err := k.Published(ctx)
	if err != nil {
		return domain.SigningKey{}, err
	}
	for _, key := range keys {
		if key.Active() {
			return key, nil
		}
	}
	return k.Rotate(ctx)
}

// Published returns the active key and every retired key whose tokens may
// still be valid, newest first, with private keys opened.
func (k *Keys) Published(ctx context.Context) ([]domain.SigningKey, error) {
	return k.published(ctx, true)
}

// PublicKeys is Published without the private keys, for the JWKS: nothing
// is decrypted to answer a public request.
func (k *Keys) PublicKeys(ctx context.Context) ([]domain.SigningKey, error) {
	return k.published(ctx, false)
}

func (k *Keys) published(ctx context.Context, withPrivate bool) ([]domain.SigningKey, error) {
	stored, err := k.repo.All(ctx)
	if err != nil {
		return nil, fmt.Errorf("load signing keys: %w", err)
	}
	now := k.clock.Now()
	var out []domain.SigningKey
	for _, s := range stored {
		key := domain.SigningKey{KID: s.KID, PublicKey: ed25519.PublicKey(s.PublicKey),
			CreatedAt: s.CreatedAt, RetiredAt: s.RetiredAt, ExpiresAt: s.ExpiresAt}
		if !key.Published(now) || s.Algorithm == domain.OIDCSigningAlgorithm {
			// The provider's RSA keys are OIDCKeys'.
			continue
		}
		if s.Algorithm != domain.SigningAlgorithm || len(s.PublicKey) != ed25519.PublicKeySize {
			return nil, errors.New("signing key " + s.KID + " is not an Ed25519 key")
		}
		if !withPrivate {
			out = append(out, key)
			continue
		}
		seed, err := k.box.Open(s.PrivateKeySealed, sealLabel)
		if err != nil {
			// A wrong KEY_ENCRYPTION_KEY must stop the service loudly, not
			// make it sign with nothing.
			return nil, fmt.Errorf("open signing key %s (is KEY_ENCRYPTION_KEY the one it was sealed with?): %w", s.KID, err)
		}
		key.PrivateKey = ed25519.NewKeyFromSeed(seed)
		out = append(out, key)
	}
	return out, nil
}

func newKID(ids ports.IDGenerator) string {
	id := ids.NewID()
	return base64.RawURLEncoding.EncodeToString(id[:])
}

package application

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
)

// ServiceAccountSecret is a secret issued once.
type ServiceAccountSecret struct {
	ClientID     string
	ClientSecret string
}

// RotateSecret gives the account a client secret (256 random bits, kept
// as its SHA-256 like every client's) and returns it this once. The
// previous secret stops working at once, and every token the account
// holds ends with it.
func (s *ServiceAccounts) RotateSecret(ctx context.Context, p domain.Principal, orgID, id uuid.UUID) (ServiceAccountSecret, error) {
	c, err := s.manage(ctx, p, orgID)
	if err != nil {
		return ServiceAccountSecret{}, err
	}
	b := make([]byte, clientSecretBytes)
	if _, err := io.ReadFull(s.random, b); err != nil {
		return ServiceAccountSecret{}, fmt.Errorf("service account secret randomness: %w", err)
	}
	secret := base64.RawURLEncoding.EncodeToString(b)
	now := s.clock.Now()
	var (
		a       domain.ServiceAccount
		revoked []uuid.UUID
	)
	err = s.tx.WithinTx(ctx, func(ctx context.Context) error {
		if a, err = s.owned(ctx, orgID, id); err != nil {
			return err
		}
		// Taken before the change, as IssueToken takes it (see there).
		if _, err := s.accounts.LockCredentials(ctx, id, true); err != nil {
			return err
		}
		if err := s.clients.SetSecret(ctx, a.ClientID(), secretHash(secret), now); err != nil {
			return err
		}
		if revoked, err = s.revoker.EndUserSessions(ctx, id, uuid.Nil, RevokeCredentialChanged, now); err != nil {
			return err
		}
		return s.record(ctx, c.ID(), domain.ActionServiceAccountSecretRotated, a,
			map[string]any{"first_secret": !a.HasSecret, "sessions_revoked": len(revoked)})
	})
	if err != nil {
		return ServiceAccountSecret{}, err
	}
	if err := s.revoker.Announce(ctx, revoked, now); err != nil {
		return ServiceAccountSecret{}, err
	}
	return ServiceAccountSecret{ClientID: a.ClientID(), ClientSecret: secret}, nil
}

// KeyInput is a public key to register.
type KeyInput struct {
	// PublicKey is a public JWK (JSON) or a PEM public key.
	PublicKey string
	ExpiresAt *time.Time
}

// AddKey registers a public key the account signs client assertions with
// (private_key_jwt); a private key is refused, and never stored.
func (s *ServiceAccounts) AddKey(ctx context.Context, p domain.Principal, orgID, id uuid.UUID, in KeyInput) (domain.ServiceAccountKey, error) {
	c, err := s.manage(ctx, p, orgID)
	if err != nil {
		return domain.ServiceAccountKey{}, err
	}
	a, err := s.owned(ctx, orgID, id)
	if err != nil {
		return domain.ServiceAccountKey{}, err
	}
	pk, err := s.parser.ParsePublicKey("public_key", in.PublicKey)
	if err != nil {
		return domain.ServiceAccountKey{}, err
	}
	now := s.clock.Now()
	if in.ExpiresAt != nil && !in.ExpiresAt.After(now) {
		return domain.ServiceAccountKey{}, domain.Invalid(domain.FieldError{Field: "expires_at", Code: "in_the_past",
			Message: "must be in the future"})
	}
	k := domain.ServiceAccountKey{ClientPublicKey: pk, AccountID: id, CreatedAt: now, ExpiresAt: in.ExpiresAt}
	err = s.tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := s.keys.Add(ctx, k, domain.MaxServiceAccountKeys); err != nil {
			return err
		}
		return s.record(ctx, c.ID(), domain.ActionServiceAccountKeyAdded, a, map[string]any{
			"kid": pk.KID, "algorithm": pk.Algorithm, "thumbprint": pk.Thumbprint})
	})
	if err != nil {
		return domain.ServiceAccountKey{}, err
	}
	return k, nil
}

// Keys lists the account's public keys (any member may).
func (s *ServiceAccounts) Keys(ctx context.Context, p domain.Principal, orgID, id uuid.UUID) ([]domain.ServiceAccountKey, error) {
	if _, _, _, err := s.policy.Org(ctx, p, orgID, ServiceAccountsRead); err != nil {
		return nil, err
	}
	if _, err := s.owned(ctx, orgID, id); err != nil {
		return nil, err
	}
	return s.keys.List(ctx, id)
}

// DeleteKey removes a public key; every token the account holds ends
// with it.
func (s *ServiceAccounts) DeleteKey(ctx context.Context, p domain.Principal, orgID, id uuid.UUID, kid string) error {
	c, err := s.manage(ctx, p, orgID)
	if err != nil {
		return err
	}
	if !domain.WellFormedKeyID(kid) {
		return domain.ErrServiceAccountKeyNotFound
	}
	now := s.clock.Now()
	var revoked []uuid.UUID
	err = s.tx.WithinTx(ctx, func(ctx context.Context) error {
		a, err := s.owned(ctx, orgID, id)
		if err != nil {
			return err
		}
		// Taken before the change, as IssueToken takes it (see there).
		if _, err := s.accounts.LockCredentials(ctx, id, true); err != nil {
			return err
		}
		if err := s.keys.Delete(ctx, id, kid); err != nil {
			return err
		}
		if revoked, err = s.revoker.EndUserSessions(ctx, id, uuid.Nil, RevokeCredentialChanged, now); err != nil {
			return err
		}
		return s.record(ctx, c.ID(), domain.ActionServiceAccountKeyRemoved, a,
			map[string]any{"kid": kid, "sessions_revoked": len(revoked)})
	})
	if err != nil {
		return err
	}
	return s.revoker.Announce(ctx, revoked, now)
}

package application

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
	"github.com/ums-project/ums/ports"
)

// OAuthClients is the registry of OpenID Connect clients, managed by
// system administrators (or the CLI, which acts as the system), and the
// consents users gave them.
type OAuthClients struct {
	repo      ports.OAuthClientRepository
	consents  ports.ConsentRepository
	policy    *Policy
	tx        ports.TxManager
	audit     ports.AuditLog
	clock     ports.Clock
	ids       ports.IDGenerator
	random    io.Reader
	allowHTTP bool
}

// OAuthClientsDeps are what the registry needs.
type OAuthClientsDeps struct {
	Repo     ports.OAuthClientRepository
	Consents ports.ConsentRepository
	Policy   *Policy
	Tx       ports.TxManager
	Audit    ports.AuditLog
	Clock    ports.Clock
	IDs      ports.IDGenerator
	Random   io.Reader
	// AllowHTTPRedirects admits plain-http redirect URIs on any host
	// (development only).
	AllowHTTPRedirects bool
}

// NewOAuthClients wires the registry.
func NewOAuthClients(d OAuthClientsDeps) *OAuthClients {
	return &OAuthClients{repo: d.Repo, consents: d.Consents, policy: d.Policy, tx: d.Tx, audit: d.Audit, clock: d.Clock,
		ids: d.IDs, random: d.Random, allowHTTP: d.AllowHTTPRedirects}
}

// clientSecretBytes is a secret's entropy: 256 bits.
const clientSecretBytes = 32

// actor is who changes the registry: a system admin, or nil for the
// operator's CLI.
type actor = *domain.Principal

func (o *OAuthClients) allowed(ctx context.Context, p actor) (*uuid.UUID, error) {
	if p == nil {
		return nil, nil
	}
	c, err := o.policy.RequireSystemAdmin(ctx, *p)
	if err != nil {
		return nil, err
	}
	return ptr(c.ID()), nil
}

// Create registers a client and returns it with its secret (empty for a
// public client), shown this once.
func (o *OAuthClients) Create(ctx context.Context, p actor, spec domain.OAuthClientSpec) (domain.OAuthClient, string, error) {
	by, err := o.allowed(ctx, p)
	if err != nil {
		return domain.OAuthClient{}, "", err
	}
	id, err := o.randomString(16)
	if err != nil {
		return domain.OAuthClient{}, "", err
	}
	c, err := domain.NewOAuthClient("ums_"+id, spec, o.clock.Now(), o.allowHTTP)
	if err != nil {
		return domain.OAuthClient{}, "", err
	}
	var secret string
	if !c.Public {
		if secret, err = o.randomString(clientSecretBytes); err != nil {
			return domain.OAuthClient{}, "", err
		}
		c.SecretHash = secretHash(secret)
	}
	err = o.tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := o.repo.Create(ctx, c); err != nil {
			return err
		}
		return o.record(ctx, by, domain.ActionOAuthClientCreated, c.ID, map[string]any{
			"name": c.Name, "public": c.Public, "first_party": c.FirstParty, "grant_types": c.GrantTypes, "redirect_uris": c.RedirectURIs})
	})
	if err != nil {
		return domain.OAuthClient{}, "", err
	}
	return c, secret, nil
}

// List returns every client.
func (o *OAuthClients) List(ctx context.Context, p actor) ([]domain.OAuthClient, error) {
	if _, err := o.allowed(ctx, p); err != nil {
		return nil, err
	}
	all, err := o.repo.List(ctx)
	if err != nil {
		return nil, err
	}
	// Service accounts' clients are managed with their accounts.
	out := all[:0]
	for _, c := range all {
		if c.ServiceAccountID == nil {
			out = append(out, c)
		}
	}
	return out, nil
}

// registered returns a client of the registry: a service account's is
// domain.ErrOAuthClientNotFound here, managed with its account only.
func (o *OAuthClients) registered(ctx context.Context, id string) (domain.OAuthClient, error) {
	c, err := o.repo.ByID(ctx, id)
	if err != nil {
		return domain.OAuthClient{}, err
	}
	if c.ServiceAccountID != nil {
		return domain.OAuthClient{}, domain.ErrOAuthClientNotFound
	}
	return c, nil
}

// Get returns one client.
func (o *OAuthClients) Get(ctx context.Context, p actor, id string) (domain.OAuthClient, error) {
	if _, err := o.allowed(ctx, p); err != nil {
		return domain.OAuthClient{}, err
	}
	return o.registered(ctx, id)
}

// Update changes a client's settings.
func (o *OAuthClients) Update(ctx context.Context, p actor, id string, ch domain.OAuthClientChange) (domain.OAuthClient, error) {
	by, err := o.allowed(ctx, p)
	if err != nil {
		return domain.OAuthClient{}, err
	}
	cur, err := o.registered(ctx, id)
	if err != nil {
		return domain.OAuthClient{}, err
	}
	ch.At = o.clock.Now()
	next, err := cur.Change(ch, o.allowHTTP)
	if err != nil {
		return domain.OAuthClient{}, err
	}
	err = o.tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := o.repo.Update(ctx, id, ch); err != nil {
			return err
		}
		return o.record(ctx, by, domain.ActionOAuthClientUpdated, id, map[string]any{
			"name": next.Name, "first_party": next.FirstParty, "grant_types": next.GrantTypes, "redirect_uris": next.RedirectURIs})
	})
	if err != nil {
		return domain.OAuthClient{}, err
	}
	return next, nil
}

// Delete removes a client; its consents and pending requests go with it,
// and its sessions can no longer refresh.
func (o *OAuthClients) Delete(ctx context.Context, p actor, id string) error {
	by, err := o.allowed(ctx, p)
	if err != nil {
		return err
	}
	if _, err := o.registered(ctx, id); err != nil {
		return err
	}
	return o.tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := o.repo.Delete(ctx, id); err != nil {
			return err
		}
		return o.record(ctx, by, domain.ActionOAuthClientDeleted, id, nil)
	})
}

// RotateSecret gives a confidential client a new secret, returned once;
// the old one stops working at once.
func (o *OAuthClients) RotateSecret(ctx context.Context, p actor, id string) (string, error) {
	by, err := o.allowed(ctx, p)
	if err != nil {
		return "", err
	}
	c, err := o.registered(ctx, id)
	if err != nil {
		return "", err
	}
	if c.Public {
		return "", &domain.Error{Kind: domain.KindConflict, Code: "public_client", Message: "a public client has no secret"}
	}
	secret, err := o.randomString(clientSecretBytes)
	if err != nil {
		return "", err
	}
	err = o.tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := o.repo.SetSecret(ctx, id, secretHash(secret), o.clock.Now()); err != nil {
			return err
		}
		return o.record(ctx, by, domain.ActionOAuthSecretRotated, id, nil)
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}

// Authenticate checks a confidential client's secret.
func (o *OAuthClients) Authenticate(ctx context.Context, id, secret string) (domain.OAuthClient, error) {
	if id == "" || len(id) > 100 || secret == "" || len(secret) > 200 {
		return domain.OAuthClient{}, domain.ErrInvalidCredentials
	}
	c, err := o.repo.ByID(ctx, id)
	if err != nil {
		if domain.KindOf(err) == domain.KindNotFound {
			return domain.OAuthClient{}, domain.ErrInvalidCredentials
		}
		return domain.OAuthClient{}, err
	}
	if c.Public || subtle.ConstantTimeCompare(c.SecretHash, secretHash(secret)) != 1 {
		return domain.OAuthClient{}, domain.ErrInvalidCredentials
	}
	return c, nil
}

// Consents lists what the signed-in user agreed to share, with the
// clients' names.
func (o *OAuthClients) Consents(ctx context.Context, p domain.Principal) ([]ConsentView, error) {
	if _, err := o.policy.Caller(ctx, p); err != nil {
		return nil, err
	}
	cs, err := o.consents.List(ctx, p.UserID)
	if err != nil {
		return nil, err
	}
	out := make([]ConsentView, 0, len(cs))
	for _, c := range cs {
		v := ConsentView{Consent: c}
		if cl, err := o.repo.ByID(ctx, c.ClientID); err == nil {
			v.ClientName = cl.Name
		}
		out = append(out, v)
	}
	return out, nil
}

// ConsentView is a consent with its client's name.
type ConsentView struct {
	domain.Consent
	ClientName string
}

// RevokeConsent withdraws the user's consent to a client: its next
// sign-in asks again.
func (o *OAuthClients) RevokeConsent(ctx context.Context, p domain.Principal, clientID string) error {
	if _, err := o.policy.Caller(ctx, p); err != nil {
		return err
	}
	return o.tx.WithinTx(ctx, func(ctx context.Context) error {
		if err := o.consents.Revoke(ctx, p.UserID, clientID); err != nil {
			return err
		}
		return o.record(ctx, &p.UserID, domain.ActionOAuthConsentRevoked, clientID, nil)
	})
}

func (o *OAuthClients) record(ctx context.Context, by *uuid.UUID, action, clientID string, details map[string]any) error {
	ev := domain.NewAuditEvent(ctx, o.ids.NewID(), o.clock.Now(), action, domain.OutcomeSuccess)
	ev.ActorID, ev.TargetType, ev.TargetID, ev.Details = by, "oauth_client", clientID, details
	return o.audit.Record(ctx, ev)
}

func (o *OAuthClients) randomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(o.random, b); err != nil {
		return "", fmt.Errorf("client randomness: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func secretHash(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

package application

import (
	"context"
	"crypto/subtle"
	"errors"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/ums-project/ums/domain"
)

// A service account's access token is a session of its own, opened at
// the token endpoint and ending when the token does: the token's id is
// the session's, so the revocation list (fed by the bus on every
// instance) and the session row both say whether it still speaks.

// Client authentication methods of service accounts, for the audit.
const (
	MethodClientSecret  = "client_secret"
	MethodPrivateKeyJWT = "private_key_jwt"
)

// maxAssertionLife bounds how far ahead a client assertion may expire:
// its jti is remembered that long.
const maxAssertionLife = time.Hour

// serviceSessionRetention is how long after they expired the sessions of
// service accounts' tokens are kept (for the audit of recent tokens).
const serviceSessionRetention = 24 * time.Hour

// Refusals at the token endpoint. The client is told no more than that
// its credentials or its account are not good.
var (
	errAccountDisabled = &domain.Error{Kind: domain.KindForbidden, Code: "service_account_inactive",
		Message: "the service account or its organization is deactivated"}
)

// AdmitClient lets an authenticated client get a token: a service
// account's only while it and its organization are active. Any other
// client passes. A refusal is audited.
func (s *ServiceAccounts) AdmitClient(ctx context.Context, c domain.OAuthClient, method string) error {
	if c.ServiceAccountID == nil {
		return nil
	}
	ok, err := s.activeAccount(ctx, *c.ServiceAccountID)
	if err != nil {
		return err
	}
	if !ok {
		s.refuse(ctx, domain.ActionOAuthTokenFailed, c.ID, c.ServiceAccountID, "service_account_inactive", method)
		return errAccountDisabled
	}
	return nil
}

// activeAccount reports whether the account exists and it and its
// organization are active.
func (s *ServiceAccounts) activeAccount(ctx context.Context, id uuid.UUID) (bool, error) {
	a, err := s.accounts.ByID(ctx, id)
	if err != nil {
		if errors.Is(err, domain.ErrServiceAccountNotFound) {
			return false, nil
		}
		return false, err
	}
	if !a.IsActive {
		return false, nil
	}
	o, err := s.orgs.ByID(ctx, a.OrgID)
	if err != nil {
		if domain.KindOf(err) == domain.KindNotFound {
			return false, nil
		}
		return false, err
	}
	return o.IsActive, nil
}

// AssertionInput is a client_credentials request authenticated by a JWT
// (private_key_jwt, RFC 7523 §2.2).
type AssertionInput struct {
	Assertion string
	// ClientID is the client_id parameter, if the client sent one: it
	// must then name the assertion's issuer.
	ClientID string
	// Audiences are the values that name this server in an assertion's
	// aud: the issuer and the token endpoint's URL.
	Audiences []string
}

// AuthenticateAssertion checks a client assertion: signed by a usable
// key registered for the service account it names (iss and sub), meant
// for this server, unexpired and expiring within an hour, and never seen
// before (its jti). It returns the account's client and the key's kid, for
// IssueToken. Every refusal is domain.ErrInvalidCredentials, audited.
func (s *ServiceAccounts) AuthenticateAssertion(ctx context.Context, in AssertionInput) (domain.OAuthClient, CredentialProof, error) {
	kid, iss, err := s.assertions.Peek(in.Assertion)
	if err != nil {
		s.refuse(ctx, domain.ActionOAuthClientAuthFails, in.ClientID, nil, "malformed_assertion", MethodPrivateKeyJWT)
		return domain.OAuthClient{}, CredentialProof{}, domain.ErrInvalidCredentials
	}
	id, err := uuid.Parse(iss)
	if err != nil || (in.ClientID != "" && in.ClientID != iss) || !domain.WellFormedKeyID(kid) {
		s.refuse(ctx, domain.ActionOAuthClientAuthFails, iss, nil, "unknown_client_or_key", MethodPrivateKeyJWT)
		return domain.OAuthClient{}, CredentialProof{}, domain.ErrInvalidCredentials
	}
	now := s.clock.Now()
	key, err := s.keys.Get(ctx, id, kid)
	if err != nil || !key.Usable(now) {
		if err != nil && !errors.Is(err, domain.ErrServiceAccountKeyNotFound) {
			return domain.OAuthClient{}, CredentialProof{}, err
		}
		s.refuse(ctx, domain.ActionOAuthClientAuthFails, iss, nil, "unknown_client_or_key", MethodPrivateKeyJWT)
		return domain.OAuthClient{}, CredentialProof{}, domain.ErrInvalidCredentials
	}
	claims, err := s.assertions.Verify(in.Assertion, key.ClientPublicKey)
	if err != nil {
		if !errors.Is(err, domain.ErrInvalidCredentials) {
			return domain.OAuthClient{}, CredentialProof{}, err
		}
		s.refuse(ctx, domain.ActionOAuthClientAuthFails, iss, nil, "bad_signature", MethodPrivateKeyJWT)
		return domain.OAuthClient{}, CredentialProof{}, domain.ErrInvalidCredentials
	}
	if reason := s.checkAssertion(claims, iss, in.Audiences, now); reason != "" {
		s.refuse(ctx, domain.ActionOAuthClientAuthFails, iss, nil, reason, MethodPrivateKeyJWT)
		return domain.OAuthClient{}, CredentialProof{}, domain.ErrInvalidCredentials
	}
	fresh, err := s.ledger.Spend(ctx, iss, claims.JTI, claims.ExpiresAt.Add(s.cfg.Leeway))
	if err != nil {
		return domain.OAuthClient{}, CredentialProof{}, err
	}
	if !fresh {
		s.refuse(ctx, domain.ActionOAuthClientAuthFails, iss, nil, "replayed_assertion", MethodPrivateKeyJWT)
		return domain.OAuthClient{}, CredentialProof{}, domain.ErrInvalidCredentials
	}
	c, err := s.clients.ByID(ctx, iss)
	if err != nil {
		if errors.Is(err, domain.ErrOAuthClientNotFound) {
			return domain.OAuthClient{}, CredentialProof{}, domain.ErrInvalidCredentials
		}
		return domain.OAuthClient{}, CredentialProof{}, err
	}
	if c.ServiceAccountID == nil || *c.ServiceAccountID != id {
		return domain.OAuthClient{}, CredentialProof{}, domain.ErrInvalidCredentials
	}
	return c, CredentialProof{KID: kid}, nil
}

// checkAssertion names what is wrong with an assertion's claims, or "".
func (s *ServiceAccounts) checkAssertion(c domain.ClientAssertion, clientID string, audiences []string, now time.Time) string {
	switch {
	case c.Issuer != clientID || c.Subject != clientID:
		return "issuer_is_not_subject"
	case !slices.ContainsFunc(c.Audience, func(a string) bool { return slices.Contains(audiences, a) }):
		return "wrong_audience"
	case c.ExpiresAt.IsZero() || !now.Before(c.ExpiresAt.Add(s.cfg.Leeway)):
		return "expired_assertion"
	case c.ExpiresAt.After(now.Add(maxAssertionLife + s.cfg.Leeway)):
		return "assertion_lives_too_long"
	case c.NotBefore != nil && c.NotBefore.After(now.Add(s.cfg.Leeway)):
		return "assertion_not_yet_valid"
	case c.IssuedAt != nil && c.IssuedAt.After(now.Add(s.cfg.Leeway)):
		return "assertion_issued_in_the_future"
	case !domain.WellFormedJTI(c.JTI):
		return "missing_jti"
	}
	return ""
}

// ClientKey returns a usable registered key of the service account whose
// client id is clientID, for the provider's own checks of client
// assertions; domain.ErrServiceAccountKeyNotFound otherwise.
func (s *ServiceAccounts) ClientKey(ctx context.Context, clientID, kid string) (domain.ServiceAccountKey, error) {
	id, err := uuid.Parse(clientID)
	if err != nil || !domain.WellFormedKeyID(kid) {
		return domain.ServiceAccountKey{}, domain.ErrServiceAccountKeyNotFound
	}
	k, err := s.keys.Get(ctx, id, kid)
	if err != nil {
		return domain.ServiceAccountKey{}, err
	}
	if !k.Usable(s.clock.Now()) {
		return domain.ServiceAccountKey{}, domain.ErrServiceAccountKeyNotFound
	}
	return k, nil
}

// ServiceTokenRequest is a token an admitted service account asks for.
type ServiceTokenRequest struct {
	AccountID uuid.UUID
	ClientID  string
	Scopes    []string
	// Method is how the client authenticated (MethodClientSecret,
	// MethodPrivateKeyJWT).
	Method string
	// Proof is the credential it authenticated with, checked again under
	// the account's lock when the token is issued.
	Proof CredentialProof
}

// CredentialProof is the credential a token request authenticated with:
// the client secret presented, or the kid of the key that signed its
// assertion.
type CredentialProof struct {
	Secret string
	KID    string
}

// holds reports whether the proof is still one of creds.
func (p CredentialProof) holds(creds domain.ServiceAccountCredentials) bool {
	switch {
	case p.KID != "":
		return slices.Contains(creds.KIDs, p.KID)
	case p.Secret != "" && creds.SecretHash != nil:
		return subtle.ConstantTimeCompare(secretHash(p.Secret), creds.SecretHash) == 1
	}
	return false
}

// IssueToken opens the session an access token of the account stands
// for, ending with the token, and returns its id (the token's) and end.
// An account deactivated meanwhile gets domain.ErrInvalidToken; a credential
// replaced or removed since it was checked, domain.ErrInvalidCredentials.
func (s *ServiceAccounts) IssueToken(ctx context.Context, in ServiceTokenRequest) (uuid.UUID, time.Time, error) {
	now := s.clock.Now()
	ri := domain.RequestInfoFrom(ctx)
	sess := domain.Session{ID: s.ids.NewID(), UserID: in.AccountID, CreatedAt: now, LastUsedAt: now,
		ExpiresAt: now.Add(s.sessions.AccessTTL()), IP: ri.IP, UserAgent: truncate(ri.UserAgent, 512)}
	// The session's refresh token is never handed out: a client with
	// credentials asks for a new token instead.
	_, rt, err := s.sessions.newRefreshToken(sess, now)
	if err != nil {
		return uuid.Nil, time.Time{}, err
	}
	reason := "service_account_inactive"
	err = s.tx.WithinTx(ctx, func(ctx context.Context) error {
		// Under the account's lock, which rotating the secret or removing
		// a key takes too: the credential checked before may have been
		// replaced since, and a token issued on it would outlive the
		// revocation that came with the change.
		creds, err := s.accounts.LockCredentials(ctx, in.AccountID, false)
		if err != nil {
			if errors.Is(err, domain.ErrServiceAccountNotFound) {
				return domain.ErrInvalidToken
			}
			return err
		}
		if !in.Proof.holds(creds) {
			reason = "credentials_changed"
			return domain.ErrInvalidCredentials
		}
		ok, err := s.activeAccount(ctx, in.AccountID)
		if err != nil {
			return err
		}
		if !ok {
			return domain.ErrInvalidToken
		}
		if err := s.sessions.store.Create(ctx, sess, rt); err != nil {
			return err
		}
		g := domain.OAuthGrant{SessionID: sess.ID, ClientID: in.ClientID, Scopes: in.Scopes, AuthTime: now}
		if err := s.grants.Create(ctx, g); err != nil {
			return err
		}
		ev := domain.NewAuditEvent(ctx, s.ids.NewID(), now, domain.ActionOAuthTokenIssued, domain.OutcomeSuccess)
		ev.ActorID, ev.TargetType, ev.TargetID = &in.AccountID, "session", sess.ID.String()
		ev.Details = map[string]any{"client_id": in.ClientID, "scopes": in.Scopes, "grant_type": domain.GrantClientCredentials,
			"auth_method": in.Method, "service_account": true}
		return s.audit.Record(ctx, ev)
	})
	if err != nil {
		if errors.Is(err, domain.ErrInvalidToken) || errors.Is(err, domain.ErrInvalidCredentials) {
			s.refuse(ctx, domain.ActionOAuthTokenFailed, in.ClientID, &in.AccountID, reason, in.Method)
		}
		return uuid.Nil, time.Time{}, err
	}
	return sess.ID, sess.ExpiresAt, nil
}

// AuthenticateToken is the API's check of a service account's access
// token, once the provider verified its signature, issuer, audience and
// expiry: its session must be unrevoked (on every instance) and
// unexpired, and the account an active service account of an active
// organization, as the store says now. Any failure is
// domain.ErrInvalidToken.
func (s *ServiceAccounts) AuthenticateToken(ctx context.Context, sessionID, accountID uuid.UUID, expires time.Time) (domain.Principal, error) {
	revoked, err := s.sessions.revoked.IsRevoked(ctx, sessionID)
	if err != nil {
		return domain.Principal{}, err
	}
	if revoked {
		return domain.Principal{}, domain.ErrInvalidToken
	}
	st, err := s.accounts.TokenState(ctx, sessionID)
	if err != nil {
		if domain.KindOf(err) == domain.KindNotFound {
			return domain.Principal{}, domain.ErrInvalidToken
		}
		return domain.Principal{}, err
	}
	now := s.clock.Now()
	if st.UserID != accountID || st.SessionRevoked || !now.Before(st.SessionExpires.Add(s.cfg.Leeway)) ||
		!st.UserActive || !st.OrgActive {
		return domain.Principal{}, domain.ErrInvalidToken
	}
	return domain.Principal{UserID: accountID, SessionID: sessionID, TokenID: sessionID.String(), ExpiresAt: expires,
		Kind: domain.PrincipalServiceAccount}, nil
}

// Prune deletes the sessions of service accounts' tokens a day after
// they expired, and the client assertions past their expiry.
func (s *ServiceAccounts) Prune(ctx context.Context) (int, error) {
	now := s.clock.Now()
	total := 0
	for {
		n, err := s.accounts.PruneSessions(ctx, now.Add(-serviceSessionRetention), 500)
		total += n
		if err != nil || n < 500 {
			if err != nil {
				return total, err
			}
			break
		}
	}
	n, err := s.ledger.Prune(ctx, now.Add(-s.cfg.Leeway))
	return total + n, err
}

// refuse audits a refusal at the token endpoint; best effort, like the
// provider's other client failures.
func (s *ServiceAccounts) refuse(ctx context.Context, action, clientID string, account *uuid.UUID, reason, method string) {
	ev := domain.NewAuditEvent(ctx, s.ids.NewID(), s.clock.Now(), action, domain.OutcomeFailure)
	ev.ActorID, ev.TargetType, ev.TargetID = account, "oauth_client", truncate(clientID, 100)
	ev.Details = map[string]any{"reason": reason, "auth_method": method}
	_ = s.audit.Record(ctx, ev)
}

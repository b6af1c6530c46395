package oidc

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/domain"
)

// storage gives the library UMS's state. Its errors for bad input by a
// client are plain errors or *oidc.Error; a server fault is wrapped by
// the library as server_error.
type storage struct {
	signOn    *application.SignOn
	clients   *application.OAuthClients
	accounts  *application.ServiceAccounts
	keys      *application.OIDCKeys
	published func(ctx context.Context) ([]domain.SigningKey, error)
	loginURL  string
	accessTTL time.Duration
	allowHTTP bool
	// apiAudience is the audience of the API's own tokens, which a
	// service account's token carries.
	apiAudience string
}

var (
	_ op.Storage                   = (*storage)(nil)
	_ op.ClientCredentialsStorage  = (*storage)(nil)
	_ op.CanSetUserinfoFromRequest = (*storage)(nil)
)

// clientTokenPrefix marks the id of a client_credentials access token: it
// stands for the client, not a user's session.
const clientTokenPrefix = "client:"

func (s *storage) Health(context.Context) error { return nil }

func (s *storage) CreateAuthRequest(ctx context.Context, req *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	// OAuth 2.1: every code request carries a PKCE challenge, and only
	// S256 (plain would hand the verifier to whoever sees the request).
	if req.CodeChallenge == "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE is required: send code_challenge with code_challenge_method=S256")
	}
	if req.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	}
	r := domain.AuthRequest{
		ClientID: req.ClientID, RedirectURI: req.RedirectURI, Scopes: req.Scopes, State: req.State, Nonce: req.Nonce,
		ResponseType: string(req.ResponseType), ResponseMode: string(req.ResponseMode),
		CodeChallenge: req.CodeChallenge, CodeChallengeMethod: string(req.CodeChallengeMethod),
		Prompt: req.Prompt, LoginHint: req.LoginHint,
	}
	if req.MaxAge != nil {
		d := time.Duration(*req.MaxAge) * time.Second
		r.MaxAge = &d
	}
	stored, err := s.signOn.StartRequest(ctx, r)
	if err != nil {
		return nil, err
	}
	return authRequest{stored}, nil
}

func (s *storage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	rid, err := uuid.Parse(id)
	if err != nil {
		return nil, domain.ErrAuthRequestNotFound
	}
	r, err := s.signOn.Request(ctx, rid)
	if err != nil {
		return nil, err
	}
	return authRequest{r}, nil
}

func (s *storage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	r, err := s.signOn.TakeByCode(ctx, code)
	if err != nil {
		if errors.Is(err, domain.ErrAuthRequestNotFound) {
			s.signOn.ClientAudit(ctx, domain.ActionOAuthTokenFailed, "", "unknown_or_spent_code")
			return nil, oidc.ErrInvalidGrant().WithDescription("the code is invalid, expired or already used")
		}
		return nil, err
	}
	return authRequest{r}, nil
}

func (s *storage) SaveAuthCode(ctx context.Context, id, code string) error {
	rid, err := uuid.Parse(id)
	if err != nil {
		return domain.ErrAuthRequestNotFound
	}
	return s.signOn.SaveCode(ctx, rid, code)
}

func (s *storage) DeleteAuthRequest(ctx context.Context, id string) error {
	rid, err := uuid.Parse(id)
	if err != nil {
		return nil
	}
	return s.signOn.DeleteRequest(ctx, rid)
}

// signInOf reads a code request that was completed by a sign-in.
func signInOf(req op.TokenRequest) (application.SignIn, bool) {
	switch r := req.(type) {
	case authRequest:
		if r.r.UserID == nil {
			return application.SignIn{}, false
		}
		return application.SignIn{UserID: *r.r.UserID, ClientID: r.r.ClientID, Scopes: r.r.Scopes,
			AuthTime: r.r.AuthTime, AMR: r.r.AMR}, true
	case *refreshRequest:
		in := r.in
		in.Scopes = r.scopes
		return in, true
	}
	return application.SignIn{}, false
}

func (s *storage) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	if sr, ok := req.(serviceRequest); ok {
		return s.issueServiceToken(ctx, sr)
	}
	if cr, ok := req.(clientRequest); ok {
		return clientTokenPrefix + cr.clientID + ":" + uuid.NewString(), time.Now().Add(s.accessTTL), nil
	}
	in, ok := signInOf(req)
	if !ok {
		return "", time.Time{}, oidc.ErrInvalidRequest().WithDescription("unsupported token request")
	}
	// A code exchange without offline_access still gets a session: its
	// access tokens end with it (logout-all, an admin's revocation).
	sid, _, exp, err := s.signOn.IssueTokens(ctx, in)
	if err != nil {
		return "", time.Time{}, tokenError(err)
	}
	return sid.String(), exp, nil
}

func (s *storage) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	if current != "" {
		sid, next, exp, err := s.signOn.RotateRefresh(ctx, current)
		if err != nil {
			return "", "", time.Time{}, tokenError(err)
		}
		return sid.String(), next, exp, nil
	}
	in, ok := signInOf(req)
	if !ok {
		return "", "", time.Time{}, oidc.ErrInvalidRequest().WithDescription("unsupported token request")
	}
	sid, refresh, exp, err := s.signOn.IssueTokens(ctx, in)
	if err != nil {
		return "", "", time.Time{}, tokenError(err)
	}
	return sid.String(), refresh, exp, nil
}

// tokenError turns a refused token into invalid_grant; other errors stay
// server faults.
func tokenError(err error) error {
	switch domain.KindOf(err) {
	case domain.KindUnauthorized, domain.KindNotFound, domain.KindForbidden:
		var de *domain.Error
		desc := "the grant is invalid, expired or revoked"
		if errors.As(err, &de) {
			desc = de.Message
		}
		return oidc.ErrInvalidGrant().WithDescription("%s", desc)
	}
	return err
}

func (s *storage) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	in, err := s.signOn.InspectRefresh(ctx, token)
	if err != nil {
		return nil, tokenError(err)
	}
	return &refreshRequest{in: in, scopes: in.Scopes}, nil
}

func (s *storage) TerminateSession(ctx context.Context, userID, clientID string) error {
	uid, err := uuid.Parse(userID)
	if err != nil {
		return nil
	}
	return s.signOn.EndClientSessions(ctx, uid, clientID)
}

func (s *storage) RevokeToken(ctx context.Context, tokenOrID, _ string, clientID string) *oidc.Error {
	var err error
	if _, perr := uuid.Parse(tokenOrID); perr == nil {
		err = s.signOn.RevokeByTokenID(ctx, tokenOrID, clientID)
	} else {
		err = s.signOn.RevokeByRefresh(ctx, tokenOrID, clientID)
	}
	if err != nil {
		return oidc.ErrServerError().WithParent(err)
	}
	return nil
}

func (s *storage) GetRefreshTokenInfo(ctx context.Context, _ string, token string) (string, string, error) {
	uid, err := s.signOn.RefreshTokenUser(ctx, token)
	if err != nil {
		if domain.KindOf(err) == domain.KindUnauthorized || domain.KindOf(err) == domain.KindNotFound {
			return "", "", op.ErrInvalidRefreshToken
		}
		return "", "", err
	}
	return uid.String(), token, nil
}

// signingKey is the provider's active RSA key for the library.
type signingKey struct{ k domain.RSASigningKey }

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k signingKey) Key() any                                    { return k.k.PrivateKey }
func (k signingKey) ID() string                                  { return k.k.KID }

// publicKey is a published key: the provider's RSA keys, and the Ed25519
// keys of the API's tokens, which share the one JWKS.
type publicKey struct {
	kid string
	alg jose.SignatureAlgorithm
	key any
}

func (k publicKey) ID() string                         { return k.kid }
func (k publicKey) Algorithm() jose.SignatureAlgorithm { return k.alg }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return k.key }

func (s *storage) SigningKey(ctx context.Context) (op.SigningKey, error) {
	k, err := s.keys.Signing(ctx)
	if err != nil {
		return nil, err
	}
	return signingKey{k}, nil
}

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *storage) KeySet(ctx context.Context) ([]op.Key, error) {
	rsaKeys, err := s.keys.PublicKeys(ctx)
	if err != nil {
		return nil, err
	}
	edKeys, err := s.published(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]op.Key, 0, len(rsaKeys)+len(edKeys))
	for _, k := range rsaKeys {
		out = append(out, publicKey{kid: k.KID, alg: jose.RS256, key: k.PublicKey})
	}
	for _, k := range edKeys {
		out = append(out, publicKey{kid: k.KID, alg: jose.EdDSA, key: ed25519.PublicKey(k.PublicKey)})
	}
	return out, nil
}

func (s *storage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.signOn.Client(ctx, id)
	if err != nil {
		if domain.KindOf(err) == domain.KindNotFound {
			return nil, fmt.Errorf("unknown client %q", id)
		}
		return nil, oidc.ErrServerError().WithParent(err)
	}
	return client{c: c, loginURL: s.loginURL, idTTL: s.accessTTL, allowHTTP: s.allowHTTP}, nil
}

func (s *storage) AuthorizeClientIDSecret(ctx context.Context, id, secret string) error {
	if _, err := s.clients.Authenticate(ctx, id, secret); err != nil {
		if errors.Is(err, domain.ErrInvalidCredentials) {
			s.signOn.ClientAudit(ctx, domain.ActionOAuthClientAuthFails, id, "wrong_client_secret")
			return errors.New("invalid client credentials")
		}
		return oidc.ErrServerError().WithParent(err)
	}
	return nil
}

func (s *storage) ClientCredentials(ctx context.Context, id, secret string) (op.Client, error) {
	c, err := s.clients.Authenticate(ctx, id, secret)
	if err != nil {
		if errors.Is(err, domain.ErrInvalidCredentials) {
			s.signOn.ClientAudit(ctx, domain.ActionOAuthClientAuthFails, id, "wrong_client_secret")
			return nil, errors.New("invalid client credentials")
		}
		return nil, oidc.ErrServerError().WithParent(err)
	}
	if !c.Allows(domain.GrantClientCredentials) {
		return nil, oidc.ErrUnauthorizedClient().WithDescription("this client may not use client_credentials")
	}
	if err := s.admit(ctx, c, application.MethodClientSecret); err != nil {
		return nil, err
	}
	keepSecretProof(ctx, secret)
	return client{c: c, loginURL: s.loginURL, idTTL: s.accessTTL, allowHTTP: s.allowHTTP}, nil
}

func (s *storage) ClientCredentialsTokenRequest(ctx context.Context, id string, scopes []string) (op.TokenRequest, error) {
	c, err := s.signOn.Client(ctx, id)
	if err != nil {
		return nil, tokenError(err)
	}
	if c.ServiceAccountID != nil {
		return newServiceRequest(c, scopes, application.MethodClientSecret, takeSecretProof(ctx), s.apiAudience), nil
	}
	return clientRequest{clientID: id, scopes: scopes}, nil
}

// SetUserinfoFromScopes is deprecated by the library in favour of
// SetUserinfoFromRequest.
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}

func (s *storage) SetUserinfoFromRequest(ctx context.Context, info *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	uid, err := uuid.Parse(req.GetSubject())
	if err != nil {
		return err
	}
	return s.fillUserinfo(ctx, info, uid, scopes)
}

func (s *storage) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, subject, _ string) error {
	in, err := s.signOn.TokenSignIn(ctx, tokenID)
	if err != nil {
		return err
	}
	if in.UserID.String() != subject {
		return domain.ErrInvalidToken
	}
	return s.fillUserinfo(ctx, info, in.UserID, in.Scopes)
}

func (s *storage) fillUserinfo(ctx context.Context, info *oidc.UserInfo, uid uuid.UUID, scopes []string) error {
	c, err := s.signOn.Claims(ctx, uid, hasScope(scopes, ScopeOrgs))
	if err != nil {
		return err
	}
	info.Subject = c.Subject.String()
	if hasScope(scopes, oidc.ScopeEmail) {
		info.Email, info.EmailVerified = c.Email, oidc.Bool(c.EmailVerified)
	}
	if hasScope(scopes, oidc.ScopeProfile) {
		info.Name, info.GivenName, info.FamilyName = c.Name, c.GivenName, c.FamilyName
		info.PreferredUsername = c.Username
		info.UpdatedAt = oidc.FromTime(c.UpdatedAt)
	}
	if hasScope(scopes, ScopeOrgs) {
		info.AppendClaims(ScopeOrgs, c.Orgs)
	}
	return nil
}

func (s *storage) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	if rest, ok := cutPrefix(tokenID, clientTokenPrefix); ok {
		// A client's own token: good while the client exists.
		owner, _, _ := cut(rest, ":")
		if owner != subject {
			return domain.ErrInvalidToken
		}
		if _, err := s.signOn.Client(ctx, owner); err != nil {
			return err
		}
		resp.Subject, resp.ClientID, resp.TokenType = owner, owner, oidc.BearerToken
		return nil
	}
	in, err := s.signOn.TokenSignIn(ctx, tokenID)
	if err != nil {
		return err
	}
	if in.UserID.String() != subject {
		return domain.ErrInvalidToken
	}
	info := new(oidc.UserInfo)
	if err := s.fillUserinfo(ctx, info, in.UserID, in.Scopes); err != nil {
		return err
	}
	resp.SetUserInfo(info)
	resp.Scope, resp.ClientID, resp.TokenType = in.Scopes, in.ClientID, oidc.BearerToken
	resp.AuthTime, resp.AuthenticationMethodsReferences = oidc.FromTime(in.AuthTime), in.AMR
	resp.Audience = []string{in.ClientID}
	resp.JWTID = tokenID
	_ = clientID
	return nil
}

func (s *storage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

// GetKeyByIDAndClientID serves the library's own checks of
// private_key_jwt (at introspection and revocation): the keys service
// accounts registered. The token endpoint's client_credentials grant
// checks assertions itself (see assertionExchange).
func (s *storage) GetKeyByIDAndClientID(ctx context.Context, keyID, clientID string) (*jose.JSONWebKey, error) {
	k, err := s.accounts.ClientKey(ctx, clientID, keyID)
	if err != nil {
		if domain.KindOf(err) == domain.KindNotFound {
			return nil, errors.New("no such key registered for the client")
		}
		return nil, oidc.ErrServerError().WithParent(err)
	}
	jwk := new(jose.JSONWebKey)
	if err := jwk.UnmarshalJSON(k.JWK); err != nil {
		return nil, oidc.ErrServerError().WithParent(err)
	}
	return jwk, nil
}

func (s *storage) ValidateJWTProfileScopes(_ context.Context, _ string, scopes []string) ([]string, error) {
	return scopes, nil
}

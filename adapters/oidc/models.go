package oidc

import (
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/ums-project/ums/application"
	"github.com/ums-project/ums/domain"
)

// ACRMFA is the acr of a sign-in with a second factor: the OpenID PAPE
// multi-factor policy.
const ACRMFA = "http://schemas.openid.net/pape/policies/2007/06/multi-factor"

// ScopeOrgs asks for the user's organizations and roles as a claim.
const ScopeOrgs = "orgs"

func acrOf(amr []string) string {
	if slices.Contains(amr, "mfa") {
		return ACRMFA
	}
	return ""
}

// authRequest is a stored request as the library sees it.
type authRequest struct{ r domain.AuthRequest }

func (a authRequest) GetID() string          { return a.r.ID.String() }
func (a authRequest) GetACR() string         { return acrOf(a.r.AMR) }
func (a authRequest) GetAMR() []string       { return a.r.AMR }
func (a authRequest) GetAudience() []string  { return []string{a.r.ClientID} }
func (a authRequest) GetAuthTime() time.Time { return a.r.AuthTime }
func (a authRequest) GetClientID() string    { return a.r.ClientID }
func (a authRequest) GetCodeChallenge() *oidc.CodeChallenge {
	if a.r.CodeChallenge == "" {
		return nil
	}
	return &oidc.CodeChallenge{Challenge: a.r.CodeChallenge, Method: oidc.CodeChallengeMethod(a.r.CodeChallengeMethod)}
}
func (a authRequest) GetNonce() string                   { return a.r.Nonce }
func (a authRequest) GetRedirectURI() string             { return a.r.RedirectURI }
func (a authRequest) GetResponseType() oidc.ResponseType { return oidc.ResponseType(a.r.ResponseType) }
func (a authRequest) GetResponseMode() oidc.ResponseMode { return oidc.ResponseMode(a.r.ResponseMode) }
func (a authRequest) GetScopes() []string                { return a.r.Scopes }
func (a authRequest) GetState() string                   { return a.r.State }
func (a authRequest) GetSubject() string {
	if a.r.UserID == nil {
		return ""
	}
	return a.r.UserID.String()
}
func (a authRequest) Done() bool { return a.r.Done() }

// refreshRequest is what a refresh token stands for.
type refreshRequest struct {
	in     application.SignIn
	scopes []string
}

func (r *refreshRequest) GetAMR() []string                 { return r.in.AMR }
func (r *refreshRequest) GetAudience() []string            { return []string{r.in.ClientID} }
func (r *refreshRequest) GetAuthTime() time.Time           { return r.in.AuthTime }
func (r *refreshRequest) GetClientID() string              { return r.in.ClientID }
func (r *refreshRequest) GetScopes() []string              { return r.scopes }
func (r *refreshRequest) GetSubject() string               { return r.in.UserID.String() }
func (r *refreshRequest) SetCurrentScopes(scopes []string) { r.scopes = scopes }

// clientRequest is a client_credentials request: the client is the
// subject.
type clientRequest struct {
	clientID string
	scopes   []string
}

func (c clientRequest) GetSubject() string    { return c.clientID }
func (c clientRequest) GetAudience() []string { return []string{c.clientID} }
func (c clientRequest) GetScopes() []string   { return c.scopes }

// serviceRequest is a client_credentials request of a service account:
// the account is the subject, and the token is meant for its client and
// for the UMS API.
type serviceRequest struct {
	clientID string
	account  uuid.UUID
	scopes   []string
	// method is how the client authenticated, and proof with what.
	method string
	proof  application.CredentialProof
	// api is the audience of the API's own tokens.
	api string
}

// newServiceRequest keeps the scopes a service account's token can carry
// (RFC 6749 §3.3 lets the server narrow them; the response says which).
func newServiceRequest(c domain.OAuthClient, asked []string, method string, proof application.CredentialProof, api string) serviceRequest {
	scopes := []string{}
	for _, sc := range asked {
		if strings.EqualFold(sc, ScopeOrgs) && !slices.Contains(scopes, ScopeOrgs) {
			scopes = append(scopes, ScopeOrgs)
		}
	}
	return serviceRequest{clientID: c.ID, account: *c.ServiceAccountID, scopes: scopes, method: method, proof: proof, api: api}
}

func (r serviceRequest) GetSubject() string    { return r.account.String() }
func (r serviceRequest) GetAudience() []string { return []string{r.clientID, r.api} }
func (r serviceRequest) GetScopes() []string   { return r.scopes }

// client is a registered client as the library sees it.
type client struct {
	c         domain.OAuthClient
	loginURL  string
	idTTL     time.Duration
	allowHTTP bool
}

func (c client) GetID() string                    { return c.c.ID }
func (c client) RedirectURIs() []string           { return c.c.RedirectURIs }
func (c client) PostLogoutRedirectURIs() []string { return c.c.PostLogoutRedirectURIs }
func (c client) ApplicationType() op.ApplicationType {
	if c.c.Public {
		// Native apps and SPAs: loopback http and app schemes allowed.
		return op.ApplicationTypeNative
	}
	return op.ApplicationTypeWeb
}
func (c client) AuthMethod() oidc.AuthMethod {
	if c.c.Public {
		return oidc.AuthMethodNone
	}
	return oidc.AuthMethodBasic
}
func (c client) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c client) GrantTypes() []oidc.GrantType {
	out := make([]oidc.GrantType, 0, len(c.c.GrantTypes))
	for _, g := range c.c.GrantTypes {
		switch g {
		case domain.GrantAuthorizationCode:
			out = append(out, oidc.GrantTypeCode)
		case domain.GrantRefreshToken:
			out = append(out, oidc.GrantTypeRefreshToken)
		case domain.GrantClientCredentials:
			out = append(out, oidc.GrantTypeClientCredentials)
		}
	}
	return out
}
func (c client) LoginURL(id string) string            { return c.loginURL + "?auth_request=" + id }
func (c client) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeJWT }
func (c client) IDTokenLifetime() time.Duration       { return c.idTTL }
func (c client) DevMode() bool                        { return c.allowHTTP }
func (c client) ClockSkew() time.Duration             { return 0 }
func (c client) IDTokenUserinfoClaimsAssertion() bool { return true }
func (c client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c client) IsScopeAllowed(scope string) bool { return scope == ScopeOrgs }

// hasScope reports whether scopes holds s.
func hasScope(scopes []string, s string) bool {
	return slices.ContainsFunc(scopes, func(x string) bool { return strings.EqualFold(x, s) })
}

func cutPrefix(s, prefix string) (string, bool) { return strings.CutPrefix(s, prefix) }

func cut(s, sep string) (string, string, bool) { return strings.Cut(s, sep) }

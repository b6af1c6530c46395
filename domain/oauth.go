package domain

import (
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// OAuth grant types a client may be allowed.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
)

// OAuthClient is an application registered to sign users in through UMS
// (OpenID Connect) or to get tokens of its own (client credentials).
type OAuthClient struct {
	// ID is the public client_id.
	ID   string
	Name string
	// SecretHash is the SHA-256 of the client secret; nil for a public
	// client. Secrets are 256 random bits, so a fast hash is enough and
	// cannot be brute-forced; a slow one would only make the token
	// endpoint a CPU sink.
	SecretHash []byte
	// Public clients (SPAs, native apps) hold no secret and must use PKCE.
	Public bool
	// FirstParty clients are the company's own applications: they skip
	// the consent page.
	FirstParty             bool
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	GrantTypes             []string
	CreatedAt              time.Time
	UpdatedAt              time.Time
	// ServiceAccountID is set on the client a service account
	// authenticates as; such a client is managed with its account only.
	ServiceAccountID *uuid.UUID
}

// Allows reports whether the client may use grant.
func (c OAuthClient) Allows(grant string) bool { return slices.Contains(c.GrantTypes, grant) }

// OAuthClientSpec is what an administrator says about a client.
type OAuthClientSpec struct {
	Name                   string
	Public                 bool
	FirstParty             bool
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	GrantTypes             []string
}

// NewOAuthClient validates spec into a client with id (no secret yet).
// allowHTTP admits http:// redirect URIs on any host (development);
// otherwise only https and loopback http are accepted.
func NewOAuthClient(id string, spec OAuthClientSpec, now time.Time, allowHTTP bool) (OAuthClient, error) {
	c := OAuthClient{ID: id, Public: spec.Public, FirstParty: spec.FirstParty, CreatedAt: now, UpdatedAt: now}
	if err := c.apply(spec, allowHTTP); err != nil {
		return OAuthClient{}, err
	}
	return c, nil
}

// OAuthClientChange is a change of a client's settings; nil leaves one.
type OAuthClientChange struct {
	Name                   *string
	FirstParty             *bool
	RedirectURIs           *[]string
	PostLogoutRedirectURIs *[]string
	GrantTypes             *[]string
	At                     time.Time
}

// Change validates new settings (nil leaves one) and returns the change
// and the client as it would be; a client never turns public or
// confidential (that changes who holds a secret).
func (c OAuthClient) Change(ch OAuthClientChange, allowHTTP bool) (OAuthClient, error) {
	spec := OAuthClientSpec{Name: c.Name, Public: c.Public, FirstParty: c.FirstParty, RedirectURIs: c.RedirectURIs,
		PostLogoutRedirectURIs: c.PostLogoutRedirectURIs, GrantTypes: c.GrantTypes}
	if ch.Name != nil {
		spec.Name = *ch.Name
	}
	if ch.FirstParty != nil {
		spec.FirstParty = *ch.FirstParty
	}
	if ch.RedirectURIs != nil {
		spec.RedirectURIs = *ch.RedirectURIs
	}
	if ch.PostLogoutRedirectURIs != nil {
		spec.PostLogoutRedirectURIs = *ch.PostLogoutRedirectURIs
	}
	if ch.GrantTypes != nil {
		spec.GrantTypes = *ch.GrantTypes
	}
	next := c
	next.FirstParty = spec.FirstParty
	if err := next.apply(spec, allowHTTP); err != nil {
		return OAuthClient{}, err
	}
	next.UpdatedAt = ch.At
	return next, nil
}

func (c *OAuthClient) apply(spec OAuthClientSpec, allowHTTP bool) error {
	var fields []FieldError
	name := strings.TrimSpace(spec.Name)
	if name == "" || utf8.RuneCountInString(name) > 100 {
		fields = append(fields, FieldError{Field: "name", Code: "invalid", Message: "a name of 1 to 100 characters is required"})
	}
	grants := spec.GrantTypes
	if len(grants) == 0 {
		grants = []string{GrantAuthorizationCode, GrantRefreshToken}
	}
	seen := map[string]bool{}
	var clean []string
	for _, g := range grants {
		switch g {
		case GrantAuthorizationCode, GrantRefreshToken, GrantClientCredentials:
		default:
			fields = append(fields, FieldError{Field: "grant_types", Code: "invalid",
				Message: "each grant type must be authorization_code, refresh_token or client_credentials"})
			continue
		}
		if !seen[g] {
			seen[g] = true
			clean = append(clean, g)
		}
	}
	if spec.Public && seen[GrantClientCredentials] {
		fields = append(fields, FieldError{Field: "grant_types", Code: "invalid",
			Message: "a public client holds no secret and cannot use client_credentials"})
	}
	if seen[GrantAuthorizationCode] && len(spec.RedirectURIs) == 0 {
		fields = append(fields, FieldError{Field: "redirect_uris", Code: "required",
			Message: "the authorization_code grant needs at least one redirect URI"})
	}
	fields = append(fields, checkRedirectURIs("redirect_uris", spec.RedirectURIs, allowHTTP)...)
	fields = append(fields, checkRedirectURIs("post_logout_redirect_uris", spec.PostLogoutRedirectURIs, allowHTTP)...)
	if len(fields) > 0 {
		return Invalid(fields...)
	}
	c.Name, c.GrantTypes = name, clean
	c.RedirectURIs = nonNil(spec.RedirectURIs)
	c.PostLogoutRedirectURIs = nonNil(spec.PostLogoutRedirectURIs)
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return slices.Clone(s)
}

// checkRedirectURIs admits absolute URIs without fragments, compared later
// by exact string match: https anywhere, http only on loopback (native
// apps, RFC 8252) unless allowHTTP, and private-use schemes of native apps
// ("com.example.app:/callback").
func checkRedirectURIs(field string, uris []string, allowHTTP bool) []FieldError {
	if len(uris) > 20 {
		return []FieldError{{Field: field, Code: "too_many", Message: "at most 20 URIs"}}
	}
	for _, raw := range uris {
		u, err := url.Parse(raw)
		bad := err != nil || len(raw) > 2000 || u.Scheme == "" || u.Fragment != "" || strings.Contains(raw, "#")
		if !bad {
			switch u.Scheme {
			case "https":
				bad = u.Host == ""
			case "http":
				host := u.Hostname()
				bad = u.Host == "" || !(allowHTTP || host == "localhost" || host == "127.0.0.1" || host == "::1")
			case "javascript", "data", "file", "vbscript":
				bad = true
			default:
				// A private-use scheme must look like a reversed domain.
				bad = !strings.Contains(u.Scheme, ".")
			}
		}
		if bad {
			return []FieldError{{Field: field, Code: "invalid_uri",
				Message: "each URI must be absolute, without a fragment: https, http on loopback, or an app's reversed-domain scheme"}}
		}
	}
	return nil
}

// AuthRequest is an OpenID Connect authorization request waiting for the
// user to sign in, then for its code to be exchanged. It is stored so any
// instance can continue what another started.
type AuthRequest struct {
	ID                  uuid.UUID
	ClientID            string
	RedirectURI         string
	Scopes              []string
	State               string
	Nonce               string
	ResponseType        string
	ResponseMode        string
	CodeChallenge       string
	CodeChallengeMethod string
	Prompt              []string
	// MaxAge is the oldest sign-in the client accepts, nil for any.
	MaxAge    *time.Duration
	LoginHint string
	// UserID, AuthTime and AMR are set once the user signed in.
	UserID    *uuid.UUID
	AuthTime  time.Time
	AMR       []string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Done reports whether a user signed in for the request.
func (r AuthRequest) Done() bool { return r.UserID != nil }

// PromptsFor reports whether the client asked for prompt p ("login",
// "none", "consent").
func (r AuthRequest) PromptsFor(p string) bool { return slices.Contains(r.Prompt, p) }

// AcceptsSignIn reports whether a sign-in at authTime satisfies the
// request's prompt and max_age at now.
func (r AuthRequest) AcceptsSignIn(authTime, now time.Time) bool {
	if r.PromptsFor("login") {
		return false
	}
	if r.MaxAge != nil && now.Sub(authTime) > *r.MaxAge {
		return false
	}
	return true
}

// OAuthGrant is what a session issued to a client carries: the client,
// the scopes granted and how the user signed in.
type OAuthGrant struct {
	SessionID uuid.UUID
	ClientID  string
	Scopes    []string
	AuthTime  time.Time
	AMR       []string
}

// Consent is a user's agreement that a third-party client may have scopes.
type Consent struct {
	UserID    uuid.UUID
	ClientID  string
	Scopes    []string
	GrantedAt time.Time
}

// Covers reports whether the consent includes every scope asked.
func (c Consent) Covers(scopes []string) bool {
	for _, s := range scopes {
		if !slices.Contains(c.Scopes, s) {
			return false
		}
	}
	return true
}

// OAuth errors.
var (
	ErrOAuthClientNotFound = &Error{Kind: KindNotFound, Code: "oauth_client_not_found", Message: "OAuth client not found"}
	ErrAuthRequestNotFound = &Error{Kind: KindNotFound, Code: "auth_request_not_found",
		Message: "the sign-in request is unknown or expired; start again from the application"}
	ErrConsentNotFound = &Error{Kind: KindNotFound, Code: "consent_not_found", Message: "no consent for that client"}
)

// Audit actions of the OpenID Connect provider.
const (
	ActionOAuthClientCreated   = "oauth.client_created"
	ActionOAuthClientUpdated   = "oauth.client_updated"
	ActionOAuthClientDeleted   = "oauth.client_deleted"
	ActionOAuthSecretRotated   = "oauth.client_secret_rotated"
	ActionOAuthConsentGranted  = "oauth.consent_granted"
	ActionOAuthConsentRevoked  = "oauth.consent_revoked"
	ActionOAuthTokenIssued     = "oauth.token_issued"
	ActionOAuthTokenFailed     = "oauth.token_failed"
	ActionOAuthSignedOut       = "oauth.signed_out"
	ActionOAuthClientAuthFails = "oauth.client_auth_failed"
)

// Package oidc makes UMS an OpenID Connect provider with the certified
// zitadel/oidc library: the library speaks the protocol (discovery,
// authorize, token, userinfo, introspection, revocation, end-session,
// PKCE, ID tokens); this package gives it UMS's clients, sessions, users
// and signing keys through the application's SignOn and OAuthClients.
package oidc

""""Sign in with UMS" for browsers: plain OpenID Connect (authorization
code + PKCE S256) with Authlib's Django client. Nothing here is specific to
UMS: point UMS_OIDC at any OpenID provider's discovery document.

- provider.ums(): the registered Authlib client (discovery, JWKS, tokens).
- views: /oidc/login, /oidc/callback, /oidc/logout and a home page.
"""

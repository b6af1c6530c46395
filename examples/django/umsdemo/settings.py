"""Settings of the example project: a Django API whose callers are
authenticated by UMS access tokens (everything UMS-specific is in UMS_AUTH),
and "Sign in with UMS" for browsers, plain OpenID Connect (UMS_OIDC).
"""
import os

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

# No django.contrib.auth and no database: API callers are described by their
# bearer token, verified offline; a browser signed in with UMS by the ID
# token's claims kept in its session. Nothing about users is stored here.
INSTALLED_APPS = [
    "ums_auth",
    "portal",
    "oidc_login",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "ums_auth.middleware.UMSTokenMiddleware",
]

# Browser sessions (the OIDC sign-in's state, nonce and PKCE verifier, then
# the user's claims and tokens) live in files on the server, not in the
# cookie: the refresh token never reaches the browser. One directory shared
# by all workers of a host; use the cache or db backend across hosts.
SESSION_ENGINE = "django.contrib.sessions.backends.file"
SESSION_FILE_PATH = os.environ.get("DJANGO_SESSION_DIR") or None  # None: the system temp dir
SESSION_COOKIE_HTTPONLY = True
# Lax (the default), not Strict: the provider's redirect back to
# /oidc/callback is a cross-site top-level navigation that must carry it.
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = os.environ.get("DJANGO_SECURE_COOKIES") == "1"
SESSION_COOKIE_AGE = 8 * 3600

ROOT_URLCONF = "umsdemo.urls"
WSGI_APPLICATION = "umsdemo.wsgi.application"
DATABASES = {}
USE_TZ = True

UMS_URL = os.environ.get("UMS_URL", "http://127.0.0.1:8080")

UMS_AUTH = {
    # Where UMS answers (server to server: may be an internal address).
    "BASE_URL": UMS_URL,
    # The tokens' iss: UMS's PUBLIC_URL (differs from BASE_URL behind a proxy).
    "ISSUER": os.environ.get("UMS_ISSUER", UMS_URL),
    # UMS's ACCESS_TOKEN_AUDIENCE.
    "AUDIENCE": os.environ.get("UMS_AUDIENCE", "ums"),
    # Keys are cached this long; a token with an unknown kid refetches early,
    # at most once per JWKS_MIN_REFETCH_SECONDS (so junk kids cannot make us
    # hammer UMS).
    "JWKS_CACHE_SECONDS": 600,
    "JWKS_MIN_REFETCH_SECONDS": float(os.environ.get("UMS_JWKS_MIN_REFETCH_SECONDS", "5")),
    # Clock skew tolerated on exp/nbf/iat.
    "LEEWAY_SECONDS": int(os.environ.get("UMS_LEEWAY_SECONDS", "30")),
    # (connect, read) timeouts for every call to UMS, in seconds.
    "TIMEOUT": (0.5, 2.0),
    # After this many consecutive failures calls to UMS fail at once (503)
    # for BREAKER_RESET_SECONDS, then one trial call decides.
    "BREAKER_FAILURES": 3,
    "BREAKER_RESET_SECONDS": 30,
}

# "Sign in with UMS": UMS is an OpenID Connect provider, so this is a plain
# OIDC client (oidc_login, on Authlib) configured from the discovery
# document; register it with
#   ums clients create --name "UMS demo" --first-party \
#     --redirect-uri http://HOST/oidc/callback --post-logout-uri http://HOST/
UMS_OIDC_ISSUER = os.environ.get("UMS_ISSUER", UMS_URL).rstrip("/")
UMS_OIDC = {
    "SERVER_METADATA_URL": os.environ.get(
        "UMS_OIDC_DISCOVERY_URL", UMS_OIDC_ISSUER + "/.well-known/openid-configuration"),
    "CLIENT_ID": os.environ.get("UMS_OIDC_CLIENT_ID", ""),
    "CLIENT_SECRET": os.environ.get("UMS_OIDC_CLIENT_SECRET", ""),
    "SCOPE": os.environ.get("UMS_OIDC_SCOPE", "openid profile email offline_access"),
    # Default: this request's own /oidc/callback and / (set them behind a
    # proxy that changes the scheme or host).
    "REDIRECT_URI": os.environ.get("UMS_OIDC_REDIRECT_URI") or None,
    "POST_LOGOUT_REDIRECT_URI": os.environ.get("UMS_OIDC_POST_LOGOUT_REDIRECT_URI") or None,
    # (connect, read) seconds for discovery, JWKS and token requests.
    "TIMEOUT": (2.0, 10.0),
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "ums_auth": {"handlers": ["console"], "level": os.environ.get("UMS_AUTH_LOG_LEVEL", "WARNING")},
        "oidc_login": {"handlers": ["console"], "level": os.environ.get("UMS_AUTH_LOG_LEVEL", "WARNING")},
    },
}

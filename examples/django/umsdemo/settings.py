"""Settings of the example project: an API-only Django app whose users are
authenticated by UMS access tokens. Everything UMS-specific is in UMS_AUTH.
"""
import os

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-secret")
DEBUG = os.environ.get("DJANGO_DEBUG") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")

# No django.contrib.auth or sessions: the user comes from the bearer token,
# verified offline; nothing about users is stored here.
INSTALLED_APPS = [
    "ums_auth",
    "portal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "ums_auth.middleware.UMSTokenMiddleware",
]

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

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"ums_auth": {"handlers": ["console"], "level": os.environ.get("UMS_AUTH_LOG_LEVEL", "WARNING")}},
}

"""UMS_AUTH settings with their defaults (see umsdemo/settings.py)."""
from django.conf import settings

DEFAULTS = {
    "BASE_URL": "http://127.0.0.1:8080",
    "ISSUER": None,  # defaults to BASE_URL
    "AUDIENCE": "ums",
    "JWKS_URL": None,  # defaults to BASE_URL + /.well-known/jwks.json
    "JWKS_CACHE_SECONDS": 600,
    "JWKS_MIN_REFETCH_SECONDS": 5,
    "LEEWAY_SECONDS": 30,
    "TIMEOUT": (0.5, 2.0),
    "BREAKER_FAILURES": 3,
    "BREAKER_RESET_SECONDS": 30,
}


def get(name):
    """The setting's value, read at call time so tests can override it."""
    value = getattr(settings, "UMS_AUTH", {}).get(name, DEFAULTS[name])
    base = getattr(settings, "UMS_AUTH", {}).get("BASE_URL", DEFAULTS["BASE_URL"]).rstrip("/")
    if name == "ISSUER" and not value:
        return base
    if name == "JWKS_URL" and not value:
        return base + "/.well-known/jwks.json"
    if name == "BASE_URL":
        return base
    return value

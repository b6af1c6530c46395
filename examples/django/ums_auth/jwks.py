"""Offline verification of UMS access tokens (EdDSA JWTs) against UMS's
JWKS, cached, refetched early when a token names a key we do not know
(UMS rotated its keys)."""
import logging
import threading
import time

import jwt
import requests

from . import conf

log = logging.getLogger(__name__)


class InvalidToken(Exception):
    """The token is malformed, forged, expired or not meant for us: 401."""


class KeysUnavailable(Exception):
    """The key the token names is unknown and UMS cannot be asked: 503."""


class JWKSCache:
    """Thread-safe cache of one JWKS URL. A failed refresh keeps the keys
    we have: tokens signed with known keys keep verifying while UMS is down."""

    def __init__(self, url, ttl, min_refetch, timeout, session=None):
        self.url = url
        self.ttl = ttl
        self.min_refetch = min_refetch
        self.timeout = timeout
        self.session = session or requests.Session()
        self.keys = {}
        self.fetched_at = None  # last successful fetch
        self.attempted_at = None  # last try, successful or not
        self.last_fetch_failed = False
        self.fetch_count = 0
        self._lock = threading.Lock()

    def key(self, kid):
        with self._lock:
            now = time.monotonic()
            stale = self.fetched_at is None or now - self.fetched_at > self.ttl
            # Whatever the reason, at most one fetch per min_refetch: neither
            # junk kids nor a dead UMS can make every request wait on it.
            may_fetch = self.attempted_at is None or now - self.attempted_at >= self.min_refetch
            if (stale or kid not in self.keys) and may_fetch:
                self._fetch(now)
            if kid in self.keys:
                return self.keys[kid]
            if self.fetched_at is None or self.last_fetch_failed:
                raise KeysUnavailable("JWKS unavailable")
            raise InvalidToken("unknown kid")

    def _fetch(self, now):
        self.attempted_at = now
        self.fetch_count += 1
        try:
            res = self.session.get(self.url, timeout=self.timeout)
            res.raise_for_status()
            keys = {}
            for jwk in res.json().get("keys", []):
                # Only Ed25519 signing keys: the alg is pinned, never taken from the token.
                if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519" or jwk.get("use", "sig") != "sig":
                    continue
                keys[jwk["kid"]] = jwt.PyJWK(jwk, algorithm="EdDSA").key
        except (requests.RequestException, ValueError, KeyError, jwt.PyJWKError) as exc:
            # Keep the keys we have: tokens they sign keep verifying.
            log.warning("JWKS fetch from %s failed: %s", self.url, exc)
            self.last_fetch_failed = True
            return
        self.keys = keys
        self.fetched_at = now
        self.last_fetch_failed = False


_cache = None
_cache_lock = threading.Lock()


def cache():
    """The process-wide cache for the configured JWKS URL."""
    global _cache
    with _cache_lock:
        url = conf.get("JWKS_URL")
        if _cache is None or _cache.url != url:
            _cache = JWKSCache(url, conf.get("JWKS_CACHE_SECONDS"), conf.get("JWKS_MIN_REFETCH_SECONDS"), conf.get("TIMEOUT"))
        return _cache


def verify(token):
    """The token's claims if UMS signed it for our audience and it is
    current; InvalidToken or KeysUnavailable otherwise."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise InvalidToken("malformed token") from exc
    if header.get("alg") != "EdDSA" or not isinstance(header.get("kid"), str):
        raise InvalidToken("unexpected alg or kid")
    key = cache().key(header["kid"])
    try:
        return jwt.decode(
            token,
            key=key,
            algorithms=["EdDSA"],
            audience=conf.get("AUDIENCE"),
            issuer=conf.get("ISSUER"),
            leeway=conf.get("LEEWAY_SECONDS"),
            options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub", "jti"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise InvalidToken("token expired") from exc
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc

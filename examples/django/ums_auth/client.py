"""Calls to UMS: permission checks, token refresh and login, each with a
short timeout behind one circuit breaker, so a slow or dead UMS makes us
answer 503 at once instead of tying up workers."""
import threading
import time

import requests

from . import conf


class UMSUnavailable(Exception):
    """UMS did not answer in time, failed, or the breaker is open: 503."""

    def __init__(self, message, retry_after=None):
        super().__init__(message)
        self.retry_after = retry_after


class NotAuthenticated(Exception):
    """UMS refused the token (revoked, expired, session gone): 401."""


class CircuitBreaker:
    """Closed: calls pass. After `failures` consecutive failures: open, every
    call fails at once for `reset_seconds`. Then half-open: one trial call
    passes; its success closes the breaker, its failure opens it again."""

    def __init__(self, failures=3, reset_seconds=30, clock=time.monotonic):
        self.failures = failures
        self.reset_seconds = reset_seconds
        self.clock = clock
        self._lock = threading.Lock()
        self._consecutive = 0
        self._opened_at = None
        self._trial_running = False

    def before_call(self):
        """Raise UMSUnavailable unless a call may go out now."""
        with self._lock:
            if self._opened_at is None:
                return
            waited = self.clock() - self._opened_at
            if waited < self.reset_seconds or self._trial_running:
                raise UMSUnavailable("circuit open", retry_after=max(1, int(self.reset_seconds - waited)))
            self._trial_running = True

    def success(self):
        with self._lock:
            self._consecutive = 0
            self._opened_at = None
            self._trial_running = False

    def failure(self):
        with self._lock:
            self._consecutive += 1
            self._trial_running = False
            if self._opened_at is not None or self._consecutive >= self.failures:
                self._opened_at = self.clock()

    @property
    def is_open(self):
        with self._lock:
            return self._opened_at is not None


class UMSClient:
    def __init__(self, base_url, timeout=(0.5, 2.0), breaker=None, session=None):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.breaker = breaker or CircuitBreaker()
        self.session = session or requests.Session()

    def _post(self, path, body, token=None):
        self.breaker.before_call()
        headers = {"Authorization": "Bearer " + token} if token else {}
        try:
            res = self.session.post(self.base_url + path, json=body, headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            self.breaker.failure()
            raise UMSUnavailable("UMS unreachable: %s" % exc.__class__.__name__) from exc
        if res.status_code >= 500:
            self.breaker.failure()
            raise UMSUnavailable("UMS answered %d" % res.status_code, retry_after=res.headers.get("Retry-After"))
        self.breaker.success()
        if res.status_code == 429:
            raise UMSUnavailable("UMS rate limited us", retry_after=res.headers.get("Retry-After"))
        return res

    def authorize(self, token, org_id, permissions, user_id=None):
        """UMS's answer to "may the token's user (or user_id) do all of
        permissions in org_id?": a dict with allowed, granted, missing.
        Never cached: a revoked grant is refused on the very next call."""
        body = {"org_id": str(org_id), "permissions": list(permissions)}
        if user_id:
            body["user_id"] = str(user_id)
        res = self._post("/api/v1/authorize", body, token)
        if res.status_code == 401:
            raise NotAuthenticated("UMS refused the token")
        if res.status_code == 200:
            return res.json()
        # 403/404/422 (not a member, hidden or malformed organization): no.
        return {"allowed": False, "granted": [], "missing": list(permissions), "status": res.status_code}

    def refresh(self, refresh_token):
        """Spend a refresh token for a new pair (access_token, refresh_token,
        expires_in, ...). The old refresh token is dead afterwards: store the
        new one before using it. NotAuthenticated means log in again."""
        res = self._post("/api/v1/auth/refresh", {"refresh_token": refresh_token})
        if res.status_code != 200:
            raise NotAuthenticated("refresh refused (%d): log in again" % res.status_code)
        return res.json()

    def login(self, login, password, mfa_code=None):
        """Log in (for a backend-for-frontend that keeps the tokens server-side)."""
        body = {"login": login, "password": password}
        if mfa_code:
            body["mfa_code"] = mfa_code
        res = self._post("/api/v1/auth/login", body)
        if res.status_code != 200:
            raise NotAuthenticated("login refused (%d)" % res.status_code)
        return res.json()


def needs_refresh(claims, margin=60, now=None):
    """Whether an access token with these claims should be refreshed now:
    it expires within margin seconds."""
    return claims["exp"] - (now if now is not None else time.time()) < margin


_client = None
_client_lock = threading.Lock()


def client():
    """The process-wide client (one breaker per process)."""
    global _client
    with _client_lock:
        if _client is None or _client.base_url != conf.get("BASE_URL"):
            _client = UMSClient(
                conf.get("BASE_URL"),
                timeout=conf.get("TIMEOUT"),
                breaker=CircuitBreaker(conf.get("BREAKER_FAILURES"), conf.get("BREAKER_RESET_SECONDS")),
            )
        return _client

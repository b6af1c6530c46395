"""Unit tests of the breaker and the JWKS cache (no UMS needed)."""
import unittest

import requests

from ums_auth.client import CircuitBreaker, UMSClient, UMSUnavailable
from ums_auth.jwks import InvalidToken, JWKSCache, KeysUnavailable


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class CircuitBreakerTest(unittest.TestCase):
    def test_opens_fails_fast_then_half_opens(self):
        clock = Clock()
        b = CircuitBreaker(failures=3, reset_seconds=30, clock=clock)
        for _ in range(2):
            b.before_call()
            b.failure()
        self.assertFalse(b.is_open)
        b.before_call()
        b.failure()
        self.assertTrue(b.is_open)
        with self.assertRaises(UMSUnavailable) as ctx:
            b.before_call()
        self.assertEqual(ctx.exception.retry_after, 30)

        clock.now += 30
        b.before_call()  # the one trial call
        with self.assertRaises(UMSUnavailable):
            b.before_call()  # nobody else while it runs
        b.failure()
        with self.assertRaises(UMSUnavailable):
            b.before_call()  # reopened

        clock.now += 30
        b.before_call()
        b.success()
        self.assertFalse(b.is_open)
        b.before_call()

    def test_success_resets_the_count(self):
        b = CircuitBreaker(failures=2, reset_seconds=30, clock=Clock())
        b.failure()
        b.success()
        b.failure()
        self.assertFalse(b.is_open)


class RefusingSession:
    calls = 0

    def post(self, *args, **kwargs):
        self.calls += 1
        raise requests.ConnectionError("refused")

    get = post


class ClientTest(unittest.TestCase):
    def test_unreachable_ums_fails_closed_and_stops_calling(self):
        session = RefusingSession()
        c = UMSClient("http://127.0.0.1:9", breaker=CircuitBreaker(failures=2, reset_seconds=60), session=session)
        for _ in range(5):
            with self.assertRaises(UMSUnavailable):
                c.authorize("token", "org", ["p"])
        self.assertEqual(session.calls, 2, "the open breaker answers without calling UMS")


class JWKSCacheTest(unittest.TestCase):
    def test_unknown_kid_refetch_is_rate_limited(self):
        session = RefusingSession()
        cache = JWKSCache("http://127.0.0.1:9/jwks", ttl=600, min_refetch=60, timeout=1, session=session)
        with self.assertRaises(KeysUnavailable):
            cache.key("a")
        with self.assertRaises(KeysUnavailable):
            cache.key("b")
        self.assertEqual(session.calls, 1, "a dead UMS is asked at most once per min_refetch")

    def test_known_keys_survive_a_failed_refetch(self):
        cache = JWKSCache("http://127.0.0.1:9/jwks", ttl=600, min_refetch=0, timeout=1, session=RefusingSession())
        cache.keys, cache.fetched_at = {"a": "KEY"}, 0.0  # fetched long ago: stale
        self.assertEqual(cache.key("a"), "KEY")
        with self.assertRaises(KeysUnavailable):
            cache.key("unknown")
        cache.last_fetch_failed = False
        cache.min_refetch = 10**9
        with self.assertRaises(InvalidToken):
            cache.key("unknown")

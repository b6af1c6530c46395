"""Integration tests against a running UMS (run by test/deploy/django_test.go).

Environment: UMS_URL, UMS_ADMIN_LOGIN, UMS_ADMIN_PASSWORD; optional UMS_BIN
(with DATABASE_URL and KEY_ENCRYPTION_KEY, to rotate keys) and UMS_PID (to
stop UMS for the last test). UMS should run with ACCESS_TOKEN_TTL=1m so an
expired token can be shown without forging one. The tests run in order.
"""
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
import unittest
import uuid
from urllib.parse import urlparse

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.test import SimpleTestCase, override_settings

from ums_auth import client as ums_client
from ums_auth import jwks

UMS_URL = os.environ.get("UMS_URL")
PASSWORD = "correct horse battery staple"
PERMISSION = "lab.patient.read"


def api(method, path, token=None, body=None):
    headers = {"Authorization": "Bearer " + token} if token else {}
    res = requests.request(method, UMS_URL + path, json=body, headers=headers, timeout=10)
    return res


def login(name):
    res = api("POST", "/api/v1/auth/login", body={"login": name, "password": PASSWORD})
    assert res.status_code == 200, res.text
    return res.json()


def claims_of(token):
    return jwt.decode(token, options={"verify_signature": False})


def forge(real_token, **changes):
    """A token like real_token, signed with a key UMS never had."""
    header = jwt.get_unverified_header(real_token)
    claims = dict(claims_of(real_token), **changes)
    return jwt.encode(claims, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": header["kid"]})


@unittest.skipUnless(UMS_URL, "UMS_URL not set: needs a running UMS")
class UMSIntegrationTest(SimpleTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        admin = login(os.environ["UMS_ADMIN_LOGIN"])["access_token"]
        res = api("POST", "/api/v1/permissions", admin, {"name": PERMISSION, "description": "read patients"})
        assert res.status_code in (201, 409), res.text
        res = api("POST", "/api/v1/orgs", admin, {"name": "Lab One", "slug": "lab-one-" + uuid.uuid4().hex[:8]})
        assert res.status_code == 201, res.text
        cls.org = res.json()["id"]
        cls.users = {}
        for name in ("alice", "bob"):
            res = api("POST", "/api/v1/auth/register", body={"email": name + "@example.com", "username": name, "password": PASSWORD})
            assert res.status_code == 201, res.text
            cls.users[name] = res.json()["id"]
            res = api("POST", "/api/v1/orgs/%s/members" % cls.org, admin, {"user_id": cls.users[name], "role": "member"})
            assert res.status_code == 201, res.text
        res = api("POST", "/api/v1/orgs/%s/grants" % cls.org, admin, {"user_id": cls.users["alice"], "permission": PERMISSION})
        assert res.status_code == 201, res.text
        # Issued first, checked last: it has expired by then (ACCESS_TOKEN_TTL=1m).
        cls.early = login("alice")["access_token"]
        cls.alice = login("alice")
        cls.bob = login("bob")

    def get(self, path, token=None):
        headers = {"HTTP_AUTHORIZATION": "Bearer " + token} if token else {}
        return self.client.get(path, **headers)

    def test_01_valid_token(self):
        res = self.get("/api/profile", self.alice["access_token"])
        self.assertEqual(res.status_code, 200, res.content)
        self.assertEqual(res.json()["user_id"], self.users["alice"])
        self.assertEqual(res.json()["session_id"], self.alice["session_id"])

    def test_02_missing_or_malformed(self):
        self.assertEqual(self.get("/api/profile").status_code, 401)
        self.assertEqual(self.client.get("/api/profile", HTTP_AUTHORIZATION="Basic abc").status_code, 401)
        res = self.get("/api/profile", "not-a-jwt")
        self.assertEqual(res.status_code, 401)
        self.assertIn('error="invalid_token"', res["WWW-Authenticate"])
        self.assertEqual(self.get("/health").status_code, 200)

    def test_03_forged_tokens(self):
        real = self.alice["access_token"]
        self.assertEqual(self.get("/api/profile", forge(real)).status_code, 401, "signed with a foreign key")
        payload = base64.urlsafe_b64encode(json.dumps(dict(claims_of(real), sub=self.users["bob"])).encode()).rstrip(b"=")
        head, _, sig = real.split(".")
        tampered = "%s.%s.%s" % (head, payload.decode(), sig)
        self.assertEqual(self.get("/api/profile", tampered).status_code, 401, "claims changed after signing")
        none = jwt.encode(claims_of(real), None, algorithm="none", headers={"kid": jwt.get_unverified_header(real)["kid"]})
        self.assertEqual(self.get("/api/profile", none).status_code, 401, "alg none")

    def test_04_issuer_and_audience_checked(self):
        token = self.alice["access_token"]
        ums_auth = dict(settings.UMS_AUTH)
        with override_settings(UMS_AUTH=dict(ums_auth, AUDIENCE="another-service")):
            self.assertEqual(self.get("/api/profile", token).status_code, 401)
        with override_settings(UMS_AUTH=dict(ums_auth, ISSUER="https://impostor.example.com")):
            self.assertEqual(self.get("/api/profile", token).status_code, 401)
        self.assertEqual(self.get("/api/profile", token).status_code, 200)

    def test_05_permission_from_authorize(self):
        path = "/api/orgs/%s/patients" % self.org
        res = self.get(path, self.alice["access_token"])
        self.assertEqual(res.status_code, 200, res.content)
        self.assertEqual(res.json()["granted"], [PERMISSION])
        res = self.get(path, self.bob["access_token"])
        self.assertEqual(res.status_code, 403, res.content)
        self.assertEqual(res.json()["missing"], [PERMISSION])
        res = self.get("/api/orgs/%s/patients" % uuid.uuid4(), self.alice["access_token"])
        self.assertEqual(res.status_code, 403, "an organization alice is not in")
        self.assertEqual(self.get(path).status_code, 401)

    def test_06_refresh_helper(self):
        pair = login("alice")
        c = ums_client.client()
        self.assertFalse(ums_client.needs_refresh(claims_of(pair["access_token"]), margin=10))
        self.assertTrue(ums_client.needs_refresh(claims_of(pair["access_token"]), margin=3600))
        fresh = c.refresh(pair["refresh_token"])
        self.assertNotEqual(fresh["refresh_token"], pair["refresh_token"])
        self.assertEqual(self.get("/api/profile", fresh["access_token"]).status_code, 200)
        # A spent refresh token is refused (and UMS revokes that session).
        with self.assertRaises(ums_client.NotAuthenticated):
            c.refresh(pair["refresh_token"])

    @unittest.skipUnless(os.environ.get("UMS_BIN"), "UMS_BIN not set: key rotation not exercised")
    def test_07_unknown_kid_refetches_jwks(self):
        old_kid = jwt.get_unverified_header(self.alice["access_token"])["kid"]
        self.assertEqual(self.get("/api/profile", self.alice["access_token"]).status_code, 200)
        fetches = jwks.cache().fetch_count
        out = subprocess.run([os.environ["UMS_BIN"], "keys", "rotate"], capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        # Running servers switch to the new key within their key refresh (30s).
        deadline = time.monotonic() + 45
        while True:
            token = login("alice")["access_token"]
            if jwt.get_unverified_header(token)["kid"] != old_kid:
                break
            self.assertLess(time.monotonic(), deadline, "UMS never signed with the rotated key")
            time.sleep(2)
        self.assertEqual(self.get("/api/profile", token).status_code, 200, "new kid: JWKS refetched")
        self.assertGreater(jwks.cache().fetch_count, fetches)
        self.assertEqual(self.get("/api/profile", self.alice["access_token"]).status_code, 200, "old key still published")

    def test_08_expired_token(self):
        exp = claims_of(self.early)["exp"]
        leeway = settings.UMS_AUTH["LEEWAY_SECONDS"]
        wait = exp + leeway + 1 - time.time()
        self.assertLess(wait, 120, "run UMS with ACCESS_TOKEN_TTL=1m for this test")
        if wait > 0:
            time.sleep(wait)
        res = self.get("/api/profile", self.early)
        self.assertEqual(res.status_code, 401)
        self.assertIn("expired", res.json()["detail"])

    @unittest.skipUnless(os.environ.get("UMS_PID"), "UMS_PID not set: outage not exercised")
    def test_09_ums_down_fails_closed_fast(self):
        token = login("alice")["access_token"]
        path = "/api/orgs/%s/patients" % self.org
        self.assertEqual(self.get(path, token).status_code, 200)

        os.kill(int(os.environ["UMS_PID"]), signal.SIGTERM)
        addr = urlparse(UMS_URL)
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection((addr.hostname, addr.port), timeout=0.5).close()
            except OSError:
                break
            self.assertLess(time.monotonic(), deadline, "UMS did not stop")
            time.sleep(0.1)

        # Offline verification keeps working: the keys are cached.
        self.assertEqual(self.get("/api/profile", token).status_code, 200)
        for attempt in range(5):
            start = time.monotonic()
            res = self.get(path, token)
            took = time.monotonic() - start
            self.assertEqual(res.status_code, 503, res.content)
            self.assertTrue(res.has_header("Retry-After"))
            self.assertLess(took, 3.0, "attempt %d took %.2fs" % (attempt, took))
            sys.stderr.write("[ums down] attempt %d: 503 in %.3fs\n" % (attempt, took))
        self.assertTrue(ums_client.client().breaker.is_open, "repeated failures open the breaker")
        type(self).last_token = token

    @unittest.skipUnless(os.environ.get("UMS_PID"), "UMS_PID not set: outage not exercised")
    def test_10_hung_ums_times_out(self):
        # A UMS that accepts connections but never answers: the read timeout
        # (not the breaker) must bound the request.
        hung = socket.socket()
        self.addCleanup(hung.close)
        hung.bind(("127.0.0.1", 0))
        hung.listen(16)  # never accept(): the kernel completes the handshake, nobody replies
        base = "http://127.0.0.1:%d" % hung.getsockname()[1]
        keys = settings.UMS_AUTH["BASE_URL"] + "/.well-known/jwks.json"  # cached from the real UMS
        with override_settings(UMS_AUTH=dict(settings.UMS_AUTH, BASE_URL=base, JWKS_URL=keys)):
            start = time.monotonic()
            res = self.get("/api/orgs/%s/patients" % self.org, self.last_token)
            took = time.monotonic() - start
        self.assertEqual(res.status_code, 503, res.content)
        self.assertLess(took, 3.0)
        sys.stderr.write("[ums hung] 503 in %.3fs\n" % took)

"""The sign-in views against a small fake OpenID provider on 127.0.0.1
(no UMS needed): what Authlib sends (PKCE S256, nonce, state, client
secret) and which ID tokens it refuses. The real flow against a running
UMS is test/deploy/django_oidc_test.go."""
import base64
import hashlib
import json
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from authlib.jose import JsonWebKey, JsonWebToken
from django.test import SimpleTestCase, override_settings

from . import provider

CLIENT_ID = "client-123"
CLIENT_SECRET = "s3cret"


class FakeProvider:
    """Discovery, JWKS and a token endpoint that checks the client secret
    and the PKCE verifier, then answers with the ID token a test asks for."""

    def __init__(self):
        self.key = JsonWebKey.generate_key("RSA", 2048, is_private=True)
        self.kid = "k1"
        self.other_key = JsonWebKey.generate_key("OKP", "Ed25519", is_private=True)
        self.challenges = {}  # code -> (code_challenge, nonce)
        self.token_requests = []
        self.id_token_changes = {}
        self.sign_with = None  # another key: a forged token
        self.alg = "RS256"
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def send_json(self, body, status=200):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path == "/.well-known/openid-configuration":
                    self.send_json(fake.metadata())
                elif self.path == "/jwks":
                    jwk = dict(fake.key.as_dict(is_private=False), kid=fake.kid, use="sig", alg="RS256")
                    # Like UMS's JWKS, which also serves the Ed25519 keys of
                    # its API access tokens: keys for other uses sit beside.
                    other = dict(fake.other_key.as_dict(is_private=False), kid="api-1", use="sig", alg="EdDSA")
                    self.send_json({"keys": [jwk, other]})
                else:
                    self.send_json({"error": "not_found"}, 404)

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                fake.token_requests.append((self.headers.get("Authorization"), form))
                self.send_json(*fake.token(self.headers.get("Authorization"), form))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def metadata(self):
        return {
            "issuer": self.url,
            "authorization_endpoint": self.url + "/authorize",
            "token_endpoint": self.url + "/token",
            "userinfo_endpoint": self.url + "/userinfo",
            "end_session_endpoint": self.url + "/end_session",
            "jwks_uri": self.url + "/jwks",
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        }

    def token(self, authorization, form):
        basic = "Basic " + base64.b64encode(("%s:%s" % (CLIENT_ID, CLIENT_SECRET)).encode()).decode()
        if authorization != basic:
            return {"error": "invalid_client"}, 401
        challenge, nonce = self.challenges.pop(form.get("code"), (None, None))
        verifier = form.get("code_verifier", "")
        s256 = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if challenge is None or s256 != challenge:
            return {"error": "invalid_grant"}, 400
        now = int(time.time())
        # at_hash for RS256 (OpenID Connect Core 3.1.3.6): SHA-256, left half.
        at_hash = base64.urlsafe_b64encode(hashlib.sha256(b"at-1").digest()[:16]).rstrip(b"=").decode()
        claims = {"iss": self.url, "sub": "user-1", "aud": CLIENT_ID, "iat": now, "exp": now + 300,
                  "auth_time": now, "nonce": nonce, "email": "ada@example.com", "name": "Ada Lovelace",
                  "at_hash": at_hash}
        claims.update(self.id_token_changes)
        key = self.sign_with or self.key
        id_token = JsonWebToken([self.alg]).encode({"alg": self.alg, "kid": self.kid}, claims, key).decode()
        return {"access_token": "at-1", "token_type": "Bearer", "expires_in": 300,
                "refresh_token": "rt-1", "id_token": id_token, "scope": form.get("scope", "")}, 200


@override_settings(SESSION_ENGINE="django.contrib.sessions.backends.cache")
class SignInTest(SimpleTestCase):
    def setUp(self):
        self.fake = FakeProvider()
        self.addCleanup(self.fake.close)
        conf = {"SERVER_METADATA_URL": self.fake.url + "/.well-known/openid-configuration",
                "CLIENT_ID": CLIENT_ID, "CLIENT_SECRET": CLIENT_SECRET,
                "SCOPE": "openid profile email offline_access",
                "REDIRECT_URI": None, "POST_LOGOUT_REDIRECT_URI": None, "TIMEOUT": (1.0, 5.0)}
        overridden = override_settings(UMS_OIDC=conf)
        overridden.enable()
        self.addCleanup(overridden.disable)
        provider.reset()
        self.addCleanup(provider.reset)

    def start(self):
        """GET /oidc/login: the authorization request's parameters."""
        res = self.client.get("/oidc/login")
        self.assertEqual(res.status_code, 302)
        url = urlparse(res["Location"])
        self.assertEqual(url._replace(query="").geturl(), self.fake.url + "/authorize")
        return {k: v[0] for k, v in parse_qs(url.query).items()}

    def provider_approves(self, query, code="code-1"):
        self.fake.challenges[code] = (query["code_challenge"], query["nonce"])
        return self.client.get("/oidc/callback", {"code": code, "state": query["state"]})

    def test_authorization_request(self):
        q = self.start()
        self.assertEqual(q["response_type"], "code")
        self.assertEqual(q["client_id"], CLIENT_ID)
        self.assertEqual(q["redirect_uri"], "http://testserver/oidc/callback")
        self.assertEqual(q["scope"], "openid profile email offline_access")
        self.assertEqual(q["code_challenge_method"], "S256")
        self.assertGreaterEqual(len(q["code_challenge"]), 43)
        self.assertTrue(q["state"] and q["nonce"])
        self.assertNotEqual(self.start()["state"], q["state"], "a new state per sign-in")

    def test_sign_in_and_out(self):
        self.assertContains(self.client.get("/"), "Sign in with UMS")
        res = self.provider_approves(self.start())
        self.assertRedirects(res, "/", fetch_redirect_response=False)
        auth, form = self.fake.token_requests[-1]
        self.assertEqual(form["grant_type"], "authorization_code")
        self.assertNotIn("client_secret", form, "client_secret_basic")
        home = self.client.get("/")
        self.assertContains(home, "ada@example.com")
        self.assertEqual(self.client.session["oidc_tokens"]["refresh_token"], "rt-1")

        res = self.client.get("/oidc/logout")
        self.assertEqual(res.status_code, 302)
        url = urlparse(res["Location"])
        self.assertEqual(url._replace(query="").geturl(), self.fake.url + "/end_session")
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.assertEqual(q["post_logout_redirect_uri"], "http://testserver/")
        self.assertEqual(q["client_id"], CLIENT_ID)
        self.assertEqual(JsonWebToken(["RS256"]).decode(q["id_token_hint"], self.fake.key)["sub"], "user-1")
        self.assertContains(self.client.get("/"), "Not signed in")
        self.assertRedirects(self.client.get("/oidc/logout"), "/", fetch_redirect_response=False)

    def refused(self, res, why):
        self.assertEqual(res.status_code, 400, why)
        self.assertContains(self.client.get("/"), "Not signed in", msg_prefix=why)

    def test_forged_id_token(self):
        self.fake.sign_with = JsonWebKey.generate_key("RSA", 2048, is_private=True)
        self.refused(self.provider_approves(self.start()), "signed by a key not in the JWKS")

    def test_alg_not_in_discovery(self):
        self.fake.alg, self.fake.sign_with = "HS256", JsonWebKey.import_key(CLIENT_SECRET, {"kty": "oct"})
        self.refused(self.provider_approves(self.start()), "HS256 is not in id_token_signing_alg_values_supported")

    def test_wrong_claims(self):
        for change in ({"nonce": "replayed"}, {"aud": "another-client"}, {"iss": "https://impostor.example.com"},
                       {"at_hash": "AAAAAAAAAAAAAAAAAAAAAA"},
                       {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}):
            with self.subTest(change=change):
                self.fake.id_token_changes = change
                self.refused(self.provider_approves(self.start()), str(change))

    def test_state_and_errors(self):
        q = self.start()
        self.fake.challenges["code-1"] = (q["code_challenge"], q["nonce"])
        self.refused(self.client.get("/oidc/callback", {"code": "code-1", "state": "forged"}), "unknown state")
        self.refused(self.client.get("/oidc/callback", {"error": "access_denied", "state": q["state"]}), "provider error")
        self.assertEqual(self.fake.token_requests, [], "no code redeemed")

    def test_provider_down(self):
        self.fake.close()
        res = self.client.get("/oidc/login")
        self.assertEqual(res.status_code, 503)


if __name__ == "__main__":
    unittest.main()

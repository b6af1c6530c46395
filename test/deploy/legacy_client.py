"""A client of the old Flask service's API, written the way its Django
example's UMS client is (lhums-api.md section 4.6), run against UMS with
LEGACY_API=true after `ums import flask` of the old fixture database.

Run by legacy_client_test.go with /usr/bin/python3 (stdlib + requests) and
UMS_API_URL=http://127.0.0.1:<port>/api. Any wrong answer exits non-zero
with the request and the answer."""
import os
import sys

import requests

TIMEOUT = 10  # seconds per request


class UMSClient:
    """The old example's client: tokens in memory, JSON on every request,
    the bearer whenever it holds an access token."""

    def __init__(self, base_url=None):
        self.base_url = (base_url or os.environ.get("UMS_API_URL", "http://localhost:5000/api")).rstrip("/")
        self.access_token = None
        self.refresh_token = None

    def _headers(self):
        headers = {"Content-Type": "application/json"}
        if self.access_token:
            headers["Authorization"] = f"Bearer {self.access_token}"
        return headers

    def request(self, method, path, data=None):
        """Return (status, parsed body) of one request."""
        res = requests.request(method, self.base_url + path, json=data, headers=self._headers(), timeout=TIMEOUT)
        try:
            body = res.json()
        except ValueError:
            body = res.text
        print(f"  {method} {path} -> {res.status_code}")
        return res.status_code, body

    def login(self, username, password):
        status, body = self.request("POST", "/auth/login", {"username": username, "password": password})
        if status == 200:
            self.access_token = body["access_token"]
            self.refresh_token = body["refresh_token"]
        return status, body

    def refresh(self):
        """The old client's refresh: the refresh token goes where the access
        token goes for one POST without a body, then the access token is put
        back and, on 200, replaced."""
        saved = self.access_token
        self.access_token = self.refresh_token
        try:
            status, body = self.request("POST", "/auth/refresh")
        finally:
            self.access_token = saved
        if status == 200:
            self.access_token = body["access_token"]
        return status, body

    def register(self, username, email, password, first_name="", last_name=""):
        return self.request("POST", "/auth/register", {
            "username": username, "email": email, "password": password,
            "first_name": first_name, "last_name": last_name,
        })


def fail(step, status, body, why):
    sys.exit(f"FAIL: {step}: {why}\n  status: {status}\n  body: {body!r}")


def expect(step, status, body, want_status, check=None, why=""):
    if status != want_status:
        fail(step, status, body, f"want HTTP {want_status}")
    if not isinstance(body, dict):
        fail(step, status, body, "the body is not a JSON object")
    if check is not None:
        try:
            ok = check(body)
        except (KeyError, TypeError, IndexError) as exc:
            ok, why = False, f"{why} ({type(exc).__name__}: {exc})"
        if not ok:
            fail(step, status, body, why)
    print(f"ok: {step}")


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def main():
    bob = UMSClient()
    print(f"UMS_API_URL={bob.base_url}")

    status, body = bob.login("bob", "bob-old-secret-22")
    expect("login as bob", status, body, 200,
           lambda b: b["access_token"] and b["refresh_token"] and is_int(b["user"]["id"]) and b["user"]["id"] == 2,
           "want access_token, refresh_token and user.id == 2 (an integer)")

    status, body = bob.request("GET", "/auth/me")
    expect("GET /auth/me", status, body, 200, lambda b: b["user"]["id"] == 2 and is_int(b["user"]["id"]),
           "want user.id == 2")

    status, body = bob.request("GET", "/labs")
    expect("GET /labs", status, body, 200,
           lambda b: any(lab["name"] == "Genomics Lab" and is_int(lab["id"]) and lab["id"] == 1 for lab in b["labs"]),
           'want "Genomics Lab" with id 1 under labs')

    status, body = bob.request("GET", "/labs/1/members")
    expect("GET /labs/1/members", status, body, 200,
           lambda b: isinstance(b["members"], list) and len(b["members"]) > 0, "want a non-empty members list")

    for i in (1, 2):
        status, body = bob.refresh()
        expect(f"refresh #{i}", status, body, 200,
               lambda b: set(b) == {"access_token"} and b["access_token"] and bob.access_token == b["access_token"],
               "want only access_token, and the client holding it")
        if bob.access_token == bob.refresh_token:
            fail(f"refresh #{i}", status, body, "the refresh token was left in place of the access token")
    status, body = bob.request("GET", "/auth/me")
    expect("GET /auth/me with the refreshed token", status, body, 200, lambda b: b["user"]["id"] == 2,
           "want user.id == 2")

    status, body = bob.request("POST", "/auth/authorize",
                               {"user_id": 2, "lab_id": 1, "required_attributes": ["lab.patient.read"]})
    expect("authorize lab.patient.read", status, body, 200, lambda b: b["has_access"] is True,
           "want has_access true")
    status, body = bob.request("POST", "/auth/authorize",
                               {"user_id": 2, "lab_id": 1, "required_attributes": ["billing.nothing.here"]})
    expect("authorize billing.nothing.here", status, body, 200, lambda b: b["has_access"] is False,
           "want has_access false")

    # As the old client does, bob's bearer goes along with the registration.
    status, body = bob.register("quinn", "quinn@example.com", "quiet violet harbour lantern")
    expect("register quinn", status, body, 201,
           lambda b: is_int(b["user"]["id"]) and b["user"]["id"] > 14 and b["user"]["username"] == "quinn",
           "want an integer user.id above 14 (the imported ids) and username quinn")
    new_id = body["user"]["id"]

    eve = UMSClient()
    status, body = eve.login("eve", "eve-the-admin-pw")
    expect("login as eve", status, body, 200, lambda b: b["user"]["id"] == 5 and b["user"]["is_admin"] is True,
           "want user.id == 5, an admin")
    status, body = eve.request("GET", f"/users/{new_id}")
    expect(f"GET /users/{new_id} as eve", status, body, 200,
           lambda b: b["user"]["id"] == new_id and b["user"]["username"] == "quinn", "want the registered user")

    print("all steps passed")


if __name__ == "__main__":
    try:
        main()
    except requests.RequestException as exc:
        sys.exit(f"FAIL: request error: {exc}")

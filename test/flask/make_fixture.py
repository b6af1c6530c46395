#!/usr/bin/env python3
"""Generate the committed fixtures of the Flask import tests.

Run once, from the repository root, and commit what it writes:

    python3 test/flask/make_fixture.py

Needs Werkzeug >= 2.3 (scrypt hashes; on this machine Python 3.11 with
Werkzeug 3.1) and, for the `ums import users` vectors, passlib and bcrypt
(Debian: apt-get install python3-passlib python3-bcrypt). When passlib or
bcrypt are not importable, Debian's dist-packages directory is tried too.
CI never runs this script: the tests read only its output in testdata/.

Output (test/flask/testdata/):
  flask.sql            the old service's schema (as its SQLAlchemy models
                       created it) and data; valid SQLite and Postgres
  flask_increment.sql  rows added to the old database after a first import
  expected.json        plaintext passwords of the old users, the rows the
                       import must skip, and the old attribute model's
                       answer for every (user, lab): the oracle /authorize
                       must agree with
  hashes.json          password hash vectors for the crypto adapter
  users.jsonl          input of `ums import users`
  users_passwords.json the passwords of users.jsonl
"""

import base64
import datetime as dt
import hashlib
import importlib.metadata
import json
import os
import sys

import werkzeug.security as wz

try:
    import bcrypt
    import passlib.hash as ph
except ImportError:  # Debian's packages beside a Python of one's own
    sys.path.append("/usr/lib/python3/dist-packages")
    import bcrypt
    import passlib.hash as ph

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "testdata")
WERKZEUG = importlib.metadata.version("werkzeug")
NOW = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)

SCHEMA = """
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email VARCHAR(120) NOT NULL,
    username VARCHAR(80) NOT NULL,
    first_name VARCHAR(80),
    last_name VARCHAR(80),
    password_hash VARCHAR(256),
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    is_admin BOOLEAN NOT NULL DEFAULT FALSE,
    email_verified BOOLEAN NOT NULL DEFAULT FALSE,
    failed_login_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until TIMESTAMP,
    password_changed_at TIMESTAMP,
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP,
    updated_at TIMESTAMP
);
CREATE TABLE labs (
    id INTEGER PRIMARY KEY,
    name VARCHAR(120) NOT NULL,
    code VARCHAR(32),
    description TEXT,
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP
);
CREATE TABLE lab_memberships (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),
    lab_id INTEGER NOT NULL REFERENCES labs (id),
    role VARCHAR(20) NOT NULL
);
CREATE TABLE attributes (
    id INTEGER PRIMARY KEY,
    name VARCHAR(120) NOT NULL,
    description TEXT,
    category VARCHAR(60),
    is_active BOOLEAN NOT NULL DEFAULT TRUE
);
CREATE TABLE role_attributes (
    id INTEGER PRIMARY KEY,
    role VARCHAR(20) NOT NULL,
    attribute_id INTEGER NOT NULL REFERENCES attributes (id),
    lab_id INTEGER REFERENCES labs (id)
);
CREATE TABLE user_lab_attributes (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id),
    lab_id INTEGER NOT NULL REFERENCES labs (id),
    attribute_id INTEGER NOT NULL REFERENCES attributes (id),
    expires_at TIMESTAMP,
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    granted_by INTEGER REFERENCES users (id)
);
CREATE TABLE audit_logs (
    id INTEGER PRIMARY KEY,
    user_id INTEGER REFERENCES users (id),
    action VARCHAR(64) NOT NULL,
    target VARCHAR(255),
    lab_id INTEGER REFERENCES labs (id),
    ip VARCHAR(45),
    user_agent VARCHAR(255),
    created_at TIMESTAMP,
    details TEXT
);
"""

T0 = "2023-03-01 09:00:00.000000"
PAST = "2020-01-01 00:00:00.000000"
FUTURE = "2099-01-01 00:00:00.000000"

# (id, email, username, first, last, password, werkzeug method, active,
#  admin, verified, failed, locked_until, must_change, skip reason)
USERS = [
    (1, "alice@example.com", "alice", "Alice", "Archer", "alice-old-secret-1", "scrypt", True, False, True, 0, None, False, None),
    (2, "bob@example.com", "bob", "Bob", "Baker", "bob-old-secret-22", "pbkdf2:sha256:260000", True, False, True, 0, None, False, None),
    (3, "carol@example.com", "carol", "Carol", "Cole", "carol pass phrase", "pbkdf2:sha512:50000", True, False, False, 0, None, False, None),
    (4, "dave@example.com", "dave", "Dave", "Dunn", "dave-inactive-pw", "scrypt:16384:8:1", False, False, True, 0, None, False, None),
    (5, "Eve@Example.COM", "eve", "Eve", "Evans", "eve-the-admin-pw", "scrypt:16384:8:2", True, True, True, 0, None, False, None),
    (6, "ALICE@example.com", "alice2", "Alice", "Again", "duplicate-alice", "pbkdf2:sha256:10000", True, False, False, 0, None, False, "duplicate email"),
    (7, "not-an-email", "notmail", "", "", "no-valid-email", "pbkdf2:sha256:10000", True, False, False, 0, None, False, "invalid email"),
    (8, "frank@example.com", "fr ank", "Frank", "", "frank-bad-name", "pbkdf2:sha256:10000", True, False, False, 0, None, False, "invalid username"),
    (9, "grace@example.com", "grace", "Grace", "Hopper", "hunter2", "pbkdf2:sha1:20000", True, False, True, 2, PAST, True, None),
]
LABS = [
    (1, "Genomics Lab", "GEN", "Sequencing and analysis", True),
    (2, "Proteomics", "PROT_01", "Mass spectrometry", True),
    (3, "Old Lab", "OLD", "Closed in 2021", False),
]
MEMBERSHIPS = [
    (1, 1, 1, "admin"), (2, 2, 1, "member"), (3, 3, 1, "viewer"), (4, 3, 2, "member"),
    (5, 2, 3, "member"), (6, 6, 1, "member"), (7, 9, 2, "admin"), (8, 2, 1, "viewer"),
]
# Memberships the import skips, and why.
SKIPPED_MEMBERSHIPS = {6: "user 6 was not imported", 8: "duplicate membership"}
ATTRIBUTES = [
    (1, "lab.patient.read", "Read patient records", "patients", True),
    (2, "lab.patient.write", "Edit patient records", "patients", True),
    (3, "Sample:Export", "Export samples", "samples", True),
    (4, "reports.view", "View reports", "reports", True),
    (5, "admin", "Lab administration", "admin", True),
    (6, "instrument.book", "Book instruments", "instruments", False),
    (7, "Lab Patient Read", "Duplicate-ish legacy name", "patients", True),
    (8, "LAB.PATIENT.READ", "Same name in capitals", "patients", True),
]
ROLE_ATTRIBUTES = [
    (1, "member", 1, None), (2, "viewer", 4, None), (3, "admin", 5, None), (4, "admin", 2, None),
    (5, "member", 3, 1), (6, "viewer", 1, 2), (7, "member", 6, None), (8, "owner", 4, None),
    (9, "member", 7, 2),
]
SKIPPED_ROLE_ATTRIBUTES = {8: "invalid role"}
USER_ATTRIBUTES = [
    (1, 2, 1, 2, FUTURE, True, 1), (2, 2, 1, 4, PAST, True, 1), (3, 3, 2, 3, None, False, None),
    (4, 9, 1, 8, None, True, 5), (5, 7, 1, 1, None, True, None),
]
SKIPPED_USER_ATTRIBUTES = {5: "user 7 was not imported"}
AUDIT_LOGS = [
    (1, 1, "login", "user:1", None, "10.0.0.1", "Mozilla/5.0", '{"success": true}'),
    (2, 1, "attribute.grant", "user:2", 1, "10.0.0.1", "Mozilla/5.0", '{"attribute": "lab.patient.write"}'),
    (3, None, "LOGIN FAILED", "unknown@example.com", None, "10.0.0.9", "curl/8.0", "not json"),
    (4, 6, "login", "user:6", None, "10.0.0.6", "Mozilla/5.0", None),
]

# Rows the old service wrote after the first import.
INC_USERS = [
    (10, "ivan@example.com", "ivan", "Ivan", "Ivanov", "ivan-comes-later", "scrypt:16384:8:1", True, False, True, 0, None, False, None),
]
INC_LABS = [(4, "Imaging", "IMG", "Microscopy", True)]
INC_MEMBERSHIPS = [(9, 10, 4, "member")]
INC_ATTRIBUTES = [(9, "imaging.scan", "Run the scanner", "imaging", True)]
INC_ROLE_ATTRIBUTES = [(10, "member", 9, 4)]
INC_USER_ATTRIBUTES = [(6, 10, 1, 1, FUTURE, True, 1)]
INC_AUDIT_LOGS = [(5, 10, "register", "user:10", 4, "10.0.0.10", "Mozilla/5.0", "{}")]


def q(v):
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int):
        return str(v)
    return "'" + str(v).replace("'", "''") + "'"


def insert(table, cols, rows):
    out = []
    for r in rows:
        out.append(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(q(v) for v in r)});")
    return out


def user_rows(users, hashes):
    rows = []
    for u in users:
        (uid, email, username, first, last, pw, method, active, admin, verified, failed, locked, must, _) = u
        h = wz.generate_password_hash(pw, method=method)
        hashes[uid] = h
        rows.append((uid, email, username, first, last, h, active, admin, verified, failed, locked, T0, must, T0, T0))
    return rows


USER_COLS = ["id", "email", "username", "first_name", "last_name", "password_hash", "is_active", "is_admin",
             "email_verified", "failed_login_attempts", "locked_until", "password_changed_at",
             "must_change_password", "created_at", "updated_at"]


def sql(users, labs, memberships, attributes, role_attrs, user_attrs, audit, hashes, schema):
    lines = ["-- Generated by test/flask/make_fixture.py with Werkzeug " + WERKZEUG + "; do not edit."]
    if schema:
        lines.append(SCHEMA.strip())
    lines += insert("users", USER_COLS, user_rows(users, hashes))
    lines += insert("labs", ["id", "name", "code", "description", "is_active", "created_at"],
                    [l + (T0,) for l in labs])
    lines += insert("attributes", ["id", "name", "description", "category", "is_active"], attributes)
    lines += insert("lab_memberships", ["id", "user_id", "lab_id", "role"], memberships)
    lines += insert("role_attributes", ["id", "role", "attribute_id", "lab_id"], role_attrs)
    lines += insert("user_lab_attributes", ["id", "user_id", "lab_id", "attribute_id", "expires_at", "is_active",
                                            "granted_by"], user_attrs)
    lines += insert("audit_logs", ["id", "user_id", "action", "target", "lab_id", "ip", "user_agent", "created_at",
                                   "details"], [a[:6] + (a[6], T0, a[7]) for a in audit])
    return "\n".join(lines) + "\n"


def old_model(users, labs, memberships, attributes, role_attrs, user_attrs):
    """The Flask service's attribute check: an admin holds every active
    attribute; otherwise, in an active lab, the member's role attributes
    (global and for the lab) plus the user's own active, unexpired
    attributes there; inactive users and attributes confer nothing."""
    imported = {u[0] for u in users if u[13] is None}
    active_attr = {a[0] for a in attributes if a[4]}
    answers = []
    for u in users:
        if u[0] not in imported:
            continue
        for lab in labs:
            eff = set()
            if u[7]:
                if u[8]:
                    eff = set(active_attr)
                elif lab[4]:
                    # The old service read one membership per (user, lab):
                    # Membership.query.filter_by(...).first().
                    mine = sorted(m for m in memberships if m[1] == u[0] and m[2] == lab[0])
                    role = mine[0][3] if mine else None
                    for ra in role_attrs:
                        if ra[1] == role and ra[3] in (None, lab[0]):
                            eff.add(ra[2])
                    for ua in user_attrs:
                        exp = ua[4] and dt.datetime.strptime(ua[4], "%Y-%m-%d %H:%M:%S.%f")
                        if ua[1] == u[0] and ua[2] == lab[0] and ua[5] and (not exp or exp > NOW):
                            eff.add(ua[3])
                    eff &= active_attr
            answers.append({"user_id": u[0], "lab_id": lab[0], "attribute_ids": sorted(eff),
                            "member": any(m[1] == u[0] and m[2] == lab[0] for m in memberships)})
    return answers


def b64(raw):
    return base64.b64encode(raw).decode().rstrip("=")


def hash_vectors():
    pw, wrong = "correct horse battery staple", "wrong horse battery staple"
    v = []
    for method in ["pbkdf2:sha256:1000", "pbkdf2:sha512:1000", "pbkdf2:sha1:1000", "pbkdf2:sha256:600000",
                   "scrypt:16384:8:1", "scrypt"]:
        v.append({"source": "werkzeug " + WERKZEUG, "hash": wz.generate_password_hash(pw, method=method)})
    # A salt is text to Werkzeug: one with non-ASCII letters proves it is
    # used as UTF-8, not decoded.
    v.append({"source": "werkzeug " + WERKZEUG + " (hand-picked salt)",
              "hash": "pbkdf2:sha256:1000$sälz€$" + hashlib.pbkdf2_hmac("sha256", pw.encode(), "sälz€".encode(), 1000).hex()})
    v.append({"source": "pyca bcrypt " + bcrypt.__version__, "hash": bcrypt.hashpw(pw.encode(), bcrypt.gensalt(6)).decode()})
    for ident in ["2a", "2y", "2b"]:
        v.append({"source": "passlib bcrypt", "hash": ph.bcrypt.using(rounds=5, ident=ident).hash(pw)})
    v.append({"source": "passlib pbkdf2_sha256", "hash": ph.pbkdf2_sha256.using(rounds=1000).hash(pw)})
    v.append({"source": "passlib pbkdf2_sha512", "hash": ph.pbkdf2_sha512.using(rounds=1000).hash(pw)})
    v.append({"source": "passlib pbkdf2_sha1", "hash": ph.pbkdf2_sha1.using(rounds=1000).hash(pw)})
    v.append({"source": "passlib scrypt", "hash": ph.scrypt.using(rounds=12).hash(pw)})
    v.append({"source": "passlib django_pbkdf2_sha256", "hash": ph.django_pbkdf2_sha256.using(rounds=1000).hash(pw)})
    salt = os.urandom(16)
    v.append({"source": "PHC string, hashlib pbkdf2_hmac",
              "hash": f"$pbkdf2-sha256$i=1000,l=32${b64(salt)}${b64(hashlib.pbkdf2_hmac('sha256', pw.encode(), salt, 1000))}"})
    v.append({"source": "PHC string, hashlib scrypt",
              "hash": f"$scrypt$ln=12,r=8,p=1${b64(salt)}${b64(hashlib.scrypt(pw.encode(), salt=salt, n=4096, r=8, p=1, dklen=32))}"})
    long_pw = "x" * 80
    v.append({"source": "pyca bcrypt, 80-byte password (bcrypt reads 72)", "password": long_pw,
              "hash": bcrypt.hashpw(long_pw[:72].encode(), bcrypt.gensalt(4)).decode()})
    for e in v:
        e.setdefault("password", pw)
        e["wrong"] = wrong
    return v


def jsonl_users():
    rows = [
        ({"email": "olga@example.com", "username": "olga", "first_name": "Olga",
          "password_hash": bcrypt.hashpw(b"olga-bcrypt-pass", bcrypt.gensalt(6)).decode()}, "olga-bcrypt-pass"),
        ({"email": "pavel@example.com", "username": "pavel", "email_verified": True,
          "password_hash": ph.pbkdf2_sha256.using(rounds=10000).hash("pavel-passlib-pass")}, "pavel-passlib-pass"),
        ({"email": "quinn@example.com", "username": "quinn",
          "password_hash": ph.scrypt.using(rounds=12).hash("quinn-scrypt-pass")}, "quinn-scrypt-pass"),
        ({"email": "rosa@example.com", "username": "rosa", "is_active": True,
          "password_hash": ph.django_pbkdf2_sha256.using(rounds=10000).hash("rosa-django-pass")}, "rosa-django-pass"),
        ({"email": "sam@example.com", "username": "sam", "must_change_password": True,
          "password_hash": wz.generate_password_hash("sam-werkzeug-pass", method="pbkdf2:sha256:10000")}, "sam-werkzeug-pass"),
        ({"email": "md5@example.com", "username": "md5user",
          "password_hash": "md5$salt$" + hashlib.md5(b"saltpw").hexdigest()}, None),
        ({"email": "costly@example.com", "username": "costly",
          "password_hash": "pbkdf2:sha256:50000000$salt$" + "00" * 32}, None),
        ({"email": "broken-email", "username": "broken",
          "password_hash": bcrypt.hashpw(b"whatever-pass", bcrypt.gensalt(4)).decode()}, None),
    ]
    return rows


def main():
    os.makedirs(OUT, exist_ok=True)
    hashes = {}
    base = sql(USERS, LABS, MEMBERSHIPS, ATTRIBUTES, ROLE_ATTRIBUTES, USER_ATTRIBUTES, AUDIT_LOGS, hashes, True)
    inc = sql(INC_USERS, INC_LABS, INC_MEMBERSHIPS, INC_ATTRIBUTES, INC_ROLE_ATTRIBUTES, INC_USER_ATTRIBUTES,
              INC_AUDIT_LOGS, hashes, False)
    with open(os.path.join(OUT, "flask.sql"), "w") as f:
        f.write(base)
    with open(os.path.join(OUT, "flask_increment.sql"), "w") as f:
        f.write(inc)
    all_users = USERS + INC_USERS
    expected = {
        "werkzeug": WERKZEUG,
        "users": [{"id": u[0], "email": u[1], "username": u[2], "password": u[5], "hash": hashes[u[0]],
                   "active": u[7], "admin": u[8], "must_change_password": u[12], "skip": u[13],
                   "increment": u in INC_USERS} for u in all_users],
        "skipped": {"lab_memberships": SKIPPED_MEMBERSHIPS, "role_attributes": SKIPPED_ROLE_ATTRIBUTES,
                    "user_lab_attributes": SKIPPED_USER_ATTRIBUTES},
        "counts": {
            # Attributes given to non-members are not imported: UMS gives
            # direct grants to members only.
            "base": {"users": 6, "organizations": 3, "permissions": 8, "memberships": 6, "role_permissions": 8,
                     "grants": 3, "audit_events": 4},
            "increment": {"users": 1, "organizations": 1, "permissions": 1, "memberships": 1, "role_permissions": 1,
                          "audit_events": 1},
        },
        "authorize": old_model(all_users, LABS + INC_LABS, MEMBERSHIPS + INC_MEMBERSHIPS, ATTRIBUTES + INC_ATTRIBUTES,
                               ROLE_ATTRIBUTES + INC_ROLE_ATTRIBUTES, USER_ATTRIBUTES + INC_USER_ATTRIBUTES),
    }
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, ensure_ascii=False)
        f.write("\n")
    with open(os.path.join(OUT, "hashes.json"), "w") as f:
        json.dump(hash_vectors(), f, indent=1, ensure_ascii=False)
        f.write("\n")
    rows = jsonl_users()
    with open(os.path.join(OUT, "users.jsonl"), "w") as f:
        for rec, _ in rows:
            f.write(json.dumps(rec) + "\n")
    with open(os.path.join(OUT, "users_passwords.json"), "w") as f:
        json.dump({rec["email"]: pw for rec, pw in rows if pw}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()

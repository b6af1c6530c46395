#!/usr/bin/env python3
"""Generate the committed fixtures of the Flask import tests.

Run from the repository root, and commit what it writes:

    python3 test/flask/make_fixture.py          # the Flask databases and their oracle
    python3 test/flask/make_fixture.py --all    # also hashes.json and users.jsonl

Needs Werkzeug 3 (scrypt and pbkdf2 hashes as the old service made them; on
this machine Python 3.11 with Werkzeug 3.1) and, for --all, passlib and
bcrypt (Debian: apt-get install python3-passlib python3-bcrypt; Debian's
dist-packages directory is tried when they are not importable). CI never
runs this script: the tests read only its output in testdata/.

The schema is the Flask service's real one (../shared/ref/lhums-schema.md):
the tables and columns its SQLAlchemy models create, written out for each
engine the service ran on, as SQLAlchemy 2.0 emits them (no server-side
defaults for the booleans, which therefore can be NULL).

Output (test/flask/testdata/):
  flask_schema_sqlite.sql,
  flask_schema_postgres.sql,
  flask_schema_mysql.sql  the old schema on SQLite, Postgres and MySQL/MariaDB
  flask_data.sql          the old service's rows; valid on all three engines
  flask_increment.sql     rows added to the old database after a first import
  expected.json           plaintext passwords, what the import must do with
                          each row, and the old attribute model's answer for
                          every (user, lab): the oracle /authorize must match
  hashes.json             password hash vectors for the crypto adapter (--all)
  users.jsonl             input of `ums import users` (--all)
  users_passwords.json    the passwords of users.jsonl (--all)
"""

import base64
import datetime as dt
import hashlib
import importlib.metadata
import json
import os
import sys

import werkzeug.security as wz

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "testdata")
WERKZEUG = importlib.metadata.version("werkzeug")
# The oracle's clock: grants expire before or after it. The fixture's past
# and future are far from it, so the committed answers stay true for years.
NOW = dt.datetime(2026, 6, 1)

T0 = "2023-03-01 09:00:00"
T1 = "2024-05-06 07:08:09.123456"
PAST = "2020-01-01 00:00:00"
FUTURE = "2099-01-01 00:00:00"

# table -> [(column, {engine: type}, constraint)]; "pk" columns are the
# autoincrementing integer id.
BOOL = {"sqlite": "BOOLEAN", "postgres": "BOOLEAN", "mysql": "BOOL"}
TIME = {"sqlite": "DATETIME", "postgres": "TIMESTAMP WITHOUT TIME ZONE", "mysql": "DATETIME"}
TEXT = {"sqlite": "TEXT", "postgres": "TEXT", "mysql": "TEXT"}
INT = {"sqlite": "INTEGER", "postgres": "INTEGER", "mysql": "INTEGER"}


def varchar(n):
    return {e: f"VARCHAR({n})" for e in ("sqlite", "postgres", "mysql")}


TABLES = [
    ("users", [
        ("id", "pk"), ("username", varchar(80), "NOT NULL"), ("email", varchar(120), "NOT NULL"),
        ("password_hash", varchar(255), "NOT NULL"), ("first_name", varchar(50)), ("last_name", varchar(50)),
        ("is_active", BOOL), ("is_admin", BOOL), ("email_verified", BOOL), ("locked_until", TIME),
        ("failed_login_attempts", INT), ("last_login_at", TIME), ("password_changed_at", TIME),
        ("password_expires_at", TIME), ("password_history", TEXT), ("require_password_change", BOOL),
        ("two_factor_enabled", BOOL), ("two_factor_secret", varchar(32)), ("created_at", TIME), ("updated_at", TIME),
    ], ["UNIQUE (username)", "UNIQUE (email)"]),
    ("labs", [
        ("id", "pk"), ("name", varchar(100), "NOT NULL"), ("code", varchar(20), "NOT NULL"), ("description", TEXT),
        ("is_active", BOOL), ("created_at", TIME), ("updated_at", TIME),
    ], ["UNIQUE (name)", "UNIQUE (code)"]),
    ("lab_memberships", [
        ("id", "pk"), ("user_id", INT, "NOT NULL"), ("lab_id", INT, "NOT NULL"), ("role", varchar(50), "NOT NULL"),
        ("is_active", BOOL), ("joined_at", TIME),
    ], ["UNIQUE (user_id, lab_id)", "FOREIGN KEY(user_id) REFERENCES users (id)",
        "FOREIGN KEY(lab_id) REFERENCES labs (id)"]),
    ("attributes", [
        ("id", "pk"), ("name", varchar(100), "NOT NULL"), ("description", TEXT), ("category", varchar(50), "NOT NULL"),
        ("is_active", BOOL, "NOT NULL"), ("created_at", TIME),
    ], ["UNIQUE (name)"]),
    ("role_attributes", [
        ("id", "pk"), ("role_name", varchar(50), "NOT NULL"), ("attribute_id", INT, "NOT NULL"), ("lab_id", INT),
        ("granted_by", INT), ("granted_at", TIME),
    ], ["UNIQUE (role_name, attribute_id, lab_id)", "FOREIGN KEY(attribute_id) REFERENCES attributes (id)",
        "FOREIGN KEY(lab_id) REFERENCES labs (id)", "FOREIGN KEY(granted_by) REFERENCES users (id)"]),
    ("user_lab_attributes", [
        ("id", "pk"), ("user_id", INT, "NOT NULL"), ("lab_id", INT, "NOT NULL"), ("attribute_id", INT, "NOT NULL"),
        ("granted_by", INT, "NOT NULL"), ("granted_at", TIME), ("expires_at", TIME), ("is_active", BOOL, "NOT NULL"),
    ], ["UNIQUE (user_id, lab_id, attribute_id)", "FOREIGN KEY(user_id) REFERENCES users (id)",
        "FOREIGN KEY(lab_id) REFERENCES labs (id)", "FOREIGN KEY(attribute_id) REFERENCES attributes (id)",
        "FOREIGN KEY(granted_by) REFERENCES users (id)"]),
    ("audit_logs", [
        ("id", "pk"), ("user_id", INT), ("action", varchar(50), "NOT NULL"), ("resource_type", varchar(50)),
        ("resource_id", INT), ("details", TEXT), ("ip_address", varchar(45)), ("user_agent", varchar(255)),
        ("success", BOOL), ("created_at", TIME),
    ], ["FOREIGN KEY(user_id) REFERENCES users (id)"]),
    # Not imported: pending links die with the old service (the summary
    # counts them), and the rest is the old service's own bookkeeping.
    ("password_reset_tokens", [
        ("id", "pk"), ("user_id", INT, "NOT NULL"), ("token", varchar(100), "NOT NULL"), ("expires_at", TIME, "NOT NULL"),
        ("used", BOOL), ("created_at", TIME),
    ], ["UNIQUE (token)", "FOREIGN KEY(user_id) REFERENCES users (id)"]),
    ("email_verification_tokens", [
        ("id", "pk"), ("user_id", INT, "NOT NULL"), ("email", varchar(120), "NOT NULL"), ("token", varchar(100), "NOT NULL"),
        ("expires_at", TIME, "NOT NULL"), ("used", BOOL), ("created_at", TIME),
    ], ["UNIQUE (token)", "FOREIGN KEY(user_id) REFERENCES users (id)"]),
    ("login_attempts", [
        ("id", "pk"), ("username", varchar(80)), ("ip_address", varchar(45)), ("success", BOOL), ("created_at", TIME),
    ], []),
]


def schema(engine):
    out = [f"-- The Flask UMS schema on {engine}, as its SQLAlchemy models create it.",
           "-- Generated by test/flask/make_fixture.py; do not edit."]
    for table, cols, extra in TABLES:
        lines = []
        for c in cols:
            name, typ = c[0], c[1]
            if typ == "pk":
                lines.append({"sqlite": "id INTEGER NOT NULL", "postgres": "id SERIAL NOT NULL",
                              "mysql": "id INTEGER NOT NULL AUTO_INCREMENT"}[engine])
                continue
            lines.append(f"{name} {typ[engine]}" + (f" {c[2]}" if len(c) > 2 else ""))
        lines.append("PRIMARY KEY (id)")
        lines += extra
        # utf8mb4_bin compares case-sensitively, as SQLite and Postgres do, so
        # one data file can hold the case-only duplicates (ALICE@ and
        # alice@, Alice and alice) the old service allowed there; on a
        # case-insensitive collation such rows could not exist at all.
        tail = " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin" if engine == "mysql" else ""
        out.append(f"CREATE TABLE {table} (\n\t" + ",\n\t".join(lines) + f"\n){tail};")
    out.append("CREATE TABLE alembic_version (\n\tversion_num VARCHAR(32) NOT NULL,\n\tPRIMARY KEY (version_num)\n);")
    return "\n".join(out) + "\n"


def u(id, username, email, password, method="scrypt", **kw):
    row = {"id": id, "username": username, "email": email, "password": password, "method": method,
           "first_name": kw.get("first", username.split()[0].title()), "last_name": kw.get("last", "Tester"),
           "is_active": kw.get("active", True), "is_admin": kw.get("admin", False),
           "email_verified": kw.get("verified", True), "locked_until": kw.get("locked_until"),
           "failed_login_attempts": kw.get("failed", 0), "last_login_at": kw.get("last_login"),
           "password_changed_at": kw.get("changed_at", T0), "password_expires_at": kw.get("expires_at", FUTURE),
           "history": kw.get("history", []), "require_password_change": kw.get("must_change", False),
           "two_factor_enabled": kw.get("tfa", False), "two_factor_secret": kw.get("secret"),
           "created_at": T0, "updated_at": T1, "skip": kw.get("skip"), "ums_username": kw.get("ums_username")}
    if "nulls" in kw:
        for col in kw["nulls"]:
            row[col] = None
    return row


# The old users: one of each kind the import must carry over.
USERS = [
    u(1, "alice", "alice@example.com", "alice-current-secret",
      history=[("wombat staple orbit", "pbkdf2:sha256:20000"), ("copper kettle harbour", "scrypt:16384:8:1")],
      last_login=T1),
    u(2, "bob", "bob@example.com", "bob-old-secret-22", "pbkdf2:sha256:60000", verified=False),
    u(3, "carol", "carol@example.com", "carol pass phrase", "scrypt:16384:8:1", tfa=True,
      secret="GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"),
    u(4, "dave", "dave@example.com", "dave-inactive-pw", "scrypt:16384:8:1", active=False),
    u(5, "eve", "Eve@Example.COM", "eve-the-admin-pw", "scrypt:16384:8:1", admin=True),
    u(6, "frank", "frank@example.com", "frank-must-change", "pbkdf2:sha256:60000", must_change=True),
    # Written by another tool: every boolean with only a Python default is
    # NULL, and so is the failure count.
    u(7, "grace", "grace@example.com", "grace-null-flags", "scrypt:16384:8:1",
      nulls=["is_active", "is_admin", "email_verified", "require_password_change", "two_factor_enabled",
             "failed_login_attempts", "password_expires_at", "last_login_at"]),
    # The old service took any username; UMS's rules refuse these, and the
    # accounts come over under a derived one.
    u(8, "José Müller", "jose@example.com", "jose-accents-pw", "scrypt:16384:8:1", first="José", last="Müller",
      ums_username="Jose.Muller"),
    u(9, "alice2", "ALICE@example.com", "duplicate-alice", "pbkdf2:sha256:10000", skip="duplicate email"),
    u(10, "notmail", "not-an-email", "no-valid-email", "pbkdf2:sha256:10000", skip="invalid email"),
    u(11, "heidi", "heidi@example.com", "heidi-locked-out", "scrypt:16384:8:1", locked_until=FUTURE, failed=5),
    u(12, "ivan", "ivan@example.com", "ivan-expired-pass", "scrypt:16384:8:1", expires_at=PAST, changed_at=PAST),
    u(13, "Alice", "alice.second@example.com", "second-alice-pw", "scrypt:16384:8:1", ums_username="Alice-13"),
    u(14, "李雷", "lilei@example.com", "li-lei-password", "scrypt:16384:8:1", first="雷", last="李",
      ums_username="lilei"),
]
LABS = [
    (1, "Genomics Lab", "GEN", "Sequencing and analysis", True),
    (2, "Proteomics", "PROT_01", "Mass spectrometry", None),
    (3, "Old Lab", "OLD", "Closed in 2021", False),
]
# (id, user, lab, role, is_active, joined_at)
MEMBERSHIPS = [
    (1, 1, 1, "admin", True, T0), (2, 2, 1, "member", True, T0), (3, 3, 1, "viewer", True, T1),
    (4, 3, 2, "member", True, T0), (5, 2, 3, "member", True, T0), (6, 9, 1, "member", True, T0),
    (7, 7, 2, "admin", None, None), (8, 6, 1, "member", False, T0), (9, 8, 1, "viewer", True, T0),
    (10, 11, 2, "owner", True, T0), (11, 12, 1, "member", True, T0), (12, 5, 2, "member", True, T0),
    (13, 14, 2, "viewer", True, T0),
]
SKIPPED_MEMBERSHIPS = {"6": "user 9 was not imported", "8": "inactive", "10": "invalid role"}
# (id, name, description, category, is_active)
ATTRIBUTES = [
    (1, "lab.patient.read", "Read patient records", "lab", True),
    (2, "lab.patient.write", "Edit patient records", "lab", True),
    (3, "Sample:Export", "Export samples", "lab", True),
    (4, "reports.view", "View reports", "reports", True),
    (5, "admin", "Lab administration", "admin", True),
    (6, "instrument.book", "Book instruments", "lab", False),
    (7, "Lab Patient Read", "Legacy spelling", "lab", True),
    (8, "LAB.PATIENT.READ", "Same name in capitals", "system", True),
    (9, "billing.invoice", "Send invoices", "billing", True),
]
# (id, role_name, attribute, lab, granted_by, granted_at)
ROLE_ATTRIBUTES = [
    (1, "member", 1, None, 5, T0), (2, "viewer", 4, None, 5, T0), (3, "admin", 5, None, None, None),
    (4, "admin", 2, None, 5, T0), (5, "member", 3, 1, 1, T1), (6, "viewer", 1, 2, 5, T0),
    (7, "member", 6, None, 5, T0), (8, "owner", 4, None, 5, T0), (9, "member", 7, 2, 5, T0),
    (10, "member", 9, 1, 5, T0), (11, "viewer", 8, None, 5, T0),
]
SKIPPED_ROLE_ATTRIBUTES = {"8": "invalid role"}
# (id, user, lab, attribute, granted_by, granted_at, expires_at, is_active)
USER_ATTRIBUTES = [
    (1, 2, 1, 2, 1, T1, FUTURE, True),   # a live grant
    (2, 2, 1, 4, 1, T0, PAST, True),     # expired
    (3, 3, 2, 3, 1, T0, None, False),    # inactive
    (4, 6, 1, 8, 5, T0, None, True),     # to a member whose membership is inactive
    (5, 9, 1, 1, 5, T0, None, True),     # to a user the import skips
    (6, 7, 1, 1, 5, T0, None, True),     # to a non-member
    (7, 1, 1, 6, 5, T0, None, True),     # of an inactive attribute
    (8, 12, 1, 8, 1, T0, FUTURE, True),  # another live grant
]
SKIPPED_USER_ATTRIBUTES = {"4": "not a member", "5": "user 9 was not imported", "6": "not a member"}
# (id, user, action, resource_type, resource_id, details, ip, user_agent, success)
AUDIT_LOGS = [
    (1, 1, "login", "user", 1, '{"method": "password"}', "10.0.0.1", "Mozilla/5.0", True),
    (2, 1, "member_add", "lab", 1, '{"user_id": 2, "role": "member"}', "10.0.0.1", "Mozilla/5.0", True),
    (3, None, "failed_login", None, None, "not json", "10.0.0.9", "curl/8.0", False),
    (4, 9, "login", "user", 9, None, "10.0.0.6", "Mozilla/5.0", None),
]
RESET_TOKENS = [(1, 1, "reset-token-alice", FUTURE, False, T1), (2, 2, "reset-token-bob", PAST, True, T0)]
VERIFY_TOKENS = [(1, 2, "bob@example.com", "verify-token-bob", FUTURE, False, T1)]

# Rows the old service wrote after the first import.
INC_USERS = [u(15, "kim", "kim@example.com", "kim-comes-later", "scrypt:16384:8:1")]
INC_LABS = [(4, "Imaging", "IMG", "Microscopy", True)]
INC_MEMBERSHIPS = [(14, 15, 4, "member", True, T1)]
INC_ATTRIBUTES = [(10, "imaging.scan", "Run the scanner", "lab", True)]
INC_ROLE_ATTRIBUTES = [(12, "member", 10, 4, 5, T1)]
INC_USER_ATTRIBUTES = [(9, 15, 4, 1, 5, T1, None, True)]
INC_AUDIT_LOGS = [(5, 15, "register", "user", 15, "{}", "10.0.0.10", "Mozilla/5.0", True)]


def q(v):
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, int):
        return str(v)
    s = str(v)
    assert "\\" not in s, "MySQL reads backslashes in literals as escapes"
    return "'" + s.replace("'", "''") + "'"


def insert(table, cols, rows):
    return [f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(q(v) for v in r)});" for r in rows]


USER_COLS = ["id", "username", "email", "password_hash", "first_name", "last_name", "is_active", "is_admin",
             "email_verified", "locked_until", "failed_login_attempts", "last_login_at", "password_changed_at",
             "password_expires_at", "password_history", "require_password_change", "two_factor_enabled",
             "two_factor_secret", "created_at", "updated_at"]


def user_rows(users, hashes):
    rows = []
    for r in users:
        h = wz.generate_password_hash(r["password"], method=r["method"])
        hashes[r["id"]] = h
        history = None
        if r["history"]:
            # Oldest first, as the old service appended them.
            history = json.dumps([wz.generate_password_hash(pw, method=m) for pw, m in r["history"]])
        vals = dict(r, password_hash=h, password_history=history)
        rows.append(tuple(vals[c] for c in USER_COLS))
    return rows


def sql(users, labs, memberships, attributes, role_attrs, user_attrs, audit, resets, verifies, hashes, note):
    lines = [f"-- {note} Generated by test/flask/make_fixture.py with Werkzeug {WERKZEUG}; do not edit."]
    lines += insert("users", USER_COLS, user_rows(users, hashes))
    lines += insert("labs", ["id", "name", "code", "description", "is_active", "created_at", "updated_at"],
                    [l + (T0, T1) for l in labs])
    lines += insert("attributes", ["id", "name", "description", "category", "is_active", "created_at"],
                    [a + (T0,) for a in attributes])
    lines += insert("lab_memberships", ["id", "user_id", "lab_id", "role", "is_active", "joined_at"], memberships)
    lines += insert("role_attributes", ["id", "role_name", "attribute_id", "lab_id", "granted_by", "granted_at"],
                    role_attrs)
    lines += insert("user_lab_attributes", ["id", "user_id", "lab_id", "attribute_id", "granted_by", "granted_at",
                                            "expires_at", "is_active"], user_attrs)
    lines += insert("audit_logs", ["id", "user_id", "action", "resource_type", "resource_id", "details",
                                   "ip_address", "user_agent", "success", "created_at"], [a + (T1,) for a in audit])
    lines += insert("password_reset_tokens", ["id", "user_id", "token", "expires_at", "used", "created_at"], resets)
    lines += insert("email_verification_tokens", ["id", "user_id", "email", "token", "expires_at", "used",
                                                  "created_at"], verifies)
    return "\n".join(lines) + "\n"


def pending(tokens, expires, used):
    return sum(1 for t in tokens if not t[used] and when(t[expires]) > NOW)


def flag(v, default):
    return default if v is None else v


def when(s):
    return s and dt.datetime.fromisoformat(s)


def old_model(users, labs, memberships, attributes, role_attrs, user_attrs):
    """The Flask service's attribute list for every (user, lab), as
    lhums-api.md §7.3 describes it: a system admin holds every active
    attribute of category lab or system, in any lab; anyone else needs an
    active membership and then holds the role's attributes (global or for
    the lab) and their own active, unexpired grants there, of active
    attributes. The lab's own is_active is not checked.

    `old_defect` marks the answers the old code got wrong: a non-admin with
    a valid direct grant got [] (it failed while reading the grant), where
    `attribute_ids` holds what the model meant. `unknown_role` marks a
    membership whose role is none of admin, member and viewer: UMS has no
    such role and skips the membership."""
    active_attr = {a[0] for a in attributes if a[4]}
    category = {a[0]: a[3] for a in attributes}
    answers = []
    for r in users:
        if r["skip"]:
            continue
        admin, active = flag(r["is_admin"], False), flag(r["is_active"], True)
        for lab in labs:
            eff, defect = set(), False
            mine = [m for m in memberships if m[1] == r["id"] and m[2] == lab[0] and flag(m[4], True)]
            if admin:
                eff = {a for a in active_attr if category[a] in ("lab", "system")}
            elif mine:
                role = mine[0][3]
                eff = {ra[2] for ra in role_attrs if ra[1] == role and ra[3] in (None, lab[0])}
                grants = {ua[3] for ua in user_attrs if ua[1] == r["id"] and ua[2] == lab[0] and ua[7]
                          and ua[3] in active_attr and (not ua[6] or when(ua[6]) > NOW)}
                defect = bool(grants)
                eff = (eff | grants) & active_attr
            answers.append({"user_id": r["id"], "lab_id": lab[0], "attribute_ids": sorted(eff),
                            "admin": admin, "user_active": active, "lab_active": flag(lab[4], True),
                            "member": bool(mine), "old_defect": defect,
                            "unknown_role": bool(mine) and mine[0][3] not in ("admin", "member", "viewer")})
    return answers


def expected_users(users, hashes, increment):
    out = []
    for r in users:
        out.append({
            "id": r["id"], "email": r["email"], "username": r["username"], "ums_username": r["ums_username"],
            "password": r["password"], "hash": hashes[r["id"]], "skip": r["skip"],
            "active": flag(r["is_active"], True), "admin": flag(r["is_admin"], False),
            "must_change_password": flag(r["require_password_change"], False),
            "expired": bool(r["password_expires_at"]) and when(r["password_expires_at"]) < NOW,
            "locked": bool(r["locked_until"]) and when(r["locked_until"]) > NOW,
            "totp_secret": r["two_factor_secret"] if flag(r["two_factor_enabled"], False) else None,
            "history": [pw for pw, _ in r["history"]], "increment": increment,
        })
    return out


def counts(users, labs, memberships, attributes, role_attrs, user_attrs, audit, skipped_m, skipped_ra, skipped_ua):
    c = {"users": sum(1 for r in users if not r["skip"]), "organizations": len(labs), "permissions": len(attributes),
         "memberships": len(memberships) - len(skipped_m), "role_permissions": len(role_attrs) - len(skipped_ra),
         "grants": len(user_attrs) - len(skipped_ua), "audit_events": len(audit)}
    return {k: v for k, v in c.items() if v}


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
    for engine in ("sqlite", "postgres", "mysql"):
        with open(os.path.join(OUT, f"flask_schema_{engine}.sql"), "w") as f:
            f.write(schema(engine))
    hashes = {}
    base = sql(USERS, LABS, MEMBERSHIPS, ATTRIBUTES, ROLE_ATTRIBUTES, USER_ATTRIBUTES, AUDIT_LOGS, RESET_TOKENS,
               VERIFY_TOKENS, hashes, "The old service's rows.")
    inc = sql(INC_USERS, INC_LABS, INC_MEMBERSHIPS, INC_ATTRIBUTES, INC_ROLE_ATTRIBUTES, INC_USER_ATTRIBUTES,
              INC_AUDIT_LOGS, [], [], hashes, "Rows the old service wrote after a first import.")
    with open(os.path.join(OUT, "flask_data.sql"), "w") as f:
        f.write(base)
    with open(os.path.join(OUT, "flask_increment.sql"), "w") as f:
        f.write(inc)
    expected = {
        "werkzeug": WERKZEUG,
        "users": expected_users(USERS, hashes, False) + expected_users(INC_USERS, hashes, True),
        "skipped": {"lab_memberships": SKIPPED_MEMBERSHIPS, "role_attributes": SKIPPED_ROLE_ATTRIBUTES,
                    "user_lab_attributes": SKIPPED_USER_ATTRIBUTES},
        "dropped_links": {"password_reset": pending(RESET_TOKENS, 3, 4), "email_verification": pending(VERIFY_TOKENS, 4, 5)},
        "counts": {
            "base": counts(USERS, LABS, MEMBERSHIPS, ATTRIBUTES, ROLE_ATTRIBUTES, USER_ATTRIBUTES, AUDIT_LOGS,
                           SKIPPED_MEMBERSHIPS, SKIPPED_ROLE_ATTRIBUTES, SKIPPED_USER_ATTRIBUTES),
            "increment": counts(INC_USERS, INC_LABS, INC_MEMBERSHIPS, INC_ATTRIBUTES, INC_ROLE_ATTRIBUTES,
                                INC_USER_ATTRIBUTES, INC_AUDIT_LOGS, {}, {}, {}),
        },
        "authorize": old_model(USERS + INC_USERS, LABS + INC_LABS, MEMBERSHIPS + INC_MEMBERSHIPS,
                               ATTRIBUTES + INC_ATTRIBUTES, ROLE_ATTRIBUTES + INC_ROLE_ATTRIBUTES,
                               USER_ATTRIBUTES + INC_USER_ATTRIBUTES),
    }
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, ensure_ascii=False)
        f.write("\n")
    if "--all" not in sys.argv[1:]:
        return
    try:
        import bcrypt
        import passlib.hash as ph
    except ImportError:  # Debian's packages beside a Python of one's own
        sys.path.append("/usr/lib/python3/dist-packages")
        import bcrypt
        import passlib.hash as ph
    globals().update(bcrypt=bcrypt, ph=ph)
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

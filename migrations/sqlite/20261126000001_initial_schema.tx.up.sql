-- The whole domain of PRODUCT.md. Later changes add columns, not redesigns.
CREATE TABLE users (
    id                      text PRIMARY KEY,
    email                   text NOT NULL,
    username                text NOT NULL,
    first_name              text NOT NULL DEFAULT '',
    last_name               text NOT NULL DEFAULT '',
    is_active               boolean NOT NULL DEFAULT 1,
    is_system_admin         boolean NOT NULL DEFAULT 0,
    email_verified          boolean NOT NULL DEFAULT 0,
    password_hash           text NOT NULL,
    password_changed_at     timestamp NOT NULL,
    password_expires_at     timestamp,
    must_change_password    boolean NOT NULL DEFAULT 0,
    failed_login_count      integer NOT NULL DEFAULT 0,
    locked_until            timestamp,
    mfa_enabled             boolean NOT NULL DEFAULT 0,
    mfa_secret_encrypted    blob,
    mfa_last_used_step      bigint,
    last_login_at           timestamp,
    last_login_ip           text,
    last_login_user_agent   text,
    created_at              timestamp NOT NULL,
    updated_at              timestamp NOT NULL
);
--bun:split
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
--bun:split
CREATE UNIQUE INDEX users_username_key ON users (lower(username));
--bun:split
CREATE INDEX users_created_at_idx ON users (created_at, id);
--bun:split
CREATE TABLE password_history (
    id            text PRIMARY KEY,
    user_id       text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    password_hash text NOT NULL,
    created_at    timestamp NOT NULL
);
--bun:split
CREATE INDEX password_history_user_idx ON password_history (user_id, created_at DESC);
--bun:split
CREATE TABLE mfa_recovery_codes (
    id         text PRIMARY KEY,
    user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  text NOT NULL,
    used_at    timestamp,
    created_at timestamp NOT NULL
);
--bun:split
CREATE INDEX mfa_recovery_codes_user_idx ON mfa_recovery_codes (user_id);
--bun:split
CREATE TABLE organizations (
    id          text PRIMARY KEY,
    name        text NOT NULL,
    slug        text NOT NULL,
    description text NOT NULL DEFAULT '',
    is_active   boolean NOT NULL DEFAULT 1,
    created_at  timestamp NOT NULL,
    updated_at  timestamp NOT NULL
);
--bun:split
CREATE UNIQUE INDEX organizations_slug_key ON organizations (lower(slug));
--bun:split
CREATE TABLE memberships (
    org_id     text NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       text NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
    created_at timestamp NOT NULL,
    updated_at timestamp NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
--bun:split
CREATE INDEX memberships_user_idx ON memberships (user_id);
--bun:split
CREATE TABLE permissions (
    id          text PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    description text NOT NULL DEFAULT '',
    category    text NOT NULL DEFAULT '',
    is_active   boolean NOT NULL DEFAULT 1,
    created_at  timestamp NOT NULL,
    updated_at  timestamp NOT NULL
);
--bun:split
-- org_id NULL holds the global default permissions of a role.
CREATE TABLE role_permissions (
    id            text PRIMARY KEY,
    org_id        text REFERENCES organizations (id) ON DELETE CASCADE,
    role          text NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
    permission_id text NOT NULL REFERENCES permissions (id) ON DELETE CASCADE,
    created_at    timestamp NOT NULL
);
--bun:split
CREATE UNIQUE INDEX role_permissions_global_key ON role_permissions (role, permission_id) WHERE org_id IS NULL;
--bun:split
CREATE UNIQUE INDEX role_permissions_org_key ON role_permissions (org_id, role, permission_id) WHERE org_id IS NOT NULL;
--bun:split
CREATE TABLE grants (
    id            text PRIMARY KEY,
    org_id        text NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id       text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    permission_id text NOT NULL REFERENCES permissions (id) ON DELETE CASCADE,
    is_active     boolean NOT NULL DEFAULT 1,
    expires_at    timestamp,
    granted_by    text REFERENCES users (id) ON DELETE SET NULL,
    created_at    timestamp NOT NULL
);
--bun:split
CREATE INDEX grants_user_org_idx ON grants (user_id, org_id);
--bun:split
CREATE TABLE sessions (
    id            text PRIMARY KEY,
    user_id       text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    timestamp NOT NULL,
    last_used_at  timestamp NOT NULL,
    expires_at    timestamp NOT NULL,
    ip            text NOT NULL DEFAULT '',
    user_agent    text NOT NULL DEFAULT '',
    revoked_at    timestamp,
    revoke_reason text
);
--bun:split
CREATE INDEX sessions_user_idx ON sessions (user_id);
--bun:split
CREATE TABLE refresh_tokens (
    id          text PRIMARY KEY,
    session_id  text NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    token_hash  blob NOT NULL UNIQUE,
    created_at  timestamp NOT NULL,
    expires_at  timestamp NOT NULL,
    used_at     timestamp,
    replaced_by text
);
--bun:split
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);
--bun:split
CREATE TABLE signing_keys (
    kid                   text PRIMARY KEY,
    algorithm             text NOT NULL,
    public_key            blob NOT NULL,
    private_key_encrypted blob NOT NULL,
    created_at            timestamp NOT NULL,
    retired_at            timestamp,
    -- after this instant no token it signed is still valid
    expires_at            timestamp
);
--bun:split
CREATE TABLE one_time_tokens (
    id         text PRIMARY KEY,
    user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    text NOT NULL,
    token_hash blob NOT NULL UNIQUE,
    payload    text NOT NULL DEFAULT '',
    created_at timestamp NOT NULL,
    expires_at timestamp NOT NULL,
    used_at    timestamp
);
--bun:split
CREATE INDEX one_time_tokens_user_idx ON one_time_tokens (user_id, purpose);
--bun:split
-- Append-only; actor and target are plain ids so events outlive erased users.
CREATE TABLE audit_events (
    id          text PRIMARY KEY,
    occurred_at timestamp NOT NULL,
    actor_id    text,
    action      text NOT NULL,
    target_type text NOT NULL DEFAULT '',
    target_id   text NOT NULL DEFAULT '',
    org_id      text,
    outcome     text NOT NULL,
    ip          text NOT NULL DEFAULT '',
    user_agent  text NOT NULL DEFAULT '',
    request_id  text NOT NULL DEFAULT '',
    details     text NOT NULL DEFAULT '{}'
);
--bun:split
CREATE INDEX audit_events_time_idx ON audit_events (occurred_at DESC, id DESC);
--bun:split
CREATE INDEX audit_events_actor_idx ON audit_events (actor_id, occurred_at DESC);
--bun:split
CREATE INDEX audit_events_org_idx ON audit_events (org_id, occurred_at DESC);
--bun:split
CREATE INDEX audit_events_target_idx ON audit_events (target_id, occurred_at DESC);
--bun:split
-- Failed-login counters per identifier, shared by instances without Redis.
CREATE TABLE login_attempts (
    identifier        text PRIMARY KEY,
    failures          integer NOT NULL DEFAULT 0,
    window_started_at timestamp NOT NULL,
    locked_until      timestamp
);
--bun:split
-- Outgoing mail, written in the request's transaction and sent by a worker.
CREATE TABLE mail_outbox (
    id              text PRIMARY KEY,
    recipient       text NOT NULL,
    subject         text NOT NULL,
    text_body       text NOT NULL,
    html_body       text NOT NULL DEFAULT '',
    created_at      timestamp NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamp NOT NULL,
    sent_at         timestamp,
    last_error      text
);
--bun:split
CREATE INDEX mail_outbox_pending_idx ON mail_outbox (next_attempt_at) WHERE sent_at IS NULL;

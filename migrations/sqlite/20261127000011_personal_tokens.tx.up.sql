-- Personal access tokens: long-lived credentials people make for scripts,
-- known only by the SHA-256 of their value. They narrow their owner to the
-- permissions they name (re-checked against the owner's at each use) and,
-- when org_id is set, to one organization. Erasing the owner deletes them
-- (ON DELETE CASCADE); deleting the organization deletes its tokens.
CREATE TABLE personal_access_tokens (
    id            text PRIMARY KEY,
    user_id       text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name          text NOT NULL,
    token_hash    blob NOT NULL UNIQUE,
    hint          text NOT NULL DEFAULT '',
    org_id        text REFERENCES organizations (id) ON DELETE CASCADE,
    permissions   text NOT NULL DEFAULT '[]',
    created_at    timestamp NOT NULL,
    expires_at    timestamp NOT NULL,
    last_used_at  timestamp,
    revoked_at    timestamp,
    revoke_reason text NOT NULL DEFAULT ''
);
--bun:split
CREATE INDEX personal_access_tokens_user_idx ON personal_access_tokens (user_id, created_at);

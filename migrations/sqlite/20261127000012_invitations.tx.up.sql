-- Invitations into an organization by email. The mailed link carries a
-- random token; only its SHA-256 is stored. An invitation is open until it
-- is accepted or revoked; at most one open invitation per organization and
-- address. Erasing the account that accepted one deletes it (it holds that
-- person's address); erasing the inviter only forgets who sent it.
CREATE TABLE org_invitations (
    id           text PRIMARY KEY,
    org_id       text NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email        text NOT NULL,
    role         text NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
    token_hash   blob NOT NULL UNIQUE,
    invited_by   text REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamp NOT NULL,
    expires_at   timestamp NOT NULL,
    last_sent_at timestamp NOT NULL,
    accepted_at  timestamp,
    accepted_by  text REFERENCES users (id) ON DELETE CASCADE,
    revoked_at   timestamp
);
--bun:split
CREATE UNIQUE INDEX org_invitations_open_key ON org_invitations (org_id, lower(email))
    WHERE accepted_at IS NULL AND revoked_at IS NULL;
--bun:split
CREATE INDEX org_invitations_org_idx ON org_invitations (org_id, created_at, id);

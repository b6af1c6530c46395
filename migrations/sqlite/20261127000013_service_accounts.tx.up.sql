-- Service accounts: machine identities of one organization. Each is a
-- users row of kind 'service' (so roles, grants, access facts,
-- deactivation and session revocation hold for it as for people) with a
-- synthetic, never-deliverable address, the organization's account facts
-- below, and the OAuth client it authenticates as (client_credentials,
-- with a secret or a registered public key: private_key_jwt, RFC 7523).
ALTER TABLE users ADD COLUMN kind text NOT NULL DEFAULT 'person' CHECK (kind IN ('person', 'service'));
--bun:split
CREATE TABLE service_accounts (
    user_id     text PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    org_id      text NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name        text NOT NULL,
    description text NOT NULL DEFAULT '',
    created_by  text REFERENCES users (id) ON DELETE SET NULL,
    created_at  timestamp NOT NULL,
    updated_at  timestamp NOT NULL
);
--bun:split
CREATE UNIQUE INDEX service_accounts_org_name_key ON service_accounts (org_id, lower(name));
--bun:split
-- The client a service account authenticates as; it goes with the account.
ALTER TABLE oauth_clients ADD COLUMN service_account_id text REFERENCES service_accounts (user_id) ON DELETE CASCADE;
--bun:split
CREATE UNIQUE INDEX oauth_clients_service_account_key ON oauth_clients (service_account_id);
--bun:split
-- Public keys a service account signs its client assertions with; public
-- data only (a JWK without private members).
CREATE TABLE service_account_keys (
    user_id    text NOT NULL REFERENCES service_accounts (user_id) ON DELETE CASCADE,
    kid        text NOT NULL,
    algorithm  text NOT NULL,
    public_jwk text NOT NULL,
    -- RFC 7638 SHA-256 thumbprint: one key is registered once per account
    thumbprint text NOT NULL,
    created_at timestamp NOT NULL,
    expires_at timestamp,
    PRIMARY KEY (user_id, kid)
);
--bun:split
CREATE UNIQUE INDEX service_account_keys_thumbprint_key ON service_account_keys (user_id, thumbprint);
--bun:split
-- The ids (jti) of client assertions spent at the token endpoint, kept
-- until the assertion expires: an assertion authenticates once.
CREATE TABLE client_assertions (
    client_id  text NOT NULL,
    jti        text NOT NULL,
    expires_at timestamp NOT NULL,
    PRIMARY KEY (client_id, jti)
);
--bun:split
CREATE INDEX client_assertions_expires_idx ON client_assertions (expires_at);

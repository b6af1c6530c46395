-- WebAuthn: the passkeys users registered (public data only: the private
-- key never leaves the authenticator) and the state of ceremonies between
-- their two requests. Erasing a user deletes their passkeys with the
-- users row (ON DELETE CASCADE).
CREATE TABLE passkeys (
    id               uuid PRIMARY KEY,
    user_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- the authenticator's id for the credential, unique across users
    credential_id    bytea NOT NULL UNIQUE,
    -- COSE-encoded public key
    public_key       bytea NOT NULL,
    -- the authenticator's counter, a uint32
    sign_count       bigint NOT NULL DEFAULT 0 CHECK (sign_count BETWEEN 0 AND 4294967295),
    aaguid           bytea NOT NULL DEFAULT ''::bytea,
    transports       jsonb NOT NULL DEFAULT '[]',
    backup_eligible  boolean NOT NULL DEFAULT false,
    backed_up        boolean NOT NULL DEFAULT false,
    attestation_type text NOT NULL DEFAULT '',
    name             text NOT NULL,
    created_at       timestamptz NOT NULL,
    last_used_at     timestamptz
);
--bun:split
CREATE INDEX passkeys_user_idx ON passkeys (user_id);
--bun:split
-- data is the WebAuthn library's session, opaque to the database.
CREATE TABLE webauthn_ceremonies (
    id         text PRIMARY KEY,
    data       bytea NOT NULL,
    expires_at timestamptz NOT NULL
);
--bun:split
CREATE INDEX webauthn_ceremonies_expires_idx ON webauthn_ceremonies (expires_at);

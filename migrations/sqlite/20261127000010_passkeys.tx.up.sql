-- WebAuthn: the passkeys users registered (public data only: the private
-- key never leaves the authenticator) and the state of ceremonies between
-- their two requests. Erasing a user deletes their passkeys with the
-- users row (ON DELETE CASCADE).
CREATE TABLE passkeys (
    id               text PRIMARY KEY,
    user_id          text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- the authenticator's id for the credential, unique across users
    credential_id    blob NOT NULL UNIQUE,
    -- COSE-encoded public key
    public_key       blob NOT NULL,
    -- the authenticator's counter, a uint32
    sign_count       bigint NOT NULL DEFAULT 0 CHECK (sign_count BETWEEN 0 AND 4294967295),
    aaguid           blob NOT NULL DEFAULT x'',
    transports       text NOT NULL DEFAULT '[]',
    backup_eligible  boolean NOT NULL DEFAULT 0,
    backed_up        boolean NOT NULL DEFAULT 0,
    attestation_type text NOT NULL DEFAULT '',
    name             text NOT NULL,
    created_at       timestamp NOT NULL,
    last_used_at     timestamp
);
--bun:split
CREATE INDEX passkeys_user_idx ON passkeys (user_id);
--bun:split
-- data is the WebAuthn library's session, opaque to the database.
CREATE TABLE webauthn_ceremonies (
    id         text PRIMARY KEY,
    data       blob NOT NULL,
    expires_at timestamp NOT NULL
);
--bun:split
CREATE INDEX webauthn_ceremonies_expires_idx ON webauthn_ceremonies (expires_at);

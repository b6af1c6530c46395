-- The OpenID Connect provider: the clients registered to sign users in,
-- the authorization requests between the redirect to the sign-in page and
-- the code exchange, the client each OIDC session was issued to, and what
-- users agreed to share with third-party clients. Lists are JSON arrays.
CREATE TABLE oauth_clients (
    id                        text PRIMARY KEY,
    name                      text NOT NULL,
    -- SHA-256 of the secret; NULL for a public client
    secret_hash               blob,
    public                    boolean NOT NULL DEFAULT 0,
    first_party               boolean NOT NULL DEFAULT 0,
    redirect_uris             text NOT NULL DEFAULT '[]',
    post_logout_redirect_uris text NOT NULL DEFAULT '[]',
    grant_types               text NOT NULL DEFAULT '[]',
    created_at                timestamp NOT NULL,
    updated_at                timestamp NOT NULL
);
--bun:split
-- params holds what the client asked for (redirect_uri, scopes, state,
-- nonce, response_type, response_mode, code_challenge,
-- code_challenge_method, prompt, max_age in seconds or null, login_hint);
-- user_id, auth_time and amr are set once the user signed in, code_hash
-- once a code was issued.
CREATE TABLE oauth_auth_requests (
    id         text PRIMARY KEY,
    client_id  text NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    params     text NOT NULL,
    user_id    text REFERENCES users (id) ON DELETE CASCADE,
    auth_time  timestamp,
    amr        text NOT NULL DEFAULT '[]',
    code_hash  blob UNIQUE,
    created_at timestamp NOT NULL,
    expires_at timestamp NOT NULL
);
--bun:split
CREATE INDEX oauth_auth_requests_expires_idx ON oauth_auth_requests (expires_at);
--bun:split
CREATE INDEX oauth_auth_requests_client_idx ON oauth_auth_requests (client_id);
--bun:split
CREATE INDEX oauth_auth_requests_user_idx ON oauth_auth_requests (user_id) WHERE user_id IS NOT NULL;
--bun:split
-- A grant lives and dies with its session.
CREATE TABLE oauth_grants (
    session_id text PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    client_id  text NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    scopes     text NOT NULL DEFAULT '[]',
    auth_time  timestamp NOT NULL,
    amr        text NOT NULL DEFAULT '[]'
);
--bun:split
CREATE INDEX oauth_grants_client_idx ON oauth_grants (client_id);
--bun:split
CREATE TABLE oauth_consents (
    user_id    text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  text NOT NULL REFERENCES oauth_clients (id) ON DELETE CASCADE,
    scopes     text NOT NULL DEFAULT '[]',
    granted_at timestamp NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
--bun:split
CREATE INDEX oauth_consents_client_idx ON oauth_consents (client_id);

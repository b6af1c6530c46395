-- The old service's API (LEGACY_API=true) speaks integer ids: rows made
-- after the cutover get theirs in legacy_ids too, one per row.
CREATE UNIQUE INDEX legacy_ids_kind_new_key ON legacy_ids (kind, new_id);
--bun:split
-- An old refresh token (the old service's HS256 JWT) exchanged for a UMS
-- session: presenting it again lands in the same session, and revoking the
-- session (logout-all, erasure) ends the old token too.
CREATE TABLE legacy_refresh_links (
    token_hash blob PRIMARY KEY,
    session_id text NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at timestamp NOT NULL
);
--bun:split
CREATE INDEX legacy_refresh_links_session_idx ON legacy_refresh_links (session_id);

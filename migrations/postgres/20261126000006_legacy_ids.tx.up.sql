-- Rows imported from another system (`ums import flask`): the old integer
-- id of each, by kind, and its UMS id. It makes imports idempotent and
-- lets clients translate old ids:
--   SELECT new_id FROM legacy_ids WHERE kind = 'user' AND old_id = 42;
-- new_id is NULL for kinds without an id of their own (lab_membership).
CREATE TABLE legacy_ids (
    kind        text NOT NULL,
    old_id      bigint NOT NULL,
    new_id      uuid,
    imported_at timestamptz NOT NULL,
    PRIMARY KEY (kind, old_id)
);
--bun:split
CREATE INDEX legacy_ids_new_idx ON legacy_ids (new_id);

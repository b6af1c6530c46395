DROP TABLE IF EXISTS legacy_refresh_links;
--bun:split
DROP INDEX IF EXISTS legacy_ids_kind_new_key;

DROP TABLE IF EXISTS client_assertions;
--bun:split
DROP TABLE IF EXISTS service_account_keys;
--bun:split
DROP INDEX IF EXISTS oauth_clients_service_account_key;
--bun:split
-- Service accounts' clients go with them.
DELETE FROM oauth_clients WHERE service_account_id IS NOT NULL;
--bun:split
ALTER TABLE oauth_clients DROP COLUMN IF EXISTS service_account_id;
--bun:split
DROP TABLE IF EXISTS service_accounts;
--bun:split
-- Without their kind, service accounts would pass for people.
DELETE FROM users WHERE kind = 'service';
--bun:split
ALTER TABLE users DROP COLUMN IF EXISTS kind;

DROP TABLE IF EXISTS oauth_consents;
--bun:split
DROP TABLE IF EXISTS oauth_grants;
--bun:split
DROP TABLE IF EXISTS oauth_auth_requests;
--bun:split
DROP TABLE IF EXISTS oauth_clients;

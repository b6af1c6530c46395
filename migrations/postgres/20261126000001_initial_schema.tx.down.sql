DROP TABLE IF EXISTS mail_outbox;
--bun:split
DROP TABLE IF EXISTS login_attempts;
--bun:split
DROP TABLE IF EXISTS audit_events;
--bun:split
DROP TABLE IF EXISTS one_time_tokens;
--bun:split
DROP TABLE IF EXISTS signing_keys;
--bun:split
DROP TABLE IF EXISTS refresh_tokens;
--bun:split
DROP TABLE IF EXISTS sessions;
--bun:split
DROP TABLE IF EXISTS grants;
--bun:split
DROP TABLE IF EXISTS role_permissions;
--bun:split
DROP TABLE IF EXISTS permissions;
--bun:split
DROP TABLE IF EXISTS memberships;
--bun:split
DROP TABLE IF EXISTS organizations;
--bun:split
DROP TABLE IF EXISTS mfa_recovery_codes;
--bun:split
DROP TABLE IF EXISTS password_history;
--bun:split
DROP TABLE IF EXISTS users;

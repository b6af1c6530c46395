DROP TRIGGER IF EXISTS role_permissions_access_delete;
--bun:split
DROP TRIGGER IF EXISTS role_permissions_access_update;
--bun:split
DROP TRIGGER IF EXISTS role_permissions_access_insert;
--bun:split
DROP TRIGGER IF EXISTS permissions_access_delete;
--bun:split
DROP TRIGGER IF EXISTS permissions_access_update;
--bun:split
DROP TRIGGER IF EXISTS permissions_access_insert;
--bun:split
DROP TRIGGER IF EXISTS organizations_access_delete;
--bun:split
DROP TRIGGER IF EXISTS organizations_access_update;
--bun:split
DROP TRIGGER IF EXISTS organizations_access_insert;
--bun:split
DROP TRIGGER IF EXISTS users_access_update;
--bun:split
DROP TRIGGER IF EXISTS users_access_delete;
--bun:split
DROP TRIGGER IF EXISTS users_access_insert;
--bun:split
DROP TRIGGER IF EXISTS grants_access_delete;
--bun:split
DROP TRIGGER IF EXISTS grants_access_update;
--bun:split
DROP TRIGGER IF EXISTS grants_access_insert;
--bun:split
DROP TRIGGER IF EXISTS memberships_access_delete;
--bun:split
DROP TRIGGER IF EXISTS memberships_access_update;
--bun:split
DROP TRIGGER IF EXISTS memberships_access_insert;
--bun:split
DROP TABLE IF EXISTS access_stamps;

DROP TRIGGER IF EXISTS role_permissions_access ON role_permissions;
--bun:split
DROP TRIGGER IF EXISTS permissions_access ON permissions;
--bun:split
DROP TRIGGER IF EXISTS organizations_access ON organizations;
--bun:split
DROP TRIGGER IF EXISTS users_access_changed ON users;
--bun:split
DROP TRIGGER IF EXISTS users_access_created_or_deleted ON users;
--bun:split
DROP TRIGGER IF EXISTS grants_access ON grants;
--bun:split
DROP TRIGGER IF EXISTS memberships_access ON memberships;
--bun:split
DROP FUNCTION IF EXISTS ums_access_global_changed();
--bun:split
DROP FUNCTION IF EXISTS ums_access_account_changed();
--bun:split
DROP FUNCTION IF EXISTS ums_access_member_changed();
--bun:split
DROP FUNCTION IF EXISTS ums_access_bump(uuid);
--bun:split
DROP TABLE IF EXISTS access_stamps;

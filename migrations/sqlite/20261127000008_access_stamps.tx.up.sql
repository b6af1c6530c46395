-- access_stamps count the changes to what authorization decides on, so an
-- instance may keep a user's access facts in memory and reuse them while
-- the stamps it read before loading them are unchanged. Triggers bump the
-- stamps inside the writing transaction, so no writer can forget to, and a
-- reader sees a new stamp exactly when it can see the change. SQLite has
-- one writer at a time: a stamp never repeats a value.
--
-- subject is a user id (memberships, grants, the account's active and
-- system-admin flags) or the nil UUID for what every user's facts depend
-- on: organizations, the permission catalog and role permissions.
CREATE TABLE access_stamps (
    subject text PRIMARY KEY,
    stamp   integer NOT NULL
);
--bun:split
INSERT INTO access_stamps (subject, stamp) VALUES ('00000000-0000-0000-0000-000000000000', 1);
--bun:split
CREATE TRIGGER memberships_access_insert AFTER INSERT ON memberships FOR EACH ROW
BEGIN
    INSERT INTO access_stamps (subject, stamp) VALUES (NEW.user_id, 1) ON CONFLICT (subject) DO UPDATE SET stamp = stamp + 1;
END;
--bun:split
CREATE TRIGGER memberships_access_update AFTER UPDATE ON memberships FOR EACH ROW
BEGIN
    INSERT INTO access_stamps (subject, stamp) VALUES (OLD.user_id, 1) ON CONFLICT (subject) DO UPDATE SET stamp = stamp + 1;
    INSERT INTO access_stamps (subject, stamp) VALUES (NEW.user_id, 1) ON CONFLICT (subject) DO UPDATE SET stamp = stamp + 1;
END;
--bun:split
CREATE TRIGGER memberships_access_delete AFTER DELETE ON memberships FOR EACH ROW
BEGIN
    INSERT INTO access_stamps (subject, stamp) VALUES (OLD.user_id, 1) ON CONFLICT (subject) DO UPDATE SET stamp = stamp + 1;
END;
--bun:split
CREATE TRIGGER grants_access_insert AFTER INSERT ON grants FOR EACH ROW
BEGIN
    INSERT INTO access_stamps (subject, stamp) VALUES (NEW.user_id, 1) ON CONFLICT (subject) DO UPDATE SET stamp = stamp + 1;
END;
--bun:split
CREATE TRIGGER grants_access_update AFTER UPDATE ON grants FOR EACH ROW
BEGIN
    INSERT INTO access_stamps (subject, stamp) VALUES (OLD.user_id, 1) ON CONFLICT (subject) DO UPDATE SET stamp = stamp + 1;
    INSERT INTO access_stamps (subject, stamp) VALUES (NEW.user_id, 1) ON CONFLICT (subject) DO UPDATE SET stamp = stamp + 1;
END;
--bun:split
CREATE TRIGGER grants_access_delete AFTER DELETE ON grants FOR EACH ROW
BEGIN
    INSERT INTO access_stamps (subject, stamp) VALUES (OLD.user_id, 1) ON CONFLICT (subject) DO UPDATE SET stamp = stamp + 1;
END;
--bun:split
CREATE TRIGGER users_access_insert AFTER INSERT ON users FOR EACH ROW
BEGIN
    INSERT INTO access_stamps (subject, stamp) VALUES (NEW.id, 1) ON CONFLICT (subject) DO UPDATE SET stamp = stamp + 1;
END;
--bun:split
CREATE TRIGGER users_access_delete AFTER DELETE ON users FOR EACH ROW
BEGIN
    INSERT INTO access_stamps (subject, stamp) VALUES (OLD.id, 1) ON CONFLICT (subject) DO UPDATE SET stamp = stamp + 1;
END;
--bun:split
-- Logins, profile and password writes leave the stamp alone.
CREATE TRIGGER users_access_update AFTER UPDATE OF id, is_active, is_system_admin ON users FOR EACH ROW
    WHEN OLD.is_active IS NOT NEW.is_active OR OLD.is_system_admin IS NOT NEW.is_system_admin OR OLD.id IS NOT NEW.id
BEGIN
    INSERT INTO access_stamps (subject, stamp) VALUES (OLD.id, 1) ON CONFLICT (subject) DO UPDATE SET stamp = stamp + 1;
    INSERT INTO access_stamps (subject, stamp) VALUES (NEW.id, 1) ON CONFLICT (subject) DO UPDATE SET stamp = stamp + 1;
END;
--bun:split
CREATE TRIGGER organizations_access_insert AFTER INSERT ON organizations FOR EACH ROW
BEGIN
    INSERT INTO access_stamps (subject, stamp) VALUES ('00000000-0000-0000-0000-000000000000', 1) ON CONFLICT (subject) DO UPDATE SET stamp = stamp + 1;
END;
--bun:split
CREATE TRIGGER organizations_access_update AFTER UPDATE OF id, name, slug, is_active ON organizations FOR EACH ROW
BEGIN
    INSERT INTO access_stamps (subject, stamp) VALUES ('00000000-0000-0000-0000-000000000000', 1) ON CONFLICT (subject) DO UPDATE SET stamp = stamp + 1;
END;
--bun:split
CREATE TRIGGER organizations_access_delete AFTER DELETE ON organizations FOR EACH ROW
BEGIN
    INSERT INTO access_stamps (subject, stamp) VALUES ('00000000-0000-0000-0000-000000000000', 1) ON CONFLICT (subject) DO UPDATE SET stamp = stamp + 1;
END;
--bun:split
CREATE TRIGGER permissions_access_insert AFTER INSERT ON permissions FOR EACH ROW
BEGIN
    INSERT INTO access_stamps (subject, stamp) VALUES ('00000000-0000-0000-0000-000000000000', 1) ON CONFLICT (subject) DO UPDATE SET stamp = stamp + 1;
END;
--bun:split
CREATE TRIGGER permissions_access_update AFTER UPDATE OF id, name, is_active ON permissions FOR EACH ROW
BEGIN
    INSERT INTO access_stamps (subject, stamp) VALUES ('00000000-0000-0000-0000-000000000000', 1) ON CONFLICT (subject) DO UPDATE SET stamp = stamp + 1;
END;
--bun:split
CREATE TRIGGER permissions_access_delete AFTER DELETE ON permissions FOR EACH ROW
BEGIN
    INSERT INTO access_stamps (subject, stamp) VALUES ('00000000-0000-0000-0000-000000000000', 1) ON CONFLICT (subject) DO UPDATE SET stamp = stamp + 1;
END;
--bun:split
CREATE TRIGGER role_permissions_access_insert AFTER INSERT ON role_permissions FOR EACH ROW
BEGIN
    INSERT INTO access_stamps (subject, stamp) VALUES ('00000000-0000-0000-0000-000000000000', 1) ON CONFLICT (subject) DO UPDATE SET stamp = stamp + 1;
END;
--bun:split
CREATE TRIGGER role_permissions_access_update AFTER UPDATE ON role_permissions FOR EACH ROW
BEGIN
    INSERT INTO access_stamps (subject, stamp) VALUES ('00000000-0000-0000-0000-000000000000', 1) ON CONFLICT (subject) DO UPDATE SET stamp = stamp + 1;
END;
--bun:split
CREATE TRIGGER role_permissions_access_delete AFTER DELETE ON role_permissions FOR EACH ROW
BEGIN
    INSERT INTO access_stamps (subject, stamp) VALUES ('00000000-0000-0000-0000-000000000000', 1) ON CONFLICT (subject) DO UPDATE SET stamp = stamp + 1;
END;

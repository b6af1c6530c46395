-- access_stamps count the changes to what authorization decides on, so an
-- instance may keep a user's access facts in memory and reuse them while
-- the stamps it read before loading them are unchanged. Triggers bump the
-- stamps inside the writing transaction, so no writer can forget to, and a
-- reader sees a new stamp exactly when it can see the change. The upsert's
-- row lock orders concurrent bumps: a stamp never repeats a value.
--
-- subject is a user id (memberships, grants, the account's active and
-- system-admin flags) or the nil UUID for what every user's facts depend
-- on: organizations, the permission catalog and role permissions.
CREATE TABLE access_stamps (
    subject uuid PRIMARY KEY,
    stamp   bigint NOT NULL
);
--bun:split
INSERT INTO access_stamps (subject, stamp) VALUES ('00000000-0000-0000-0000-000000000000', 1);
--bun:split
CREATE FUNCTION ums_access_bump(s uuid) RETURNS void LANGUAGE sql AS $$
    INSERT INTO access_stamps (subject, stamp) VALUES (s, 1)
    ON CONFLICT (subject) DO UPDATE SET stamp = access_stamps.stamp + 1
$$;
--bun:split
-- memberships and grants: the user of the old row and of the new one.
CREATE FUNCTION ums_access_member_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM ums_access_bump(OLD.user_id);
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.user_id IS DISTINCT FROM OLD.user_id) THEN
        PERFORM ums_access_bump(NEW.user_id);
    END IF;
    RETURN NULL;
END
$$;
--bun:split
CREATE FUNCTION ums_access_account_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM ums_access_bump(OLD.id);
    ELSE
        PERFORM ums_access_bump(NEW.id);
    END IF;
    RETURN NULL;
END
$$;
--bun:split
CREATE FUNCTION ums_access_global_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ums_access_bump('00000000-0000-0000-0000-000000000000');
    RETURN NULL;
END
$$;
--bun:split
CREATE TRIGGER memberships_access AFTER INSERT OR UPDATE OR DELETE ON memberships
    FOR EACH ROW EXECUTE FUNCTION ums_access_member_changed();
--bun:split
CREATE TRIGGER grants_access AFTER INSERT OR UPDATE OR DELETE ON grants
    FOR EACH ROW EXECUTE FUNCTION ums_access_member_changed();
--bun:split
CREATE TRIGGER users_access_created_or_deleted AFTER INSERT OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION ums_access_account_changed();
--bun:split
-- Logins, profile and password writes leave the stamp alone.
CREATE TRIGGER users_access_changed AFTER UPDATE OF id, is_active, is_system_admin ON users
    FOR EACH ROW WHEN (OLD.is_active IS DISTINCT FROM NEW.is_active
        OR OLD.is_system_admin IS DISTINCT FROM NEW.is_system_admin OR OLD.id IS DISTINCT FROM NEW.id)
    EXECUTE FUNCTION ums_access_account_changed();
--bun:split
-- One bump per statement: a role's permissions are replaced in bulk.
CREATE TRIGGER organizations_access AFTER INSERT OR DELETE OR UPDATE OF id, name, slug, is_active ON organizations
    FOR EACH STATEMENT EXECUTE FUNCTION ums_access_global_changed();
--bun:split
CREATE TRIGGER permissions_access AFTER INSERT OR DELETE OR UPDATE OF id, name, is_active ON permissions
    FOR EACH STATEMENT EXECUTE FUNCTION ums_access_global_changed();
--bun:split
CREATE TRIGGER role_permissions_access AFTER INSERT OR UPDATE OR DELETE ON role_permissions
    FOR EACH STATEMENT EXECUTE FUNCTION ums_access_global_changed();

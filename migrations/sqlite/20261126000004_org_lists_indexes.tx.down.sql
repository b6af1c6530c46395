DROP INDEX grants_org_created_idx;
--bun:split
DROP INDEX memberships_org_created_idx;
--bun:split
DROP INDEX organizations_created_at_idx;

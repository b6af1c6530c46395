-- Keyset pages of organizations, of an organization's members and of its
-- grants read these indexes in order instead of sorting the whole table.
CREATE INDEX organizations_created_at_idx ON organizations (created_at, id);
--bun:split
CREATE INDEX memberships_org_created_idx ON memberships (org_id, created_at, user_id);
--bun:split
CREATE INDEX grants_org_created_idx ON grants (org_id, created_at, id);

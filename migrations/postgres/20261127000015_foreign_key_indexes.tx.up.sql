-- Deleting or re-keying a referenced row (erasing a user, deleting a
-- permission or an organization) looks up every referencing row; without
-- an index leading with the foreign key's column that is a scan of the
-- whole table, under the delete's locks. Nullable references are indexed
-- where set: the lookups are by value, never for NULL.
CREATE INDEX grants_granted_by_idx ON grants (granted_by) WHERE granted_by IS NOT NULL;
--bun:split
CREATE INDEX grants_permission_idx ON grants (permission_id);
--bun:split
CREATE INDEX role_permissions_permission_idx ON role_permissions (permission_id);
--bun:split
CREATE INDEX org_invitations_accepted_by_idx ON org_invitations (accepted_by) WHERE accepted_by IS NOT NULL;
--bun:split
CREATE INDEX org_invitations_invited_by_idx ON org_invitations (invited_by) WHERE invited_by IS NOT NULL;
--bun:split
-- Erasure deletes, and the export lists, the invitations to an address.
CREATE INDEX org_invitations_email_idx ON org_invitations (lower(email));
--bun:split
CREATE INDEX personal_access_tokens_org_idx ON personal_access_tokens (org_id) WHERE org_id IS NOT NULL;
--bun:split
CREATE INDEX service_accounts_created_by_idx ON service_accounts (created_by) WHERE created_by IS NOT NULL;
--bun:split
CREATE INDEX webhook_endpoints_created_by_idx ON webhook_endpoints (created_by) WHERE created_by IS NOT NULL;

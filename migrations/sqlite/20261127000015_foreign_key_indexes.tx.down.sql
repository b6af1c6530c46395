DROP INDEX webhook_endpoints_created_by_idx;
--bun:split
DROP INDEX service_accounts_created_by_idx;
--bun:split
DROP INDEX personal_access_tokens_org_idx;
--bun:split
DROP INDEX org_invitations_email_idx;
--bun:split
DROP INDEX org_invitations_invited_by_idx;
--bun:split
DROP INDEX org_invitations_accepted_by_idx;
--bun:split
DROP INDEX role_permissions_permission_idx;
--bun:split
DROP INDEX grants_permission_idx;
--bun:split
DROP INDEX grants_granted_by_idx;

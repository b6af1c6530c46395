DROP INDEX IF EXISTS users_username_sort_idx;
--bun:split
DROP INDEX IF EXISTS users_email_sort_idx;
--bun:split
DROP INDEX IF EXISTS audit_events_action_idx;

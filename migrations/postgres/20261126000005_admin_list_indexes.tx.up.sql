-- Admin lists: the audit trail filtered by action, newest first, and the
-- user list sorted by email or username, each with the id that makes the
-- keyset order total. created_at sorts use users_created_at_idx; the other
-- audit filters use the indexes of the initial schema.
CREATE INDEX audit_events_action_idx ON audit_events (action, occurred_at DESC, id DESC);
--bun:split
CREATE INDEX users_email_sort_idx ON users (lower(email), id);
--bun:split
CREATE INDEX users_username_sort_idx ON users (lower(username), id);

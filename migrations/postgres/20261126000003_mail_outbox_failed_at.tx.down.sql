DROP INDEX mail_outbox_pending_idx;
--bun:split
CREATE INDEX mail_outbox_pending_idx ON mail_outbox (next_attempt_at) WHERE sent_at IS NULL;
--bun:split
ALTER TABLE mail_outbox DROP COLUMN failed_at;

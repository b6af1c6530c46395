-- A message the outbox gave up on (a permanent failure or too many
-- attempts) is marked failed and never claimed again.
ALTER TABLE mail_outbox ADD COLUMN failed_at timestamp;
--bun:split
DROP INDEX mail_outbox_pending_idx;
--bun:split
CREATE INDEX mail_outbox_pending_idx ON mail_outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;

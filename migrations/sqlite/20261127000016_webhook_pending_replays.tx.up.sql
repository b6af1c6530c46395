-- At most one pending delivery per endpoint and message: a replay waits
-- until the last one finished, so replays cannot flood the delivery queue
-- every endpoint shares. Fan-out adds one delivery per message and
-- endpoint, so only replays meet the index (AddDeliveries answers
-- replay_pending). Pending duplicates left by earlier replays are closed
-- first, keeping the oldest, which still sends the message.
UPDATE webhook_deliveries AS d
SET status = 'failed', finished_at = COALESCE(d.last_attempt_at, d.created_at),
    last_error = 'superseded: an older delivery of this message to this endpoint was pending'
WHERE d.status = 'pending' AND EXISTS (
    SELECT 1 FROM webhook_deliveries o
    WHERE o.endpoint_id = d.endpoint_id AND o.message_id = d.message_id AND o.status = 'pending'
      AND (o.created_at < d.created_at OR (o.created_at = d.created_at AND o.id < d.id))
);
--bun:split
CREATE UNIQUE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (endpoint_id, message_id) WHERE status = 'pending';

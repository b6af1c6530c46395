-- Webhooks (Standard Webhooks): endpoints that receive signed events, the
-- outbox of events written in the transaction of the change they report,
-- and one delivery per event and endpoint with its retry state and log.
CREATE TABLE webhook_endpoints (
    id                         text PRIMARY KEY,
    -- NULL: a system endpoint, receiving every event
    org_id                     text REFERENCES organizations (id) ON DELETE CASCADE,
    url                        text NOT NULL,
    description                text NOT NULL DEFAULT '',
    -- event types sent; [] means every type
    events                     text NOT NULL DEFAULT '[]',
    enabled                    boolean NOT NULL DEFAULT 1,
    disabled_reason            text CHECK (disabled_reason IN ('manual', 'failing')),
    -- first failed delivery since the last success
    failing_since              timestamp,
    -- signing secrets, sealed with the key-encryption key (base64)
    secret                     text NOT NULL,
    previous_secret            text,
    previous_secret_expires_at timestamp,
    created_by                 text REFERENCES users (id) ON DELETE SET NULL,
    created_at                 timestamp NOT NULL,
    updated_at                 timestamp NOT NULL
);
--bun:split
CREATE INDEX webhook_endpoints_org_idx ON webhook_endpoints (org_id, created_at, id);
--bun:split
-- One event; payload is the exact JSON body the signatures cover.
CREATE TABLE webhook_messages (
    id            text PRIMARY KEY,
    event_type    text NOT NULL,
    org_id        text,
    payload       text NOT NULL,
    created_at    timestamp NOT NULL,
    fanned_out_at timestamp
);
--bun:split
CREATE INDEX webhook_messages_waiting_idx ON webhook_messages (created_at, id) WHERE fanned_out_at IS NULL;
--bun:split
CREATE INDEX webhook_messages_created_idx ON webhook_messages (created_at);
--bun:split
CREATE TABLE webhook_deliveries (
    id              text PRIMARY KEY,
    endpoint_id     text NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    message_id      text NOT NULL REFERENCES webhook_messages (id) ON DELETE CASCADE,
    event_type      text NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamp NOT NULL,
    last_attempt_at timestamp,
    last_status     integer,
    last_error      text,
    replay_of       text,
    created_at      timestamp NOT NULL,
    finished_at     timestamp
);
--bun:split
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (next_attempt_at, id) WHERE status = 'pending';
--bun:split
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, created_at, id);
--bun:split
CREATE INDEX webhook_deliveries_message_idx ON webhook_deliveries (message_id);

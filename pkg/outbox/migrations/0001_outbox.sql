-- The transactional outbox: an event row commits with the state change that
-- caused it; the relay publishes and deletes it. id orders publication.
CREATE TABLE outbox (
    id         bigserial PRIMARY KEY,
    event_id   text NOT NULL,
    subject    text NOT NULL,
    data       bytea NOT NULL,
    headers    jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);

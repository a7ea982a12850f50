-- Event ids each durable consumer has handled. The runner inserts the row in
-- the same transaction as the handler's changes, so "handled" and "changed"
-- commit together; a redelivered event already here is acked, not handled.
CREATE TABLE consumer_handled (
    consumer   text NOT NULL,
    event_id   text NOT NULL,
    handled_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- Pruning deletes by age once an event can no longer be redelivered.
CREATE INDEX consumer_handled_pruning ON consumer_handled (consumer, handled_at);

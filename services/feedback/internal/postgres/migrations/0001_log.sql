-- feedback's event log and the views derived from it. The log is the
-- source of truth: every view can be dropped and rebuilt from it.

-- Every event feedback handled or wrote, as stored envelopes. seq orders
-- the log (the WatchCaseUpdates cursor); event_id dedupes.
CREATE TABLE events (
    seq         bigserial PRIMARY KEY,
    event_id    text NOT NULL UNIQUE,
    case_id     text NOT NULL,
    type        text NOT NULL,
    occurred_at timestamptz NOT NULL,
    envelope    bytea NOT NULL
);

CREATE INDEX events_case ON events (case_id, seq);

-- Idempotent writes: (principal, request_id) → what the first one did.
CREATE TABLE requests (
    principal  text NOT NULL,
    request_id text NOT NULL,
    hash       text NOT NULL,
    outcome    text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (principal, request_id)
);

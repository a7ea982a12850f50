-- Durable timers. A row is one pending timer; firing deletes it in the same
-- transaction as the handler's effects, so a timer fires once. (kind, key)
-- names it: scheduling the same pair again moves it rather than adding one.
-- id changes on every (re)schedule, so a worker deleting the row it fired
-- never deletes a newer schedule made meanwhile (e.g. by its own handler).
CREATE TABLE timers (
    id         bigserial PRIMARY KEY,
    kind       text NOT NULL,
    key        text NOT NULL,
    due_at     timestamptz NOT NULL,
    payload    bytea NOT NULL DEFAULT '',
    attempts   int NOT NULL DEFAULT 0,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (kind, key)
);

-- Workers claim the earliest due rows and ask for the next due time.
CREATE INDEX timers_due_at ON timers (due_at);

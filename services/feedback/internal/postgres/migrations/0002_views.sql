-- The views derived from the log (0001). Dropping them and running this
-- migration again, then Service.Rebuild, restores them exactly.

-- One row per case: the projected view whole in body, and the columns that
-- queries filter and order on.
CREATE TABLE cases (
    case_id          text PRIMARY KEY,
    case_number      text NOT NULL DEFAULT '',
    hotline_order_no text NOT NULL DEFAULT '',
    state            text NOT NULL,
    source           text NOT NULL DEFAULT '',
    district_code    text NOT NULL DEFAULT '',
    street_code      text NOT NULL DEFAULT '',
    community_code   text NOT NULL DEFAULT '',
    grid_code        text NOT NULL DEFAULT '',
    item_code        text NOT NULL DEFAULT '',
    lead_department  text NOT NULL DEFAULT '',
    departments      text[] NOT NULL DEFAULT '{}',
    primary_case_id  text NOT NULL DEFAULT '',
    excluded         boolean NOT NULL DEFAULT false,
    worker           text NOT NULL DEFAULT '', -- a patrol case's reporter (0005)
    received_at      timestamptz,
    updated_at       timestamptz,
    body             jsonb NOT NULL
);

CREATE INDEX cases_number ON cases (case_number) WHERE case_number <> '';
CREATE INDEX cases_order_no ON cases (hotline_order_no) WHERE hotline_order_no <> '';
CREATE INDEX cases_received ON cases (received_at DESC, case_id DESC);
CREATE INDEX cases_primary ON cases (primary_case_id) WHERE primary_case_id <> '';

-- Replies composed for cases (the hotline's ListReplies).
CREATE TABLE replies (
    reply_id   text PRIMARY KEY,
    case_id    text NOT NULL,
    round      int NOT NULL,
    replied_at timestamptz NOT NULL,
    body       jsonb NOT NULL
);

CREATE INDEX replies_case ON replies (case_id, replied_at);
CREATE INDEX replies_time ON replies (replied_at, reply_id);

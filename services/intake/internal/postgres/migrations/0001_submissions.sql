-- Submissions as intake received them. One row per case; the idempotency key
-- is (principal, request_id), and for the hotline its order number.
CREATE SEQUENCE case_number_seq;

CREATE TABLE submissions (
    case_id          uuid PRIMARY KEY,
    case_number      text NOT NULL UNIQUE,
    source           text NOT NULL,
    principal        text NOT NULL,
    request_id       text NOT NULL,
    request_hash     text NOT NULL,
    hotline_order_no text,
    accepted_at      timestamptz NOT NULL,
    district_code    text NOT NULL,
    street_code      text NOT NULL,
    community_code   text NOT NULL,
    grid_code        text NOT NULL,
    -- withdrawn: the hotline's 撤单; closed: feedback closed the case. Both
    -- refuse further follow-ups and are authoritative over body.
    withdrawn        boolean NOT NULL DEFAULT false,
    closed           boolean NOT NULL DEFAULT false,
    -- json, not jsonb: stored as written, never queried inside, and jsonb's
    -- conversion was a measurable share of the CPU per submission.
    body             json NOT NULL,
    UNIQUE (principal, request_id)
);

CREATE UNIQUE INDEX submissions_hotline_order_no ON submissions (hotline_order_no) WHERE hotline_order_no IS NOT NULL;
-- Every index costs each submission a btree insert; keep only what queries
-- use: the keyset listing (newest first) and a street's listing.
CREATE INDEX submissions_area ON submissions (district_code, street_code, accepted_at DESC, case_id DESC);

CREATE INDEX submissions_listing ON submissions (accepted_at DESC, case_id DESC);

-- Follow-ups (补充, 催单, 撤单) the hotline adds to a case.
CREATE TABLE follow_ups (
    follow_up_id uuid PRIMARY KEY,
    case_id      uuid NOT NULL REFERENCES submissions (case_id),
    kind         text NOT NULL,
    text         text NOT NULL,
    added_at     timestamptz NOT NULL,
    principal    text NOT NULL,
    request_id   text NOT NULL,
    request_hash text NOT NULL,
    UNIQUE (principal, request_id)
);

CREATE INDEX follow_ups_case ON follow_ups (case_id, added_at);

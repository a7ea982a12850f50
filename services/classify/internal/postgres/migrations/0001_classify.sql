-- classify's state. Each record is kept whole in body (the domain's Record,
-- Incident … as JSON); the columns beside it are what queries select and
-- order on.

-- One row per case classify has seen (case.received or case.answered).
CREATE TABLE cases (
    case_id       text PRIMARY KEY,
    case_number   text NOT NULL,
    district_code text NOT NULL,
    street_code   text NOT NULL,
    -- NULL: never in review; waiting, timed_out, resolved.
    review_state  text,
    queued_at     timestamptz,
    version       int NOT NULL DEFAULT 0,
    item_code     text,
    incident_id   text,
    received_at   timestamptz NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    body          jsonb NOT NULL
);

CREATE INDEX cases_review_queue ON cases (queued_at, case_id) WHERE review_state IS NOT NULL;

-- Every classification version of a case (case.classified carried each).
CREATE TABLE classifications (
    case_id       text NOT NULL REFERENCES cases (case_id),
    version       int NOT NULL,
    item_code     text NOT NULL,
    classified_at timestamptz NOT NULL,
    body          jsonb NOT NULL,
    PRIMARY KEY (case_id, version)
);

-- Incidents: several reports of one subject at one place (subject: the
-- item, or the items of both trees that share a name or synonym). site is
-- district|place|lane of the address key ('' without one); cell_i/cell_j the
-- ~150 m cell of its point (NULL without one). Grouping looks up by site or
-- by cell within a time range, then decides in Go.
CREATE TABLE incidents (
    incident_id     text PRIMARY KEY,
    item_code       text NOT NULL,
    subject         text NOT NULL,
    site            text NOT NULL,
    cell_i          bigint,
    cell_j          bigint,
    first_at        timestamptz NOT NULL,
    last_at         timestamptz NOT NULL,
    reports         int NOT NULL,
    district_code   text NOT NULL,
    street_code     text NOT NULL,
    source_place_id text,
    body            jsonb NOT NULL
);

CREATE INDEX incidents_site ON incidents (site, last_at) WHERE site <> '';
CREATE INDEX incidents_cell ON incidents (cell_i, cell_j, last_at) WHERE cell_i IS NOT NULL;
CREATE INDEX incidents_listing ON incidents (last_at DESC, incident_id);

-- Source places (归因): one place several incidents of different items are
-- linked to.
CREATE TABLE source_places (
    source_place_id text PRIMARY KEY,
    created_at      timestamptz NOT NULL,
    body            jsonb NOT NULL
);

-- Dispatchers' corrections, kept as labelled examples for training.
CREATE TABLE corrections (
    id           bigserial PRIMARY KEY,
    case_id      text NOT NULL,
    corrected_at timestamptz NOT NULL,
    body         jsonb NOT NULL
);

CREATE INDEX corrections_at ON corrections (corrected_at, id);

-- Idempotent writes: (principal, request_id) → the classification version
-- the first request wrote.
CREATE TABLE requests (
    principal    text NOT NULL,
    request_id   text NOT NULL,
    request_hash text NOT NULL,
    case_id      text NOT NULL,
    version      int NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (principal, request_id)
);

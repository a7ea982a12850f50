-- Dispatch's cases and tasks. A case row is the aggregate's lock: every
-- change to a case or its tasks takes it FOR UPDATE, so consumers, the
-- clock and people acting at once are serialised per case. Bodies are the
-- domain's JSON; the columns beside them are what queries filter on.
CREATE TABLE cases (
    case_id        uuid PRIMARY KEY,
    case_number    text NOT NULL DEFAULT '',
    district       text NOT NULL DEFAULT '',
    street         text NOT NULL DEFAULT '',
    status         text NOT NULL,
    -- Waiting for a dispatcher: in the dispatch queue, or in arbitration.
    queued_at      timestamptz,
    arbitration_at timestamptz,
    body           jsonb NOT NULL,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);

CREATE INDEX cases_queue ON cases (queued_at, case_id) WHERE queued_at IS NOT NULL;
CREATE INDEX cases_arbitration ON cases (arbitration_at, case_id) WHERE arbitration_at IS NOT NULL;
CREATE INDEX cases_area ON cases (district, street);

CREATE TABLE tasks (
    task_id    uuid PRIMARY KEY,
    case_id    uuid NOT NULL REFERENCES cases (case_id),
    department text NOT NULL,
    state      text NOT NULL,
    updated_at timestamptz NOT NULL,
    body       jsonb NOT NULL
);

CREATE INDEX tasks_case ON tasks (case_id);
CREATE INDEX tasks_department ON tasks (department, updated_at DESC, task_id DESC);
CREATE INDEX tasks_listing ON tasks (updated_at DESC, task_id DESC);

-- Write requests by (principal, request id) with their first result: a
-- repeat returns it; the same id with other content is refused.
CREATE TABLE requests (
    principal    text NOT NULL,
    request_id   text NOT NULL,
    method       text NOT NULL,
    request_hash text NOT NULL,
    result       jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (principal, request_id)
);

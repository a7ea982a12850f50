-- Narrow views the figures are aggregated from in SQL (GetMetrics,
-- GetPareto, GetHotspots), so that no query loads a period's cases into
-- memory. SaveCase writes them with the case's view from feedback.Facts;
-- like every view they are emptied and rebuilt from the log by Rebuild.
-- A database migrated before this file needs `feedback rebuild` once.

-- One row per case with a receipt time (figures count cases by when they
-- were received). cb_* count the case's callbacks: cb_valid those that
-- reached the citizen (counted as excluded when the case is), cb_contacted,
-- cb_solved, cb_satisfied and cb_basic among them.
CREATE TABLE figure_cases (
    case_id         text PRIMARY KEY,
    received_at     timestamptz NOT NULL,
    district_code   text NOT NULL,
    street_code     text NOT NULL,
    community_code  text NOT NULL,
    grid_code       text NOT NULL,
    source          text NOT NULL,
    place           text NOT NULL, -- the hotspot key: place key, else grid
    item_code       text NOT NULL,
    item_name       text NOT NULL,
    lead_department text NOT NULL,
    excluded        boolean NOT NULL,
    closed          boolean NOT NULL,
    reworked        boolean NOT NULL,
    cb_valid        int NOT NULL,
    cb_unreached    int NOT NULL,
    cb_contacted    int NOT NULL,
    cb_solved       int NOT NULL,
    cb_satisfied    int NOT NULL,
    cb_basic        int NOT NULL,
    -- The three lists (issue 20; 0010 adds them to a database made before).
    appeal_type     text NOT NULL DEFAULT '',
    self_disposed   boolean NOT NULL DEFAULT false
);

CREATE INDEX figure_cases_received ON figure_cases (received_at);
CREATE INDEX figure_cases_district ON figure_cases (district_code, received_at);
CREATE INDEX figure_cases_street ON figure_cases (street_code, received_at);
CREATE INDEX figure_cases_community ON figure_cases (community_code, received_at);
CREATE INDEX figure_cases_grid ON figure_cases (grid_code, received_at);

-- One row per task of those cases, with its case's area, receipt time and
-- exclusion. Durations are in nanoseconds (NULL: no such time).
CREATE TABLE figure_tasks (
    case_id       text NOT NULL,
    task_id       text NOT NULL,
    department    text NOT NULL,
    received_at   timestamptz NOT NULL,
    district_code text NOT NULL,
    street_code   text NOT NULL,
    grid_code     text NOT NULL,
    excluded      boolean NOT NULL,
    counted       boolean NOT NULL, -- not rejected, forwarded or withdrawn
    done          boolean NOT NULL,
    on_time       boolean NOT NULL,
    extended      boolean NOT NULL,
    complete_due  timestamptz,
    sign_ns       bigint,
    complete_ns   bigint,
    PRIMARY KEY (case_id, task_id)
);

CREATE INDEX figure_tasks_received ON figure_tasks (received_at);
CREATE INDEX figure_tasks_department ON figure_tasks (department, received_at);
CREATE INDEX figure_tasks_district ON figure_tasks (district_code, received_at);
CREATE INDEX figure_tasks_street ON figure_tasks (street_code, received_at);
CREATE INDEX figure_tasks_grid ON figure_tasks (grid_code, received_at);

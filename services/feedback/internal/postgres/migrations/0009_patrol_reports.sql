-- Self-disposal (issue 20): one row per patrol case, the view 自处率 and
-- the grid leader's list are computed from in SQL. self_disposed: the worker
-- settled it on the spot; verdict: '' while it waits for the leader's check,
-- then confirmed or sent_back. Like every view it is emptied and rebuilt
-- from the log by Rebuild; a database migrated before this file needs
-- `feedback rebuild` once for its earlier patrol reports to count.
CREATE TABLE patrol_reports (
    case_id        text PRIMARY KEY,
    received_at    timestamptz NOT NULL,
    district_code  text NOT NULL,
    street_code    text NOT NULL,
    community_code text NOT NULL,
    grid_code      text NOT NULL,
    worker         text NOT NULL,
    self_disposed  boolean NOT NULL,
    verdict        text NOT NULL
);

CREATE INDEX patrol_reports_received ON patrol_reports (received_at);
CREATE INDEX patrol_reports_grid ON patrol_reports (grid_code, received_at);
CREATE INDEX patrol_reports_pending ON patrol_reports (received_at, case_id) WHERE self_disposed AND verdict = '';

-- The three lists and the month's figures (issue 20).

-- The problem list and the needs list count cases by appeal type (the
-- 建议/求助 cases are requests for a service category); the month's figures
-- count self-disposals. Written by SaveCase with the other figure columns;
-- a database with cases from before needs `feedback rebuild` once.
ALTER TABLE figure_cases ADD COLUMN IF NOT EXISTS appeal_type text NOT NULL DEFAULT '';
ALTER TABLE figure_cases ADD COLUMN IF NOT EXISTS self_disposed boolean NOT NULL DEFAULT false;

-- Needs surveys, aggregated on import: no household's answers are kept.
-- survey_id is the import's idempotency key: hash is the content's, and a
-- second import with the same hash returns the first result.
CREATE TABLE needs_surveys (
    survey_id   text PRIMARY KEY,
    title       text NOT NULL,
    principal   text NOT NULL,
    hash        text NOT NULL,
    answers     int NOT NULL,
    households  int NOT NULL,
    communities int NOT NULL,
    imported_at timestamptz NOT NULL
);

-- Households surveyed per community.
CREATE TABLE needs_households (
    survey_id      text NOT NULL REFERENCES needs_surveys ON DELETE CASCADE,
    community_code text NOT NULL,
    households     int NOT NULL,
    PRIMARY KEY (survey_id, community_code)
);

CREATE INDEX needs_households_community ON needs_households (community_code);

-- Households per community × category × need level (0 无 … 3 高).
CREATE TABLE needs_counts (
    survey_id      text NOT NULL REFERENCES needs_surveys ON DELETE CASCADE,
    community_code text NOT NULL,
    category       text NOT NULL,
    level          smallint NOT NULL CHECK (level BETWEEN 0 AND 3),
    households     int NOT NULL,
    PRIMARY KEY (survey_id, community_code, category, level)
);

-- Inspections per grid and month (Asia/Shanghai), from dispatch's
-- InspectionRecorded (by its done time) and InspectionMissed (by its due
-- time), consumed by feedback-inspections. Not a view of the case log:
-- `feedback rebuild` leaves it alone.
CREATE TABLE inspection_counts (
    grid_code      text NOT NULL,
    month          date NOT NULL,
    district_code  text NOT NULL,
    street_code    text NOT NULL,
    community_code text NOT NULL,
    done           int NOT NULL DEFAULT 0,
    on_time        int NOT NULL DEFAULT 0,
    missed         int NOT NULL DEFAULT 0,
    PRIMARY KEY (grid_code, month)
);

CREATE INDEX inspection_counts_community ON inspection_counts (community_code, month);

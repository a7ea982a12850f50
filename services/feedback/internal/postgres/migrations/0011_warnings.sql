-- Early warning (海因里希, issue 20): the warnings feedback raises when a
-- place or a subject of a street rises against its own baseline
-- (internal/warning). A warning is its key and window: warning_id is derived
-- from them and (kind, street_code, key, window_start) is unique, so two
-- evaluators never make two. reasons is the count, baseline mean, rise,
-- cases and rule of its last raising (JSON with explicit tags).
CREATE TABLE warnings (
    warning_id     text PRIMARY KEY,
    kind           text NOT NULL CHECK (kind IN ('place', 'subject')),
    district_code  text NOT NULL,
    street_code    text NOT NULL,
    key            text NOT NULL,
    label          text NOT NULL,
    window_start   timestamptz NOT NULL,
    window_end     timestamptz NOT NULL,
    state          text NOT NULL CHECK (state IN ('raised', 'acknowledged', 'dismissed')),
    level          int NOT NULL,
    raised_at      timestamptz NOT NULL,
    reasons        jsonb NOT NULL,
    acted_by       text NOT NULL DEFAULT '',
    acted_at       timestamptz,
    note           text NOT NULL DEFAULT '',
    dismissed_rise double precision NOT NULL DEFAULT 0,
    UNIQUE (kind, street_code, key, window_start)
);

CREATE INDEX warnings_raised ON warnings (raised_at DESC, warning_id DESC);
CREATE INDEX warnings_street ON warnings (street_code, raised_at DESC, warning_id DESC);

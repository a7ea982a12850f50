-- Every load of reference data by a running service (pkg/reloadlog): the set
-- it started with and each reload after, with who asked, the digests before
-- and after and the outcome. Kept: a few rows a day at most, and the trail a
-- city needs to tell which rules decided a case.
CREATE TABLE reference_reloads (
    id        bigserial PRIMARY KEY,
    service   text NOT NULL,
    -- host:pid of the process; replicas share the schema.
    instance  text NOT NULL,
    at        timestamptz NOT NULL DEFAULT now(),
    by_whom   text NOT NULL,
    digest    text NOT NULL,
    previous  text NOT NULL DEFAULT '',
    outcome   text NOT NULL CHECK (outcome IN ('started', 'reloaded', 'unchanged', 'failed')),
    error     text NOT NULL DEFAULT ''
);

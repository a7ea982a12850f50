-- Write requests made idempotent (pkg/idempotency), one row per
-- (principal, request_id): the first request's method, a fingerprint of its
-- content, and what it answered. The row is written in the same transaction
-- as the change the request made, so "applied" and "recorded" commit
-- together; a repeat with the same method and content gets result back, any
-- other use of the id is ALREADY_EXISTS naming resource.
CREATE TABLE idempotency_requests (
    principal    text NOT NULL,
    request_id   text NOT NULL,
    method       text NOT NULL,
    -- SHA-256 over the method and the content's JSON (idempotency.NewRequest).
    request_hash bytea NOT NULL,
    -- What the first request made or changed, e.g. tasks/<id>; named in
    -- ALREADY_EXISTS.
    resource     text NOT NULL,
    -- The first result, encoded as the owning service documents it.
    result       bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (principal, request_id)
);

-- Pruning deletes by age (idempotency.Prune).
CREATE INDEX idempotency_requests_created ON idempotency_requests (created_at);

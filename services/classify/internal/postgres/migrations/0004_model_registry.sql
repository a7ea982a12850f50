-- The model registry: every model classify was asked to serve, what it was
-- trained on, its figures on the held-out slice and what the promotion gate
-- decided. One row per model version; exactly one is live, the one every
-- replica serves (its encoded form is kept so a replica can load it without
-- the file). Refused and retired models keep their figures, not their bytes.
CREATE TABLE models (
    version         text PRIMARY KEY,
    origin          text NOT NULL,
    labels          int NOT NULL,
    trained_at      timestamptz NOT NULL,
    examples        int NOT NULL,
    data_sha256     text NOT NULL,
    sources         jsonb NOT NULL DEFAULT '[]',
    cv_accuracy     double precision NOT NULL,
    cv_macro_f1     double precision NOT NULL,
    figures         jsonb,
    against         jsonb,
    against_version text NOT NULL DEFAULT '',
    state           text NOT NULL CHECK (state IN ('live', 'retired', 'refused')),
    reason          text NOT NULL DEFAULT '',
    decided_by      text NOT NULL,
    decided_at      timestamptz NOT NULL,
    live_by         text NOT NULL DEFAULT '',
    live_at         timestamptz,
    payload         bytea,
    seq             bigserial NOT NULL UNIQUE,
    CHECK (state <> 'live' OR payload IS NOT NULL)
);

-- One live model, enforced by the database rather than by care.
CREATE UNIQUE INDEX models_one_live ON models ((true)) WHERE state = 'live';

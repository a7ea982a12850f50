-- Open311 api_keys (issue 19): the SHA-256 of each key, never the key.
CREATE TABLE open311_keys (
    key_id     text PRIMARY KEY,
    name       text NOT NULL,
    key_hash   bytea NOT NULL UNIQUE,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
);

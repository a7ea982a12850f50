-- People's accounts, sign-in failures and sessions: identity, not domain state.
CREATE TABLE accounts (
    person_id     text PRIMARY KEY,
    name          text NOT NULL,
    principal     text NOT NULL CHECK (principal <> '' AND principal NOT LIKE 'system%'),
    password_hash text NOT NULL,
    enabled       boolean NOT NULL DEFAULT true,
    updated_by    text NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);

-- Failures are counted per submitted name, whether an account has it or
-- not, so a lockout says nothing about which names exist.
CREATE TABLE sign_in_failures (
    name         text PRIMARY KEY,
    failures     int NOT NULL,
    last_failure timestamptz NOT NULL,
    locked_until timestamptz
);

-- Only the SHA-256 of a session's cookie value is stored.
CREATE TABLE sessions (
    id_hash    bytea PRIMARY KEY,
    person_id  text NOT NULL REFERENCES accounts (person_id) ON DELETE CASCADE,
    csrf       text NOT NULL,
    created_at timestamptz NOT NULL,
    last_seen  timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_person ON sessions (person_id);
CREATE INDEX sessions_last_seen ON sessions (last_seen);

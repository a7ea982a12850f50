-- Uploaded photos and evidence (issue 19): the bytes and what the door
-- learned about them. An S3 bucket or MinIO holds the same (key, content
-- type, metadata, body) when the console is configured with one.
CREATE TABLE objects (
    key          text PRIMARY KEY,
    content_type text NOT NULL,
    size         bigint NOT NULL CHECK (size >= 0),
    sha256       bytea NOT NULL,
    -- The uploader, the name it gave and the like, as S3's x-amz-meta-*.
    meta         jsonb NOT NULL DEFAULT '{}',
    body         bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);

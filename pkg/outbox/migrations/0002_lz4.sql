-- A row lives here for milliseconds, yet PostgreSQL's default compression
-- (pglz) of payloads over 2 kB cost a fifth of the database's CPU under load;
-- lz4 does the same job several times faster. A server built without lz4
-- keeps pglz.
DO $$
BEGIN
    ALTER TABLE outbox ALTER COLUMN data SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'lz4 not available; the outbox keeps pglz';
END $$;

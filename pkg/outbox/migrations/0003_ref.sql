-- An event that restates a row its transaction wrote can be stored by
-- reference (ref) instead of carrying its payload twice: the relay publishes
-- it from memory, or, after a crash, rebuilds it from ref.
ALTER TABLE outbox ALTER COLUMN data DROP NOT NULL;
ALTER TABLE outbox ADD COLUMN ref text;
ALTER TABLE outbox ADD CONSTRAINT outbox_data_or_ref CHECK (data IS NOT NULL OR ref IS NOT NULL);

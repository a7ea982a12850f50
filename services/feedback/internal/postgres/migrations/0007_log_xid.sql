-- The transaction that wrote each event (issue 17). seq is drawn when a row
-- is inserted, not when it commits: with several transactions at once a
-- lower seq can become visible after a higher one, and a watcher reading
-- `seq > last` would step over it for good. Watchers read the log in
-- (xid, seq) order and only below the oldest transaction still running
-- (pg_snapshot_xmin): every row there is final, and no row can later
-- appear before what they have read. Rows written before this column
-- existed take the migration's own transaction, after every earlier one.
ALTER TABLE events ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id();

CREATE INDEX events_xid ON events (xid, seq);

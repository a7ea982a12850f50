-- The grid worker who reported a patrol case, so that a worker's scope
-- (pkg/policy: its own reports and their re-checks) filters cases in SQL.
-- The views' own file (0002) has the column too, so that dropping the views
-- and running it again keeps them whole; here it reaches a database made
-- before. Such a database needs `feedback rebuild` once: until then a
-- worker's earlier reports name no reporter and are not listed to it.
ALTER TABLE cases ADD COLUMN IF NOT EXISTS worker text NOT NULL DEFAULT '';

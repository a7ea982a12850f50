-- The console's live queue at 100,000 cases (issue 18, make bench-console).
-- ListCases walks cases_list_order (0008) and filters as it goes, which
-- stops at once for a common filter but reads nearly the whole table for a
-- rare one. Measured with 100,661 cases stored through the pipeline, a
-- district dispatcher's first page (EXPLAIN ANALYZE, BUFFERS):
--   state = merged (1 % of cases)        911 ms, 91,474 rows filtered out
--   item_code = H01010 (one case)        222 ms, a parallel sequential scan
--   starts_with(item_code, 'H01')        208 ms, 88,394 rows filtered out
--   a department among departments       295 ms, a parallel sequential scan
-- The indexes below let the planner fetch a rare filter's few rows and sort
-- them (it keeps walking the order index for a common one):
--   state with the list's order: one state's newest cases straight from
--     the index (the list asks state = $1 for one state; with = ANY the
--     planner guessed, and after a burst — the newest cases all still
--     received — walked the order index past 55,721 cases for the 101
--     merged ones: 664 ms); several states through a bitmap scan of it;
--   item_code with the list's order: an item's newest cases straight from
--     the index; a class's (starts_with, a range under the C collation the
--     database uses) from its range;
--   departments (GIN): the list and a department's scope ask
--     departments @> ARRAY[code], which it answers.
CREATE INDEX IF NOT EXISTS cases_state_order ON cases (state, (coalesce(received_at, 'epoch')) DESC, case_id DESC);
CREATE INDEX IF NOT EXISTS cases_item_order ON cases (item_code, (coalesce(received_at, 'epoch')) DESC, case_id DESC);
CREATE INDEX IF NOT EXISTS cases_departments ON cases USING gin (departments);

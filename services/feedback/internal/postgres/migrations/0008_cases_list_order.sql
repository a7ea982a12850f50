-- ListCases (the console's live queue and cases page, gridctl) reads the
-- newest cases first within the caller's scope, ordered by
-- coalesce(received_at, 'epoch') DESC, case_id DESC; cases_received (0002)
-- is on received_at itself, which the planner cannot use for that order, so
-- every page sorted the whole scope. Measured with 68,191 cases: a street
-- dispatcher's first page 469 ms (a sequential scan and a top-N sort), 0.8 ms
-- with this index (an index scan stopping at the page).
CREATE INDEX IF NOT EXISTS cases_list_order ON cases ((coalesce(received_at, 'epoch')) DESC, case_id DESC);

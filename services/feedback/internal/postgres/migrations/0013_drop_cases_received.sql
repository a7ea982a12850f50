-- cases_received (0002) is on received_at itself. Since 0008 no query of
-- cases reads it: ListCases pages by coalesce(received_at, 'epoch') DESC,
-- case_id DESC (cases_list_order), and FiguresMissing's EXISTS stops at the
-- first row. It was still written: in a short make bench run (40/s) a case's
-- row was updated about 4.7 times per order and only 6 % of the updates were
-- HOT (its state, indexed for the lists, changes on most), so nearly every
-- one inserted into this index too (issue 17: one of the nine indexes of
-- cases).
DROP INDEX IF EXISTS cases_received;

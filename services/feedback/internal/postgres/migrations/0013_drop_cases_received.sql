-- cases_received (0002) is on received_at itself. Since 0008 no query of
-- cases reads it: ListCases pages by coalesce(received_at, 'epoch') DESC,
-- case_id DESC (cases_list_order), and FiguresMissing's EXISTS stops at the
-- first row. It was still written: a case's row is written about 4.5 times
-- per order in make bench and few of those writes are HOT (its state,
-- indexed for the lists, changes on most), so each of them inserted into
-- this index too (issue 17: one of the nine indexes of cases).
DROP INDEX IF EXISTS cases_received;

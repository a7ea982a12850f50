-- People look a case up by its case number or, for a hotline work order, by
-- the hotline's order number, not only by its id: both are indexed. Rows
-- from before this migration keep a NULL order number (case.received carried
-- it, but classify did not keep it).
ALTER TABLE cases ADD COLUMN hotline_order_no text;
UPDATE cases SET hotline_order_no = body->'Case'->>'HotlineOrderNo' WHERE body->'Case'->>'HotlineOrderNo' <> '';
CREATE INDEX cases_number ON cases (case_number);
CREATE INDEX cases_order_no ON cases (hotline_order_no) WHERE hotline_order_no IS NOT NULL;

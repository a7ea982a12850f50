-- People look a case up by its case number or, for a hotline work order, by
-- the hotline's order number, not only by its id (ListTasks' case filter,
-- SimulateRoute): both are kept as columns and indexed. The order number
-- comes with case.received; cases from before keep it in their body if the
-- facts had it, else ''.
ALTER TABLE cases ADD COLUMN hotline_order_no text NOT NULL DEFAULT '';
UPDATE cases SET hotline_order_no = body->'facts'->>'hotline_order_no' WHERE body->'facts'->>'hotline_order_no' <> '';
CREATE INDEX cases_number ON cases (case_number) WHERE case_number <> '';
CREATE INDEX cases_order_no ON cases (hotline_order_no) WHERE hotline_order_no <> '';

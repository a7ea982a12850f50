-- A work order's request id is its hotline order number, which its own
-- unique index already guards; the (principal, request_id) key need only
-- cover patrol reports and issues. One btree fewer to write per work order.
ALTER TABLE submissions DROP CONSTRAINT submissions_principal_request_id_key;
CREATE UNIQUE INDEX submissions_request ON submissions (principal, request_id) WHERE hotline_order_no IS NULL;

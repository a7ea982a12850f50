-- Idempotent requests move to pkg/idempotency's table (idempotency_requests,
-- created by its migration set, which runs before this one).
--
-- What maps: the key, the time and the outcome (the callback's or
-- re-check's id, stored now as {"id"} JSON). What does not: feedback
-- fingerprinted a request as SHA-256 over its printed fields, without the
-- method, and kept neither the method nor the case. The rows keep that old
-- hash under the method 'RecordCallback|RecordRecheck', which no request
-- matches, and name requests/<request id> as feedback did: an id used
-- before the upgrade stays used, so a callback is never recorded twice, but
-- a repeat made across the upgrade is answered ALREADY_EXISTS instead of
-- with its first outcome.
INSERT INTO idempotency_requests (principal, request_id, method, request_hash, resource, result, created_at)
SELECT principal, request_id, 'RecordCallback|RecordRecheck', decode(hash, 'hex'), 'requests/' || request_id,
       convert_to(json_build_object('id', outcome)::text, 'UTF8'), created_at
FROM requests;

DROP TABLE requests;

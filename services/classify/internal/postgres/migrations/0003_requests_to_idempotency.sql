-- Idempotent requests move to pkg/idempotency's table (idempotency_requests,
-- created by its migration set, which runs before this one).
--
-- What maps: the key, the time, the answer (the classification version the
-- request wrote or found, stored now as {"case_id","version"} JSON) and so
-- the resource ALREADY_EXISTS names. What does not: classify fingerprinted
-- a request as SHA-256 over the JSON of {Op, Decision}, without the method
-- apart, and which method a row was for is not kept. The rows keep that old
-- hash under the method 'ResolveReview|Reclassify', which no request
-- matches: an id used before the upgrade stays used, so it is never applied
-- twice, but a repeat made across the upgrade is answered ALREADY_EXISTS
-- (naming its version) instead of with its first answer.
-- (Numbered 0003: another branch adds 0002.)
INSERT INTO idempotency_requests (principal, request_id, method, request_hash, resource, result, created_at)
SELECT principal, request_id, 'ResolveReview|Reclassify', decode(request_hash, 'hex'),
       'cases/' || case_id || '/classifications/' || version,
       convert_to(json_build_object('case_id', case_id, 'version', version)::text, 'UTF8'), created_at
FROM requests;

DROP TABLE requests;

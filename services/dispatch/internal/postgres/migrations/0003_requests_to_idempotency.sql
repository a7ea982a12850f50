-- Idempotent requests move to pkg/idempotency's table (idempotency_requests,
-- created by its migration set, which runs before this one). Every row maps:
-- dispatch fingerprinted a request as SHA-256 over method, NUL and the
-- content's JSON, which is idempotency.NewRequest's fingerprint, and the
-- result stays dispatch.Result as JSON, so a repeat made across the upgrade
-- still gets its first result. The resource named in ALREADY_EXISTS is the
-- task the request changed, else its case, as the store names it now.
-- (Numbered 0003: another branch adds 0002.)
INSERT INTO idempotency_requests (principal, request_id, method, request_hash, resource, result, created_at)
SELECT principal, request_id, method, decode(request_hash, 'hex'),
       CASE WHEN result->'task'->>'id' IS NOT NULL THEN 'tasks/' || (result->'task'->>'id')
            WHEN result->'case'->>'id' IS NOT NULL THEN 'cases/' || (result->'case'->>'id')
            ELSE 'requests/' || request_id END,
       convert_to(result::text, 'UTF8'), created_at
FROM requests;

DROP TABLE requests;

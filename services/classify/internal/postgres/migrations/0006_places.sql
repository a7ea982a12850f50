-- Issue 20, places (以房管人): the place registry and the place history.

-- The register: one row per place, keyed by pkg/address's Key; body is the
-- domain's PlaceEntry. seq orders ListPlaces' pages.
CREATE TABLE places (
    place_key      text PRIMARY KEY,
    seq            bigserial NOT NULL UNIQUE,
    building_key   text NOT NULL,
    lane_key       text NOT NULL,
    kind           text NOT NULL,
    status         text NOT NULL,
    district_code  text NOT NULL,
    street_code    text NOT NULL,
    community_code text NOT NULL,
    grid_code      text NOT NULL,
    retired        boolean NOT NULL,
    version        bigint NOT NULL,
    updated_at     timestamptz NOT NULL,
    body           jsonb NOT NULL
);

CREATE INDEX places_building ON places (building_key);
CREATE INDEX places_lane ON places (lane_key);

-- Every version of a place: what it became, by import or a patrol's
-- finding (with its note), who and when.
CREATE TABLE place_versions (
    place_key text NOT NULL REFERENCES places (place_key),
    version   bigint NOT NULL,
    at        timestamptz NOT NULL,
    body      jsonb NOT NULL,
    PRIMARY KEY (place_key, version)
);

-- Cases classified before this migration: their place from intake's address
-- key (classify kept it in the body), where it names more than a road. A
-- private location did not exist then; an anonymous caller's key already
-- stopped at the lane.
UPDATE cases SET body = body || jsonb_build_object('Where', jsonb_build_object(
        'Key', k,
        'Building', split_part(k, '|', 1) || '|' || split_part(k, '|', 2) || '|' || split_part(k, '|', 3) || '|' || split_part(k, '|', 4) || '|',
        'Lane', CASE WHEN split_part(k, '|', 3) <> ''
            THEN split_part(k, '|', 1) || '|' || split_part(k, '|', 2) || '|' || split_part(k, '|', 3) || '||'
            ELSE split_part(k, '|', 1) || '|' || split_part(k, '|', 2) || '||' || split_part(k, '|', 4) || '|' END,
        'Private', false))
FROM (SELECT case_id AS id, body->'Case'->>'AddressKey' AS k FROM cases) s
WHERE s.id = cases.case_id AND NOT cases.body ? 'Where'
    AND s.k ~ '^[^|]*\|[^|]+\|[^|]*\|[^|]*\|[^|]*$'
    AND (split_part(s.k, '|', 3) <> '' OR split_part(s.k, '|', 4) <> '' OR split_part(s.k, '|', 5) <> '');

-- What the place history selects on, generated from the case's body (the
-- domain's Record.Where and Case), so every write of a case keeps them.
ALTER TABLE cases
    ADD COLUMN place_key text GENERATED ALWAYS AS (body->'Where'->>'Key') STORED,
    ADD COLUMN building_key text GENERATED ALWAYS AS (body->'Where'->>'Building') STORED,
    ADD COLUMN lane_key text GENERATED ALWAYS AS (body->'Where'->>'Lane') STORED,
    ADD COLUMN community_code text GENERATED ALWAYS AS
        (COALESCE(body->'Case'->'Area'->>'community', body->'Case'->'Area'->>'Community')) STORED,
    ADD COLUMN grid_code text GENERATED ALWAYS AS
        (COALESCE(body->'Case'->'Area'->>'grid', body->'Case'->'Area'->>'Grid')) STORED,
    ADD COLUMN source text GENERATED ALWAYS AS (body->'Case'->>'Source') STORED;

-- One index per level a history asks at (a shop, an address with its shops,
-- a lane), each in the order pages are read: newest first. The plan on
-- 100,000 cases is an Index Scan on one of these (TestPlaceHistoryPlan).
CREATE INDEX cases_place_history ON cases (place_key, received_at DESC, case_id DESC) WHERE place_key IS NOT NULL;
CREATE INDEX cases_building_history ON cases (building_key, received_at DESC, case_id DESC) WHERE building_key IS NOT NULL;
CREATE INDEX cases_lane_history ON cases (lane_key, received_at DESC, case_id DESC) WHERE lane_key IS NOT NULL;

-- Source place coordination (issue 20): the columns source places are listed
-- and filtered on, beside the body that holds the lead, its history and
-- whether a dispatcher closed the place.
ALTER TABLE source_places
    ADD COLUMN district_code text NOT NULL DEFAULT '',
    ADD COLUMN street_code   text NOT NULL DEFAULT '',
    ADD COLUMN closed        boolean NOT NULL DEFAULT false,
    ADD COLUMN updated_at    timestamptz;

UPDATE source_places SET
    district_code = COALESCE(body->'Area'->>'district', ''),
    street_code   = COALESCE(body->'Area'->>'street', ''),
    updated_at    = created_at;

ALTER TABLE source_places ALTER COLUMN updated_at SET NOT NULL;

CREATE INDEX source_places_listing ON source_places (updated_at DESC, source_place_id DESC);
CREATE INDEX source_places_area ON source_places (district_code, street_code);

-- Source place coordination (issue 20): the source places classify linked
-- incidents to, with the lead unit a dispatcher named, and the incidents
-- linked there with the case holding each one's tasks. A task is linked by
-- its case: one dispatched after the link is linked as it is created, and
-- nothing about the task itself changes (it stays with the unit holding
-- the power).
CREATE TABLE coordinations (
    source_place_id text PRIMARY KEY,
    -- The lead event's version; 0 while only links are known.
    version         bigint NOT NULL DEFAULT 0,
    lead_department text NOT NULL DEFAULT '',
    open            boolean NOT NULL DEFAULT true,
    place_key       text NOT NULL DEFAULT '',
    district        text NOT NULL DEFAULT '',
    street          text NOT NULL DEFAULT '',
    updated_at      timestamptz NOT NULL
);

CREATE INDEX coordinations_lead ON coordinations (lead_department) WHERE open AND lead_department <> '';

CREATE TABLE coordinated_incidents (
    incident_id     text PRIMARY KEY,
    source_place_id text NOT NULL REFERENCES coordinations (source_place_id),
    primary_case_id text NOT NULL DEFAULT '',
    item_code       text NOT NULL DEFAULT ''
);

CREATE INDEX coordinated_incidents_place ON coordinated_incidents (source_place_id);
CREATE INDEX coordinated_incidents_case ON coordinated_incidents (primary_case_id);

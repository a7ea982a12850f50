-- Issue 17, classify's stage: an incident's house number beside its site,
-- so grouping reads only the incidents that can be at a report's place.
-- Two addresses are one place only at one site and either one house number
-- or no number on one side (classify.SamePlace): a report at 共和新路1234号
-- reads the site's incidents at 1234号 and those without a number, not every
-- incident on the road. '' for an incident without a number or an address.
ALTER TABLE incidents ADD COLUMN number text NOT NULL DEFAULT '';
UPDATE incidents SET number = coalesce(body -> 'Place' ->> 'Number', '') WHERE site <> '';

DROP INDEX incidents_site;
CREATE INDEX incidents_site ON incidents (site, number, last_at) WHERE site <> '';

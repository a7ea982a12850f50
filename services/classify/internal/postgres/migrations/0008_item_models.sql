-- issue 15, the item model in the registry: the second-level model (the item
-- inside a first-level class, package itemmodel) is registered beside the
-- class model, as its own kind, judged by the same gate on its own figures
-- (item_share and item_precision on the held-out slice of the hand-read item
-- labels, kept in figures). One model of each kind is live: the pair every
-- replica serves.
ALTER TABLE models ADD COLUMN kind text NOT NULL DEFAULT 'class' CHECK (kind IN ('class', 'items'));

DROP INDEX models_one_live;
CREATE UNIQUE INDEX models_one_live ON models (kind) WHERE state = 'live';

-- Grid workers' tasks (issue 20): re-checks (核查) of patrol cases and
-- inspections (巡检) of registered places, assigned to a grid worker.

-- The patrol cases dispatch may have to re-check: who reported each and
-- where, recorded from case.received (dispatch's case facts keep no worker).
CREATE TABLE patrol_cases (
	case_id     text PRIMARY KEY,
	case_number text NOT NULL,
	worker_id   text NOT NULL,
	district    text NOT NULL,
	street      text NOT NULL,
	community   text NOT NULL,
	grid        text NOT NULL
);

CREATE TABLE worker_tasks (
	task_id         uuid PRIMARY KEY,
	kind            text NOT NULL CHECK (kind IN ('recheck', 'inspection')),
	state           text NOT NULL CHECK (state IN ('open', 'done', 'missed', 'withdrawn')),
	worker_id       text NOT NULL,
	case_id         text NOT NULL DEFAULT '',
	case_number     text NOT NULL DEFAULT '',
	-- The case's round a re-check belongs to.
	round           integer NOT NULL DEFAULT 0,
	place_key       text NOT NULL DEFAULT '',
	place_name      text NOT NULL DEFAULT '',
	place_kind      text NOT NULL DEFAULT '',
	district        text NOT NULL,
	street          text NOT NULL,
	community       text NOT NULL,
	grid            text NOT NULL,
	opened_at       timestamptz NOT NULL,
	warn_at         timestamptz NOT NULL,
	due_at          timestamptz NOT NULL,
	done_at         timestamptz,
	warned          boolean NOT NULL DEFAULT false,
	overdue         boolean NOT NULL DEFAULT false,
	escalated       boolean NOT NULL DEFAULT false,
	outcome         text NOT NULL DEFAULT '',
	note            text NOT NULL DEFAULT '',
	finding_case_id text NOT NULL DEFAULT ''
);
-- One open re-check per case and round: a redelivered case.resolved opens none.
CREATE UNIQUE INDEX worker_tasks_recheck ON worker_tasks (case_id, round) WHERE kind = 'recheck';
-- One inspection per place and due time.
CREATE UNIQUE INDEX worker_tasks_inspection ON worker_tasks (place_key, due_at) WHERE kind = 'inspection';
CREATE INDEX worker_tasks_worker ON worker_tasks (worker_id, state, due_at);
CREATE INDEX worker_tasks_street ON worker_tasks (street, state, due_at);

-- Each registered place's inspection schedule, from classify's
-- PlaceUpserted (the newest version wins).
CREATE TABLE place_schedules (
	place_key    text PRIMARY KEY,
	version      bigint NOT NULL,
	name         text NOT NULL,
	kind         text NOT NULL,
	district     text NOT NULL,
	street       text NOT NULL,
	community    text NOT NULL,
	grid         text NOT NULL,
	every_months integer NOT NULL,
	retired      boolean NOT NULL,
	registered_at timestamptz NOT NULL,
	-- When the next inspection comes due; NULL without a schedule.
	next_due     timestamptz
);

-- Webhooks (issue 19): a department's registrations, and one delivery row per
-- task event per registration, written in the transaction that enqueues the
-- event (so none is lost or made twice) and driven from here by the delivery
-- worker (so a restart resumes where it stopped).
CREATE TABLE webhooks (
	webhook_id  uuid PRIMARY KEY,
	department  text NOT NULL,
	url         text NOT NULL,
	-- The task events sent, by name; empty: every one.
	events      text[] NOT NULL DEFAULT '{}',
	-- The shared secret: HMAC needs it in clear, so it is kept here and
	-- answered by no read.
	secret      bytea NOT NULL,
	created_by  text NOT NULL,
	created_at  timestamptz NOT NULL,
	deleted_at  timestamptz
);
CREATE INDEX webhooks_department ON webhooks (department) WHERE deleted_at IS NULL;

CREATE TABLE webhook_deliveries (
	delivery_id uuid PRIMARY KEY,
	webhook_id  uuid NOT NULL REFERENCES webhooks (webhook_id),
	department  text NOT NULL,
	district    text NOT NULL,
	street      text NOT NULL,
	event_id    text NOT NULL,
	event_type  text NOT NULL,
	case_id     text NOT NULL,
	-- The event's envelope as protobuf; POSTed as its JSON mapping.
	payload     bytea NOT NULL,
	state       text NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
	attempts    integer NOT NULL DEFAULT 0,
	next_try    timestamptz NOT NULL,
	last_error  text NOT NULL DEFAULT '',
	created_at  timestamptz NOT NULL,
	updated_at  timestamptz NOT NULL,
	UNIQUE (webhook_id, event_id)
);
-- The worker's claim: due pending deliveries, oldest first.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_try) WHERE state = 'pending';
-- The dead-letter gauge and the escalation board's list.
CREATE INDEX webhook_deliveries_dead ON webhook_deliveries (updated_at) WHERE state = 'dead';

package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gridflow/gridflow/pkg/outbox"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/timer"
	"github.com/gridflow/gridflow/services/feedback/internal/events"
	"github.com/gridflow/gridflow/services/feedback/internal/feedback"
	"github.com/jackc/pgx/v5"
)

// A batch of events handled in memory (feedback.Applier, issue 17): its
// cases read in one round trip, and what it changed written in one more
// (and the outbox's own statement), a statement per table rather than per
// event.

var _ feedback.BatchTx = (*txn)(nil)

// storedView is a case's stored body: the view and the version of the
// projection that made it (feedback.ProjectionVersion).
type storedView struct {
	*feedback.Case
	Projection int `json:"Projection"`
}

func marshalView(c *feedback.Case) ([]byte, error) {
	return json.Marshal(storedView{Case: c, Projection: feedback.ProjectionVersion})
}

// LoadViews reads the views of ids and which of eventIDs are logged.
func (t *txn) LoadViews(ctx context.Context, ids, eventIDs []string) (map[string]*feedback.Case, map[string]bool, error) {
	if p := t.fresh(); p != nil && !p.view && len(ids) == 1 && ids[0] == p.caseID && len(eventIDs) == 0 {
		p.view = true // read in the command's first round trip
		return p.views, map[string]bool{}, nil
	}
	b := &pgx.Batch{}
	loaded := t.queueLoadViews(b, ids, eventIDs)
	if b.Len() == 0 {
		views, logged := loaded()
		return views, logged, nil
	}
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, nil, fmt.Errorf("load views: %w", pgdb.Translate(err))
	}
	views, logged := loaded()
	return views, logged, nil
}

// queueLoadViews queues LoadViews' reads on b; loaded, called once b has
// been sent without error, answers what LoadViews would have.
func (t *txn) queueLoadViews(b *pgx.Batch, ids, eventIDs []string) (loaded func() (map[string]*feedback.Case, map[string]bool)) {
	views := make(map[string]*feedback.Case, len(ids))
	logged := map[string]bool{}
	if len(ids) > 0 {
		b.Queue(`SELECT case_id, body FROM cases WHERE case_id = ANY($1)`, ids).Query(func(rows pgx.Rows) error {
			var id string
			var body []byte
			_, err := pgx.ForEachRow(rows, []any{&id, &body}, func() error {
				c, err := t.rememberView(id, body)
				views[id] = c // nil: another projection's, made again from the log
				return err
			})
			return err
		})
	}
	if len(eventIDs) > 0 {
		b.Queue(`SELECT event_id FROM events WHERE event_id = ANY($1)`, eventIDs).Query(func(rows pgx.Rows) error {
			var id string
			_, err := pgx.ForEachRow(rows, []any{&id}, func() error {
				logged[id] = true
				return nil
			})
			return err
		})
	}
	return func() (map[string]*feedback.Case, map[string]bool) {
		for _, id := range ids {
			if _, stored := views[id]; !stored {
				t.remember(id, noRows(id))
			}
		}
		return views, logged
	}
}

// SaveBatch appends evs, enqueues out and saves cases.
func (t *txn) SaveBatch(ctx context.Context, evs []*feedback.Event, out []feedback.Outgoing, cases []*feedback.Case) error {
	b, held := &pgx.Batch{}, t.holder()
	if held != nil {
		b = held.Held() // sent with the COMMIT
	}
	n := len(evs)
	ids, caseIDs, types, raws := make([]string, n), make([]string, n), make([]string, n), make([][]byte, n)
	ats := make([]time.Time, n)
	for i, e := range evs {
		if e.Raw == nil {
			raw, name, err := events.Encode(e)
			if err != nil {
				return err
			}
			e.Raw, e.Type = raw, name
		}
		ids[i], caseIDs[i], types[i], ats[i], raws[i] = e.ID, e.CaseID, e.Type, e.At, e.Raw
	}
	var appended int
	if n > 0 {
		// In the batch's order, so that a case's events take their seqs in
		// the order the Applier projected them; one NOTIFY, delivered only
		// if the transaction commits (watchers wake when the events are
		// visible), unless the runner announces the commit (Announcer).
		notify := `, LATERAL (SELECT pg_notify(` + EventsChannelSQL + `, '')) n`
		if t.quiet {
			notify = ""
		}
		if held != nil {
			// Held for the COMMIT, the count is read only after it ran: so
			// no ON CONFLICT, and an id already there fails the insert and
			// with it the transaction, before its COMMIT.
			b.Queue(`INSERT INTO events (event_id, case_id, type, occurred_at, envelope)
				SELECT i, c, y, a, e FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::bytea[])
					WITH ORDINALITY AS u (i, c, y, a, e, n) ORDER BY n`, ids, caseIDs, types, ats, raws)
			if !t.quiet {
				b.Queue(`SELECT pg_notify(` + EventsChannelSQL + `, '')`)
			}
		} else {
			b.Queue(`WITH ins AS (
				INSERT INTO events (event_id, case_id, type, occurred_at, envelope)
				SELECT i, c, y, a, e FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::bytea[])
					WITH ORDINALITY AS u (i, c, y, a, e, n) ORDER BY n
				ON CONFLICT (event_id) DO NOTHING RETURNING 1)
			SELECT count(*) FROM ins`+notify, ids, caseIDs, types, ats, raws).QueryRow(func(r pgx.Row) error { return r.Scan(&appended) })
		}
	}
	if err := t.queueViews(b, cases); err != nil {
		return err
	}
	// What is published travels with the rest (issue 17: a round trip of
	// its own before); a failed batch stores none of it.
	if len(out) > 0 {
		msgs := make([]outbox.Message, len(out))
		for i, o := range out {
			msgs[i] = outbox.WithTrace(o.Ctx, events.Message(o.Event))
		}
		if err := outbox.Queue(outbox.Within(ctx, t.scoped), b, msgs...); err != nil {
			return err
		}
	}
	if held != nil {
		return nil
	}
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("save batch: %w", pgdb.Translate(err))
	}
	if appended != n {
		// Under the cases' locks every new event was checked absent: one
		// already there means the views were built on a log that moved.
		return fmt.Errorf("save batch: %d of %d events appended", appended, n)
	}
	return nil
}

// rememberView decodes case id's stored view, body, and remembers the side
// rows it derived; nil (and nothing remembered) when another projection
// version made it.
func (t *txn) rememberView(id string, body []byte) (*feedback.Case, error) {
	v := storedView{Case: &feedback.Case{}}
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, fmt.Errorf("case %s: %w", id, err)
	}
	if v.Projection != feedback.ProjectionVersion {
		return nil, nil
	}
	t.remember(id, sideRowsOf(v.Case))
	return v.Case, nil
}

// remember notes the side rows of case id's stored view, read in this
// transaction; the first reading stands until the transaction writes them.
func (t *txn) remember(id string, rows *sideRows) {
	if t.stored == nil {
		t.stored = map[string]*sideRows{}
	}
	if _, ok := t.stored[id]; !ok {
		t.stored[id] = rows
	}
}

// queueViews queues what SaveCase writes for each of cases, a statement
// per table for them all; of the rows each view derives beside it, only
// those that differ from what the transaction knows is stored (side.go).
func (t *txn) queueViews(b *pgx.Batch, cases []*feedback.Case) error {
	if len(cases) == 0 {
		return nil
	}
	n := len(cases)
	var (
		ids, numbers, orders, states, sources   = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		districts, streets, communities, grids  = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		items, leads, depts, primaries, workers = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		excluded                                = make([]bool, n)
		received, updated                       = make([]*time.Time, n), make([]*time.Time, n)
		bodies                                  = make([][]byte, n)
		replyIDs, replyCases                    []string
		replyRounds                             []int32
		replyAts                                []time.Time
		replyBodies                             [][]byte
		side                                    sideWrites
	)
	for i, c := range cases {
		body, err := marshalView(c)
		if err != nil {
			return err
		}
		ds := []string{}
		for _, tk := range c.Tasks {
			if tk.Department != "" {
				ds = append(ds, tk.Department)
			}
		}
		dj, err := json.Marshal(ds)
		if err != nil {
			return err
		}
		ids[i], numbers[i], orders[i], states[i], sources[i] = c.ID, c.Number, c.HotlineOrderNo, string(c.State), string(c.Source)
		districts[i], streets[i], communities[i], grids[i] = c.Area.District, c.Area.Street, c.Area.Community, c.Area.Grid
		items[i], leads[i], depts[i], primaries[i], workers[i] = c.ItemCode, c.LeadDepartment(), string(dj), c.PrimaryCaseID, c.Worker
		excluded[i], received[i], updated[i], bodies[i] = c.Excluded, nullTime(c.ReceivedAt), nullTime(c.UpdatedAt), body
		rows := sideRowsOf(c)
		side.add(c, rows, t.stored[c.ID])
		if t.stored != nil {
			t.stored[c.ID] = rows // what is stored once this batch commits
		}
	}
	for i, r := range side.replies {
		rb, err := json.Marshal(r)
		if err != nil {
			return err
		}
		replyIDs, replyCases, replyRounds = append(replyIDs, r.ID), append(replyCases, side.replyCases[i]), append(replyRounds, int32(r.Round))
		replyAts, replyBodies = append(replyAts, r.At), append(replyBodies, rb)
	}
	// Sorted by case id (the Applier's order), so that two batches upsert
	// shared rows in one order.
	b.Queue(`INSERT INTO cases (case_id, case_number, hotline_order_no, state, source, district_code, street_code,
			community_code, grid_code, item_code, lead_department, departments, primary_case_id, excluded, received_at, updated_at, body, worker)
		SELECT i, nu, o, st, so, d, s, co, g, it, l, ARRAY(SELECT jsonb_array_elements_text(dj::jsonb)), p, x, r, u, bo, w
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[],
			$10::text[], $11::text[], $12::text[], $13::text[], $14::bool[], $15::timestamptz[], $16::timestamptz[], $17::jsonb[], $18::text[])
			AS v (i, nu, o, st, so, d, s, co, g, it, l, dj, p, x, r, u, bo, w)
		ON CONFLICT (case_id) DO UPDATE SET case_number = excluded.case_number, hotline_order_no = excluded.hotline_order_no,
			state = excluded.state, source = excluded.source, district_code = excluded.district_code, street_code = excluded.street_code,
			community_code = excluded.community_code, grid_code = excluded.grid_code, item_code = excluded.item_code,
			lead_department = excluded.lead_department, departments = excluded.departments, primary_case_id = excluded.primary_case_id,
			excluded = excluded.excluded, received_at = excluded.received_at, updated_at = excluded.updated_at, body = excluded.body,
			worker = excluded.worker`,
		ids, numbers, orders, states, sources, districts, streets, communities, grids, items, leads, depts, primaries, excluded,
		received, updated, bodies, workers)
	if len(replyIDs) > 0 {
		b.Queue(`INSERT INTO replies (reply_id, case_id, round, replied_at, body)
			SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::timestamptz[], $5::jsonb[])
			ON CONFLICT (reply_id) DO NOTHING`, replyIDs, replyCases, replyRounds, replyAts, replyBodies)
	}
	queueFacts(b, &side)
	queuePatrolReports(b, &side) // self-disposal (issue 20)
	return timer.Queue(b, side.timers)
}

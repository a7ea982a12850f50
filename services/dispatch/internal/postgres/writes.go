package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gridflow/gridflow/pkg/outbox"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/timer"
	"github.com/gridflow/gridflow/services/dispatch/internal/dispatch"
	"github.com/jackc/pgx/v5"
)

// writes gathers the finished changes (dispatch.Commit) of one or more
// operations on cases the transaction holds, and writes them in one round
// of statements whatever their number (issue 17): each case's row once, in
// its final state, each changed task once, the outbox messages in one
// insert, their webhook deliveries in one and the timers in at most two
// (timer.Queue). A case's tasks are taken from the case as it stands when
// written, by id, so a later operation's changes to a task are what is
// stored.
type writes struct {
	cases map[string]*dispatch.Case
	order []string            // case ids, first added first
	dirty map[string][]string // case id → changed task ids, in change order
	msgs  []outbox.Message
	msgOf []string // the case id of each message
	ops   []timer.Op
	// fresh: cases not in the table yet, inserted rather than updated.
	fresh map[string]bool
	// read: cases as the transaction read them (see readAs), by id.
	read map[string]readCase
}

// readCase is a case's row as read: its JSON and its updated_at.
type readCase struct {
	body []byte
	at   time.Time
}

func newWrites() *writes {
	return &writes{cases: map[string]*dispatch.Case{}, dirty: map[string][]string{}, fresh: map[string]bool{}}
}

// readAs records c as the transaction read it, before an operation: if the
// operation changes nothing of the case's row but its updated_at, the row
// is not written again (issue 17: a department's sign-for and completion
// change a task, and rewriting the case beside it — its whole body, its
// indexes — was the costliest statement of the loop). A case's updated_at
// is thus when its own row last changed, not its tasks (each task keeps
// its own).
func (w *writes) readAs(c *dispatch.Case) error {
	body, err := json.Marshal(c)
	if err != nil {
		return err
	}
	if w.read == nil {
		w.read = map[string]readCase{}
	}
	w.read[c.ID] = readCase{body: body, at: c.UpdatedAt}
	return nil
}

// unchanged reports whether c's row is as the transaction read it but for
// its updated_at.
func (w *writes) unchanged(c *dispatch.Case) bool {
	r, ok := w.read[c.ID]
	if !ok {
		return false
	}
	at := c.UpdatedAt
	c.UpdatedAt = r.at
	body, err := json.Marshal(c)
	c.UpdatedAt = at
	return err == nil && bytes.Equal(body, r.body)
}

// add takes one operation's commit (nil, or one without a case: nothing).
func (w *writes) add(cm *dispatch.Commit) {
	if cm == nil || cm.Case == nil {
		return
	}
	c := cm.Case
	if _, ok := w.cases[c.ID]; !ok {
		w.order = append(w.order, c.ID)
	}
	w.cases[c.ID] = c
	for _, t := range cm.Tasks {
		if !slices.Contains(w.dirty[c.ID], t.ID) {
			w.dirty[c.ID] = append(w.dirty[c.ID], t.ID)
		}
	}
	for _, m := range cm.Messages {
		w.msgs = append(w.msgs, outbox.Message{ID: m.ID, Subject: m.Subject, Data: m.Data, Headers: m.Headers})
		w.msgOf = append(w.msgOf, c.ID)
	}
	for _, op := range cm.Timers {
		w.ops = append(w.ops, timer.Op{Kind: op.Kind, Key: op.Key, At: op.At, Cancel: op.Cancel, Payload: []byte(c.ID)})
	}
}

// rebind makes c the case written for its id (a case restored after a
// failed operation: the earlier operations' changes are in it).
func (w *writes) rebind(c *dispatch.Case) {
	if _, ok := w.cases[c.ID]; ok {
		w.cases[c.ID] = c
	}
}

// flush writes what was added in tx and returns how many messages it
// enqueued (through ctx's outbox scope, if any).
func (w *writes) flush(ctx context.Context, tx pgx.Tx) (int, error) {
	b := &pgx.Batch{}
	if err := w.queue(ctx, b); err != nil {
		return 0, err
	}
	if b.Len() == 0 {
		return 0, nil
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return 0, fmt.Errorf("save cases %s: %w", strings.Join(w.order, ", "), pgdb.Translate(err))
	}
	return len(w.msgs), nil
}

// queue queues on b what was added: the cases, their changed tasks, the
// webhook deliveries, the timers and the outbox messages (through ctx's
// outbox scope, if any), to go in one round trip with whatever else the
// caller queues (issue 17: the outbox insert was a round trip of its own).
func (w *writes) queue(ctx context.Context, b *pgx.Batch) error {
	if len(w.order) == 0 {
		return nil
	}
	if err := w.queueCases(b); err != nil {
		return err
	}
	if err := w.queueTasks(b); err != nil {
		return err
	}
	// Webhooks (issue 19): each task event's deliveries, with its outbox row.
	w.queueWebhooks(b, time.Now().UTC())
	if err := timer.Queue(b, w.ops); err != nil {
		return err
	}
	return outbox.Queue(ctx, b, w.msgs...)
}

// caseRows is the columns of cases, one slice per column.
type caseRows struct {
	ids, numbers, districts, streets, statuses, bodies, orderNos []string
	queued, arbitration                                          []*time.Time
	created, updated                                             []time.Time
}

func (r *caseRows) add(c *dispatch.Case) error {
	body, err := json.Marshal(c)
	if err != nil {
		return err
	}
	var queued, arbitration *time.Time
	if c.Queue != nil {
		queued = &c.Queue.Since
	}
	if c.Arbitration != nil {
		arbitration = &c.Arbitration.OpenedAt
	}
	orderNo := ""
	if c.Facts != nil {
		orderNo = c.Facts.HotlineOrderNo
	}
	r.ids, r.numbers, r.districts, r.streets = append(r.ids, c.ID), append(r.numbers, c.Number), append(r.districts, c.Area.District), append(r.streets, c.Area.Street)
	r.statuses, r.bodies, r.orderNos = append(r.statuses, string(c.Status)), append(r.bodies, string(body)), append(r.orderNos, orderNo)
	r.queued, r.arbitration = append(r.queued, queued), append(r.arbitration, arbitration)
	r.created, r.updated = append(r.created, c.CreatedAt), append(r.updated, c.UpdatedAt)
	return nil
}

// queueCases queues the update of the cases there were, and the insert
// of the fresh ones, which fails if any of them is there after all.
func (w *writes) queueCases(b *pgx.Batch) error {
	var old, fresh caseRows
	for _, id := range w.order {
		r := &old
		switch {
		case w.fresh[id]:
			r = &fresh
		case w.unchanged(w.cases[id]):
			continue
		}
		if err := r.add(w.cases[id]); err != nil {
			return err
		}
	}
	switch n := len(old.ids); {
	case n == 1:
		b.Queue(`UPDATE cases SET case_number = $2, district = $3, street = $4, status = $5, queued_at = $6, arbitration_at = $7,
			body = $8::text::jsonb, updated_at = $9, hotline_order_no = $10 WHERE case_id = $1`,
			old.ids[0], old.numbers[0], old.districts[0], old.streets[0], old.statuses[0], old.queued[0], old.arbitration[0],
			old.bodies[0], old.updated[0], old.orderNos[0])
	case n > 1:
		b.Queue(`UPDATE cases c SET case_number = u.number, district = u.district, street = u.street, status = u.status,
				queued_at = u.queued, arbitration_at = u.arbitration, body = u.body::jsonb, updated_at = u.updated,
				hotline_order_no = u.order_no
			FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[],
				$8::text[], $9::timestamptz[], $10::text[])
				AS u (id, number, district, street, status, queued, arbitration, body, updated, order_no)
			WHERE c.case_id = u.id`,
			old.ids, old.numbers, old.districts, old.streets, old.statuses, old.queued, old.arbitration, old.bodies, old.updated, old.orderNos)
	}
	if len(fresh.ids) == 0 {
		return nil
	}
	want := len(fresh.ids)
	b.Queue(`WITH ins AS (
			INSERT INTO cases (case_id, case_number, district, street, status, queued_at, arbitration_at, body, created_at, updated_at,
				hotline_order_no)
			SELECT id, number, district, street, status, queued, arbitration, body::jsonb, created, updated, order_no
			FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[],
				$8::text[], $9::timestamptz[], $10::timestamptz[], $11::text[])
				WITH ORDINALITY AS u (id, number, district, street, status, queued, arbitration, body, created, updated, order_no, n)
			ORDER BY n
			ON CONFLICT (case_id) DO NOTHING
			RETURNING 1)
		SELECT count(*) FROM ins`,
		fresh.ids, fresh.numbers, fresh.districts, fresh.streets, fresh.statuses, fresh.queued, fresh.arbitration, fresh.bodies,
		fresh.created, fresh.updated, fresh.orderNos).QueryRow(func(row pgx.Row) error {
		var n int
		if err := row.Scan(&n); err != nil {
			return err
		}
		if n != want {
			return fmt.Errorf("%d of %d new cases were created meanwhile by another transaction", want-n, want)
		}
		return nil
	})
	return nil
}

func (w *writes) queueTasks(b *pgx.Batch) error {
	var ids, cases, depts, states, bodies []string
	var updated []time.Time
	for _, cid := range w.order {
		c := w.cases[cid]
		for _, tid := range w.dirty[cid] {
			t := taskOf(c, tid)
			if t == nil {
				return fmt.Errorf("case %s: changed task %s is not in the case", cid, tid)
			}
			body, err := json.Marshal(t)
			if err != nil {
				return err
			}
			ids, cases, depts, states = append(ids, t.ID), append(cases, c.ID), append(depts, t.Department), append(states, string(t.State))
			bodies, updated = append(bodies, string(body)), append(updated, t.UpdatedAt)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	b.Queue(`INSERT INTO tasks (task_id, case_id, department, state, updated_at, body)
		SELECT id, case_id, dept, state, updated, body::jsonb
		FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[], $6::text[])
			WITH ORDINALITY AS t (id, case_id, dept, state, updated, body, n)
		ORDER BY n
		ON CONFLICT (task_id) DO UPDATE SET department = EXCLUDED.department, state = EXCLUDED.state,
			updated_at = EXCLUDED.updated_at, body = EXCLUDED.body`,
		ids, cases, depts, states, updated, bodies)
	return nil
}

func taskOf(c *dispatch.Case, id string) *dispatch.Task {
	for _, t := range c.Tasks {
		if t.ID == id {
			return t
		}
	}
	return nil
}

// queueWebhooks queues, for the messages that are task events, one
// delivery for each live registration of its unit that asks for it, due at
// once (now: the wall clock, which the worker claims by, not the domain's
// possibly offset test clock). A task subject is
// grid.task.<event>.<dept>.<district>.<street>.
func (w *writes) queueWebhooks(b *pgx.Batch, now time.Time) {
	var depts, districts, streets, ids, types, cases []string
	var payloads [][]byte
	for i, m := range w.msgs {
		tok := strings.Split(m.Subject, ".")
		if len(tok) != 6 || tok[0] != "grid" || tok[1] != "task" {
			continue
		}
		depts, districts, streets = append(depts, tok[3]), append(districts, tok[4]), append(streets, tok[5])
		ids, types, cases = append(ids, m.ID), append(types, "task."+tok[2]), append(cases, w.msgOf[i])
		payloads = append(payloads, m.Data)
	}
	if len(ids) == 0 {
		return
	}
	b.Queue(`INSERT INTO webhook_deliveries (delivery_id, webhook_id, department, district, street, event_id, event_type,
			case_id, payload, state, next_try, created_at, updated_at)
		SELECT gen_random_uuid(), w.webhook_id, w.department, u.district, u.street, u.event_id, u.event_type, u.case_id,
			u.payload, 'pending', $8, $8, $8
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bytea[])
			WITH ORDINALITY AS u (dept, district, street, event_id, event_type, case_id, payload, n)
		JOIN webhooks w ON w.department = u.dept AND w.deleted_at IS NULL AND (w.events = '{}' OR u.event_type = ANY(w.events))
		ORDER BY u.n
		ON CONFLICT (webhook_id, event_id) DO NOTHING`,
		depts, districts, streets, ids, types, cases, payloads, now)
}

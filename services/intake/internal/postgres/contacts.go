package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/gridflow/gridflow/pkg/outbox"
	"github.com/gridflow/gridflow/pkg/pause"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/redact"
	"github.com/gridflow/gridflow/services/intake/internal/events"
	"github.com/gridflow/gridflow/services/intake/internal/intake"
	"github.com/jackc/pgx/v5"
)

// OpenTasks lists the departments holding an open task on the case.
func (st *Store) OpenTasks(ctx context.Context, caseID string) ([]intake.TaskHolder, error) {
	rows, err := st.pool.Query(ctx, `SELECT task_id, department, lead FROM task_holders WHERE case_id = $1 AND open
		ORDER BY task_id`, caseID)
	if err != nil {
		return nil, fmt.Errorf("open tasks of %s: %w", caseID, pgdb.Translate(err))
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (intake.TaskHolder, error) {
		var t intake.TaskHolder
		err := r.Scan(&t.TaskID, &t.Department, &t.Lead)
		return t, err
	})
}

// RecordContactRead commits r's case.contact_read to the outbox; the relay
// publishes it at once.
func (st *Store) RecordContactRead(ctx context.Context, r intake.ContactRead) error {
	msg, err := events.ContactRead(r)
	if err != nil {
		return err
	}
	var out outbox.Stored
	if err := pgdb.InTx(ctx, st.pool, func(tx pgx.Tx) error {
		out, err = outbox.EnqueueStored(ctx, tx, outbox.WithTrace(ctx, msg))
		return err
	}); err != nil {
		return fmt.Errorf("record contact read of %s: %w", r.CaseID, err)
	}
	st.relay.PublishCommitted(out)
	return nil
}

// SetTask records in tx, the tasks consumer's transaction, a task as one
// of its events leaves it; an event older than the one applied changes
// nothing.
func SetTask(ctx context.Context, tx pgx.Tx, t events.TaskState) error {
	_, err := tx.Exec(ctx, `INSERT INTO task_holders (task_id, case_id, department, lead, open, event_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (task_id) DO UPDATE SET department = excluded.department, lead = excluded.lead,
			open = excluded.open, event_at = excluded.event_at
		WHERE task_holders.event_at <= excluded.event_at`, t.TaskID, t.CaseID, t.Department, t.Lead, t.Open, t.At)
	if err != nil {
		return fmt.Errorf("set task %s: %w", t.TaskID, pgdb.Translate(err))
	}
	return nil
}

// SetTasks is SetTask for many states in one statement. Of several states
// of one task the newest is kept (the last of equals, as one SetTask after
// another would), and the rows are written in task id order, so that two
// replicas' batches lock them in one order.
func SetTasks(ctx context.Context, tx pgx.Tx, ts []events.TaskState) error {
	latest := make(map[string]events.TaskState, len(ts))
	for _, t := range ts {
		if have, ok := latest[t.TaskID]; !ok || !t.At.Before(have.At) {
			latest[t.TaskID] = t
		}
	}
	var (
		ids, cases, depts = make([]string, 0, len(latest)), make([]string, 0, len(latest)), make([]string, 0, len(latest))
		leads, open       = make([]bool, 0, len(latest)), make([]bool, 0, len(latest))
		at                = make([]time.Time, 0, len(latest))
	)
	for _, id := range slices.Sorted(maps.Keys(latest)) {
		t := latest[id]
		ids, cases, depts = append(ids, id), append(cases, t.CaseID), append(depts, t.Department)
		leads, open, at = append(leads, t.Lead), append(open, t.Open), append(at, t.At)
	}
	_, err := tx.Exec(ctx, `INSERT INTO task_holders (task_id, case_id, department, lead, open, event_at)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bool[], $5::bool[], $6::timestamptz[]) ORDER BY 1
		ON CONFLICT (task_id) DO UPDATE SET department = excluded.department, lead = excluded.lead,
			open = excluded.open, event_at = excluded.event_at
		WHERE task_holders.event_at <= excluded.event_at`, ids, cases, depts, leads, open, at)
	if err != nil {
		return fmt.Errorf("set %d tasks: %w", len(ids), pgdb.Translate(err))
	}
	return nil
}

// EraseContacts replaces, in at most limit hotline submissions whose case
// ended before cutoff, the stored contact by its masked form
// (Submission.Masked) and sets contact_erased_at = now. A case ends when
// feedback closes it (closure_at), when the hotline withdraws it (撤单) or,
// for a consultation answered on the call, when it is taken in. A case
// reopened after its closing is not closed, so it keeps its contact.
// Replicas sweeping together skip each other's rows. The events the outbox
// rebuilds from the body stay what they were: they were masked already, and
// masking is idempotent.
func (st *Store) EraseContacts(ctx context.Context, cutoff, now time.Time, limit int) (int, error) {
	n := 0
	err := pgdb.InTx(ctx, st.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, selectSubmission+`WHERE contact_erased_at IS NULL AND hotline_order_no IS NOT NULL
			AND ((closed AND closure_at < $1)
			  OR (withdrawn AND EXISTS (SELECT 1 FROM follow_ups f WHERE f.case_id = submissions.case_id
			      AND f.kind = 'withdraw' AND f.added_at < $1))
			  OR (accepted_at < $1 AND (body->'WorkOrder'->>'AnsweredOnCall') = 'true'))
			ORDER BY accepted_at LIMIT $2 FOR UPDATE SKIP LOCKED`, cutoff, limit)
		if err != nil {
			return err
		}
		subs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*intake.Submission, error) { return scanSubmission(r) })
		if err != nil {
			return err
		}
		for _, s := range subs {
			m := s.Masked()
			m.FollowUps = nil // stored in their own table
			body, err := json.Marshal(m)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE submissions SET body = $2, contact_erased_at = $3 WHERE case_id = $1`,
				s.CaseID, body, now); err != nil {
				return err
			}
		}
		// Follow-up texts may carry the caller's number too.
		ids := make([]string, len(subs))
		for i, s := range subs {
			ids[i] = s.CaseID
		}
		rows, err = tx.Query(ctx, `SELECT follow_up_id, text FROM follow_ups WHERE case_id = ANY($1::uuid[])`, ids)
		if err != nil {
			return err
		}
		type text struct{ id, text string }
		texts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (text, error) {
			var t text
			err := r.Scan(&t.id, &t.text)
			return t, err
		})
		if err != nil {
			return err
		}
		for _, t := range texts {
			if m := redact.Text(t.text); m != t.text {
				if _, err := tx.Exec(ctx, `UPDATE follow_ups SET text = $2 WHERE follow_up_id = $1`, t.id, m); err != nil {
					return err
				}
			}
		}
		n = len(subs)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("erase contacts: %w", pgdb.Translate(err))
	}
	return n, nil
}

// RetainContacts erases, every interval until ctx ends, the contacts of
// cases that ended more than retention ago (EraseContacts, in batches of
// 500 until none is left).
func (st *Store) RetainContacts(ctx context.Context, retention, interval time.Duration, now func() time.Time, log *slog.Logger) error {
	for {
		for {
			t := now()
			n, err := st.EraseContacts(ctx, t.Add(-retention), t, 500)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				log.WarnContext(ctx, "contact retention sweep failed; retrying at the next interval", "err", err)
				break
			}
			if n > 0 {
				log.InfoContext(ctx, "erased callers' contacts past retention", "cases", n, "retention", retention.String())
			}
			if n < 500 {
				break
			}
		}
		if !pause.For(ctx, interval) {
			return nil
		}
	}
}

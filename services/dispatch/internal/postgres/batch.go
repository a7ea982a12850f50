package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/gridflow/gridflow/services/dispatch/internal/dispatch"
	"github.com/jackc/pgx/v5"
)

// Cases is the cases of one consumer batch (issue 17), locked and read
// with their tasks at once; the batch's operations run on them in memory,
// one after another (Apply), and Write stores what they finished in one
// round of statements. A failed operation leaves its case as the
// operations before it left it: its changes are undone in memory, as its
// savepoint undoes whatever it wrote.
type Cases struct {
	held map[string]*held
	w    *writes
}

type held struct {
	c *dispatch.Case
	// body and tasks are the case as it last stood after a successful
	// operation (at first, as read), to restore it from when one fails;
	// stale once an operation changed it, remarshalled only if another
	// operation follows.
	body  []byte
	tasks [][]byte
	stale bool
}

// LockCases locks the cases named by ids for tx, in one order every
// transaction shares (sorted by case id), creating first those of create
// that do not exist (as UpdateTx does), and reads them with their tasks: two
// statements for the locks and the reads, sent at once. A case of ids that
// is not in create and does not exist is not locked, and its operations
// are not run (UpdateTx without create). Every id must be a uuid.
//
// The locks are taken by one upsert whose conflict action updates nothing
// (ON CONFLICT DO UPDATE … WHERE false locks the existing row, as FOR
// UPDATE would), row after row in id order: creating and locking in one
// pass keeps the order, where an insert followed by a SELECT … FOR UPDATE
// would lock the new cases before the existing ones.
func (st *Store) LockCases(ctx context.Context, tx pgx.Tx, ids []string, create map[string]bool, now time.Time) (*Cases, error) {
	sorted := make([]string, 0, len(ids))
	made := map[string]bool{}
	for _, id := range ids {
		u, err := uuid.Parse(id)
		if err != nil {
			return nil, fmt.Errorf("case id %q: %w", id, dispatch.ErrBadCaseID)
		}
		sorted = append(sorted, u.String())
		made[u.String()] = made[u.String()] || create[id]
	}
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	mk := make([]bool, len(sorted))
	bodies := make([]string, len(sorted))
	statuses := make([]string, len(sorted))
	for i, id := range sorted {
		c := dispatch.NewCase(id, now)
		b, err := json.Marshal(c)
		if err != nil {
			return nil, err
		}
		mk[i], bodies[i], statuses[i] = made[id], string(b), string(c.Status)
	}
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO cases AS c (case_id, status, body, created_at, updated_at)
		SELECT u.id, u.status, u.body::jsonb, $5, $5
		FROM unnest($1::uuid[], $2::bool[], $3::text[], $4::text[]) WITH ORDINALITY AS u (id, mk, body, status, n)
		WHERE u.mk OR EXISTS (SELECT FROM cases x WHERE x.case_id = u.id)
		ORDER BY u.n
		ON CONFLICT (case_id) DO UPDATE SET updated_at = c.updated_at WHERE false`,
		sorted, mk, bodies, statuses, now)
	cases := &Cases{held: make(map[string]*held, len(sorted)), w: newWrites()}
	b.Queue(`SELECT case_id::text, body FROM cases WHERE case_id = ANY($1::uuid[])`, sorted).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var id string
			var body []byte
			if err := rows.Scan(&id, &body); err != nil {
				return err
			}
			c := &dispatch.Case{}
			if err := json.Unmarshal(body, c); err != nil {
				return fmt.Errorf("decode case %s: %w", id, err)
			}
			cases.held[id] = &held{c: c, body: body}
		}
		return rows.Err()
	})
	b.Queue(`SELECT case_id::text, body FROM tasks WHERE case_id = ANY($1::uuid[]) ORDER BY case_id, task_id`, sorted).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var id string
			var body []byte
			if err := rows.Scan(&id, &body); err != nil {
				return err
			}
			h := cases.held[id]
			if h == nil {
				continue // a task of a case the batch does not hold (cannot be: the case row is its parent)
			}
			t := &dispatch.Task{}
			if err := json.Unmarshal(body, t); err != nil {
				return fmt.Errorf("decode task of case %s: %w", id, err)
			}
			h.c.Tasks = append(h.c.Tasks, t)
			h.tasks = append(h.tasks, body)
		}
		return rows.Err()
	})
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("lock cases: %w", err)
	}
	return cases, nil
}

// Apply runs op on the case caseID as the batch's operations have left it
// and keeps the commit it returns for Write. Without the case (not created
// and not there) op is not called. If op fails, the case is restored to
// what it was before op.
func (cs *Cases) Apply(caseID string, op func(*dispatch.Case) (*dispatch.Commit, error)) error {
	u, err := uuid.Parse(caseID)
	if err != nil {
		return fmt.Errorf("case id %q: %w", caseID, dispatch.ErrBadCaseID)
	}
	h := cs.held[u.String()]
	if h == nil {
		return nil
	}
	if h.stale {
		if err := h.snapshot(); err != nil {
			return err
		}
	}
	cm, err := op(h.c)
	if err != nil {
		if rerr := h.restore(); rerr != nil {
			return fmt.Errorf("%w (and restoring case %s: %v)", err, caseID, rerr)
		}
		cs.w.rebind(h.c)
		return err
	}
	cs.w.add(cm)
	h.stale = true
	return nil
}

// Write stores the finished changes of every successful operation, and
// returns how many events it enqueued.
func (cs *Cases) Write(ctx context.Context, tx pgx.Tx) (int, error) {
	return cs.w.flush(ctx, tx)
}

func (h *held) snapshot() error {
	body, err := json.Marshal(h.c)
	if err != nil {
		return err
	}
	tasks := make([][]byte, len(h.c.Tasks))
	for i, t := range h.c.Tasks {
		if tasks[i], err = json.Marshal(t); err != nil {
			return err
		}
	}
	h.body, h.tasks, h.stale = body, tasks, false
	return nil
}

func (h *held) restore() error {
	c := &dispatch.Case{}
	if err := json.Unmarshal(h.body, c); err != nil {
		return err
	}
	for _, b := range h.tasks {
		t := &dispatch.Task{}
		if err := json.Unmarshal(b, t); err != nil {
			return err
		}
		c.Tasks = append(c.Tasks, t)
	}
	h.c = c
	return nil
}

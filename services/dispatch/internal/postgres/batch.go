package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/pgdb"
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
	// fresh: the case is not in the table yet (Write inserts it).
	fresh bool
}

// LockCases locks the cases named by ids for tx and reads them with their
// tasks, in one round trip: first an advisory lock per case id, all in the
// order of their keys, then the existing rows FOR UPDATE in id order (what
// an API call or a timer takes alone), then their tasks. The advisory locks
// make two batches that share cases wait for each other before either takes
// a row lock, in one order, so they cannot deadlock; they also cover the
// cases not yet there. A case of create that does not exist is made in
// memory and inserted, in its final state, by Write (one row version, not
// an empty row and its update); if a transaction outside the advisory locks
// (the emergency lane's) created it meanwhile, Write fails and the runner
// handles the batch's events one by one. A case not in create that does not
// exist is not read, and its operations are not run (UpdateTx without
// create). Every id must be a uuid.
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
	b := &pgx.Batch{}
	b.Queue(pgdb.LockKeysSQL, "gridflow-dispatch-cases", sorted)
	cases := &Cases{held: make(map[string]*held, len(sorted)), w: newWrites()}
	b.Queue(`SELECT case_id::text, body FROM cases WHERE case_id = ANY($1::uuid[]) ORDER BY case_id FOR UPDATE`, sorted).Query(func(rows pgx.Rows) error {
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
				continue // cannot be: a task's case row is its parent
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
	for _, id := range sorted {
		if cases.held[id] != nil || !made[id] {
			continue
		}
		c := dispatch.NewCase(id, now)
		body, err := json.Marshal(c)
		if err != nil {
			return nil, err
		}
		cases.held[id] = &held{c: c, body: body, fresh: true}
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
	if h.fresh && cm != nil && cm.Case != nil {
		cs.w.fresh[cm.Case.ID] = true
	}
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

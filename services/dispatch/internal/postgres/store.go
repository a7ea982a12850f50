// Package postgres stores dispatch's cases and tasks in its own schema. One
// operation is one transaction: the case row is locked, the domain applies
// the operation and hands back its finished changes (dispatch.Commit), and
// the case, its changed tasks, the outbox messages, the timers (pkg/timer)
// and the request's result (pkg/idempotency) commit together. The store
// only stores: clock points and event encoding are the domain's.
package postgres

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/caseref"
	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/idempotency"
	"github.com/gridflow/gridflow/pkg/outbox"
	"github.com/gridflow/gridflow/pkg/pagetoken"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/reloadlog"
	"github.com/gridflow/gridflow/pkg/timer"
	"github.com/gridflow/gridflow/services/dispatch/internal/dispatch"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Schema is dispatch's PostgreSQL schema.
const Schema = "dispatch"

//go:embed migrations/*.sql
var migrationsFS embed.FS

// Migrations are dispatch's tables and those of the shared machinery it
// uses: the outbox, the consumer's handled ids, the timers, the
// idempotent requests and the record of reference-data loads.
var Migrations = []pgdb.Migrations{
	outbox.Migrations,
	consumer.Migrations,
	timer.Migrations,
	idempotency.Migrations,
	{Name: "dispatch", FS: migrationsFS, Dir: "migrations",
		Steps: []pgdb.Step{{Version: 5, Name: "mask_contacts", Run: maskContacts}}},
	reloadlog.Migrations,
}

// Store implements dispatch.Store.
type Store struct {
	pool *pgxpool.Pool
	// committed is called after a transaction with events commits (the
	// relay's Notify), so they leave without waiting for a poll.
	committed func()
	relay     *outbox.Relay // nil: the events wait for a relay's poll
}

// New returns a store; committed (may be nil) is called after a
// transaction that enqueued events.
func New(pool *pgxpool.Pool, committed func()) *Store {
	if committed == nil {
		committed = func() {}
	}
	return &Store{pool: pool, committed: committed}
}

// WithRelay makes the events Update's transactions write leave through
// relay's fast path, from memory, once they commit.
func (st *Store) WithRelay(relay *outbox.Relay) *Store {
	st.relay = relay
	return st
}

var _ dispatch.Store = (*Store)(nil)

// Pool is the store's pool.
func (st *Store) Pool() *pgxpool.Pool { return st.pool }

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

func validUUID(id string) bool {
	_, err := uuid.Parse(id)
	return err == nil
}

// Update implements dispatch.Store. A write is two round trips whatever
// it does (issue 17: a department's sign-for and completion took eight):
// BEGIN with the request's lock and look-up and the case's lock and read;
// then the case's rows, its outbox messages, the request's result and
// COMMIT. A write that goes no further than the first (a repeated request,
// a refusal) rolls back in a third.
//
// COMMIT travels with the writes: a statement that fails makes PostgreSQL
// skip the rest, COMMIT included, and the transaction is rolled back. A
// failure the store notices only in what the batch answered (none is
// expected: the answers are the outbox's row ids) comes after the COMMIT
// ran: the caller hears the error, the events leave at the relay's next
// poll, and a retry with the request's id gets the stored result.
func (st *Store) Update(ctx context.Context, target dispatch.Target, req *dispatch.Request, op func(*dispatch.Case) (*dispatch.Result, *dispatch.Commit, error)) (*dispatch.Result, error) {
	conn, err := st.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", pgdb.Translate(err))
	}
	defer conn.Release()
	ctx, end := st.relay.Scope(ctx)
	committed := false
	defer func() {
		// Whatever did not reach COMMIT is rolled back before the
		// connection goes back to the pool.
		if pc := conn.Conn().PgConn(); !pc.IsClosed() && pc.TxStatus() != 'I' {
			_, _ = conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		}
		end(committed)
	}()

	// The request is begun before anything else is locked: a twin of this
	// request waits at its lock for the first one and then gets its result
	// (the case it locks and reads meanwhile is let go).
	b := &pgx.Batch{}
	var (
		key   idempotency.Request
		prior func() (*idempotency.Result, error)
	)
	b.Queue("BEGIN")
	if req != nil {
		if key, err = idempotency.NewRequest(req.Principal, req.ID, req.Method, req.Content); err != nil {
			return nil, err
		}
		if prior, err = idempotency.QueueBegin(b, key); err != nil {
			return nil, err
		}
	}
	var loaded func() (*dispatch.Case, error)
	switch {
	case target.CaseID != "":
		loaded = queueLoad(b, lockCaseSQL, target.CaseID, tasksSQL, target.CaseID, "cases/"+target.CaseID, "case")
	case validUUID(target.TaskID):
		loaded = queueLockByTask(b, target.TaskID)
	default:
		loaded = func() (*dispatch.Case, error) {
			return nil, fault.NotFoundf("tasks/"+target.TaskID, "no task %q", target.TaskID)
		}
	}
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("begin request and lock its case: %w", pgdb.Translate(err))
	}
	if prior != nil {
		p, err := prior()
		if err != nil {
			return nil, err
		}
		if p != nil {
			return decodeResult(p.Body)
		}
	}
	c, err := loaded()
	if err != nil {
		return nil, err
	}
	w := newWrites()
	if err := w.readAs(c); err != nil {
		return nil, err
	}
	res, cm, err := op(c)
	if err != nil {
		return nil, err
	}
	w.add(cm)
	b = &pgx.Batch{}
	if err := w.queue(ctx, b); err != nil {
		return nil, err
	}
	if req != nil {
		if err := queueResult(b, key, c.ID, res); err != nil {
			return nil, err
		}
	}
	b.Queue("COMMIT").Exec(func(ct pgconn.CommandTag) error {
		committed = ct.String() == "COMMIT"
		return nil
	})
	if err := conn.SendBatch(ctx, b).Close(); err != nil {
		// An answer the store could not take after a COMMIT that ran: the
		// rows wait in the outbox for the relay's poll.
		return nil, fmt.Errorf("save case %s: %w", c.ID, pgdb.Translate(err))
	}
	if !committed {
		return nil, fmt.Errorf("save case %s: the transaction did not commit", c.ID)
	}
	if len(w.msgs) > 0 {
		st.committed()
	}
	return res, nil
}

// UpdateTx applies op to a case inside tx (a consumer's or a timer's
// transaction), creating the case first when create is set and it does not
// exist, and writes the Commit op returns (nil: nothing). Without create, a
// missing case is not an error: op is not called.
func (st *Store) UpdateTx(ctx context.Context, tx pgx.Tx, caseID string, create bool, now time.Time, op func(*dispatch.Case) (*dispatch.Commit, error)) error {
	if !validUUID(caseID) {
		return fmt.Errorf("case id %q: %w", caseID, dispatch.ErrBadCaseID)
	}
	b := &pgx.Batch{}
	if create {
		c := dispatch.NewCase(caseID, now)
		body, err := json.Marshal(c)
		if err != nil {
			return err
		}
		b.Queue(`INSERT INTO cases (case_id, status, body, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
			ON CONFLICT (case_id) DO NOTHING`, caseID, c.Status, body, now)
	}
	c, err := loadIn(ctx, tx, b, lockCaseSQL, caseID, tasksSQL, caseID, "cases/"+caseID, "case")
	if fault.KindOf(err) == fault.NotFound && !create {
		return nil
	}
	if err != nil {
		return err
	}
	cm, err := op(c)
	if err != nil {
		return err
	}
	n, err := save(ctx, tx, cm)
	if n > 0 {
		// The relay looks again at once; the rows show once the caller's
		// transaction commits (or at the relay's next poll).
		st.committed()
	}
	return err
}

// The statements that lock a case and read its tasks.
const (
	lockCaseSQL = `SELECT body FROM cases WHERE case_id = $1 FOR UPDATE`
	tasksSQL    = `SELECT body FROM tasks WHERE case_id = $1 ORDER BY task_id`
)

// queueLockByTask queues the lock of the case holding a task and the read
// of its tasks: two statements sent at once (issue 17: a department's
// sign-for and completion found the case, locked it and read its tasks in
// three round trips). The tasks are read after the lock is granted, so they
// are the ones the lock protects.
func queueLockByTask(b *pgx.Batch, taskID string) func() (*dispatch.Case, error) {
	return queueLoad(b,
		`SELECT body FROM cases WHERE case_id = (SELECT case_id FROM tasks WHERE task_id = $1) FOR UPDATE`, taskID,
		`SELECT body FROM tasks WHERE case_id = (SELECT case_id FROM tasks WHERE task_id = $1) ORDER BY task_id`, taskID,
		"tasks/"+taskID, "task")
}

// batcher is a transaction or the pool.
type batcher interface {
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// loadIn adds to b the case's query (locking it) and its tasks', sends b
// in tx and decodes the case with its tasks; NotFound naming resource when
// the case query finds no row.
func loadIn(ctx context.Context, tx batcher, b *pgx.Batch, caseSQL, caseArg, tasksSQL, tasksArg, resource, what string) (*dispatch.Case, error) {
	loaded := queueLoad(b, caseSQL, caseArg, tasksSQL, tasksArg, resource, what)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("load case of %s: %w", resource, err)
	}
	return loaded()
}

// queueLoad adds to b the case's query and its tasks'; loaded, called once
// b has been sent without error, returns the case with its tasks, or
// NotFound naming resource when the case query found no row.
func queueLoad(b *pgx.Batch, caseSQL, caseArg, tasksSQL, tasksArg, resource, what string) (loaded func() (*dispatch.Case, error)) {
	var c *dispatch.Case
	b.Queue(caseSQL, caseArg).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var body []byte
			if err := rows.Scan(&body); err != nil {
				return err
			}
			c = &dispatch.Case{}
			if err := json.Unmarshal(body, c); err != nil {
				return fmt.Errorf("decode case of %s: %w", resource, err)
			}
		}
		return rows.Err()
	})
	b.Queue(tasksSQL, tasksArg).Query(func(rows pgx.Rows) error {
		tasks, err := pgx.CollectRows(rows, scanTask)
		if err != nil {
			return fmt.Errorf("load tasks: %w", err)
		}
		if c != nil {
			c.Tasks = tasks
		}
		return nil
	})
	return func() (*dispatch.Case, error) {
		if c == nil {
			id := strings.TrimPrefix(strings.TrimPrefix(resource, "cases/"), "tasks/")
			return nil, fault.NotFoundf(resource, "no %s %q", what, id)
		}
		return c, nil
	}
}

func load(ctx context.Context, q querier, caseID, suffix string) (*dispatch.Case, error) {
	var body []byte
	err := q.QueryRow(ctx, `SELECT body FROM cases WHERE case_id = $1`+suffix, caseID).Scan(&body)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fault.NotFoundf("cases/"+caseID, "no case %q", caseID)
	}
	if err != nil {
		return nil, fmt.Errorf("load case: %w", err)
	}
	c := &dispatch.Case{}
	if err := json.Unmarshal(body, c); err != nil {
		return nil, fmt.Errorf("decode case %s: %w", caseID, err)
	}
	rows, err := q.Query(ctx, `SELECT body FROM tasks WHERE case_id = $1 ORDER BY task_id`, caseID)
	if err != nil {
		return nil, fmt.Errorf("load tasks: %w", err)
	}
	c.Tasks, err = pgx.CollectRows(rows, scanTask)
	if err != nil {
		return nil, fmt.Errorf("load tasks: %w", err)
	}
	return c, nil
}

func scanTask(r pgx.CollectableRow) (*dispatch.Task, error) {
	var body []byte
	if err := r.Scan(&body); err != nil {
		return nil, err
	}
	t := &dispatch.Task{}
	if err := json.Unmarshal(body, t); err != nil {
		return nil, fmt.Errorf("decode task: %w", err)
	}
	return t, nil
}

// save writes an operation's commit: the case, the tasks it changed, its
// outbox messages and its timers (each timer's payload is the case id); it
// returns how many messages it enqueued.
func save(ctx context.Context, tx pgx.Tx, cm *dispatch.Commit) (int, error) {
	w := newWrites()
	w.add(cm)
	return w.flush(ctx, tx)
}

// A request's first result is stored as dispatch.Result in JSON (explicit
// tags; a case's tasks travel in Result.Tasks). It names the task the
// request changed, or else its case.
func queueResult(b *pgx.Batch, key idempotency.Request, caseID string, res *dispatch.Result) error {
	body, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	resource := "cases/" + caseID
	if res.Task != nil {
		resource = "tasks/" + res.Task.ID
	}
	return idempotency.QueueSave(b, key, idempotency.Result{Resource: resource, Body: body})
}

func decodeResult(b []byte) (*dispatch.Result, error) {
	res := &dispatch.Result{}
	if err := json.Unmarshal(b, res); err != nil {
		return nil, fmt.Errorf("decode stored result: %w", err)
	}
	if res.Case != nil {
		res.Case.Tasks = res.Tasks
	}
	return res, nil
}

// FindCase implements dispatch.Store.
func (st *Store) FindCase(ctx context.Context, r caseref.Ref) (*dispatch.Case, error) {
	var caseID string
	switch r.Kind {
	case caseref.ID:
		if !validUUID(r.Value) {
			return nil, r.NotFound("dispatch")
		}
		caseID = r.Value
	case caseref.Number, caseref.OrderNo:
		col := "case_number"
		if r.Kind == caseref.OrderNo {
			col = "hotline_order_no"
		}
		err := st.pool.QueryRow(ctx, `SELECT case_id FROM cases WHERE `+col+` = $1 LIMIT 1`, r.Value).Scan(&caseID)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, r.NotFound("dispatch")
		}
		if err != nil {
			return nil, fmt.Errorf("find case %s: %w", r, pgdb.Translate(err))
		}
	default:
		return nil, r.NotFound("dispatch")
	}
	c, err := load(ctx, st.pool, caseID, "")
	if fault.KindOf(err) == fault.NotFound {
		return nil, r.NotFound("dispatch")
	}
	return c, err
}

// CaseOfTask implements dispatch.Store.
func (st *Store) CaseOfTask(ctx context.Context, taskID string) (*dispatch.Case, error) {
	if !validUUID(taskID) {
		return nil, fault.NotFoundf("tasks/"+taskID, "no task %q", taskID)
	}
	// One round trip (issue 17: the departments' bots read a task before
	// each step).
	return loadIn(ctx, st.pool, &pgx.Batch{},
		`SELECT body FROM cases WHERE case_id = (SELECT case_id FROM tasks WHERE task_id = $1)`, taskID,
		`SELECT body FROM tasks WHERE case_id = (SELECT case_id FROM tasks WHERE task_id = $1) ORDER BY task_id`, taskID,
		"tasks/"+taskID, "task")
}

type where struct {
	conds []string
	args  []any
}

func (w *where) arg(v any) string {
	w.args = append(w.args, v)
	return fmt.Sprintf("$%d", len(w.args))
}

func (w *where) add(cond string) { w.conds = append(w.conds, cond) }

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

func badToken() error {
	var v fault.Violations
	v.Add("page_token", "is not a token this service issued")
	return v.Err()
}

// ListTasks implements dispatch.Store: most recently changed first, keyset
// paged on (updated_at, task_id).
func (st *Store) ListTasks(ctx context.Context, f dispatch.TaskFilter) ([]*dispatch.Task, string, error) {
	if f.Scope.Kind == policy.None {
		return nil, "", fault.New(fault.PermissionDenied, "no scope")
	}
	w := &where{}
	// A department lists its own tasks, not every task of their cases.
	w.add(f.Scope.Where(policy.Columns{District: "c.district", Street: "c.street",
		Department: "t.department = %s"}, w.arg))
	if f.Department != "" {
		w.add("t.department = " + w.arg(f.Department))
	}
	switch f.Case.Kind {
	case caseref.ID:
		w.add("t.case_id = " + w.arg(f.Case.Value))
	case caseref.Number:
		w.add("c.case_number = " + w.arg(f.Case.Value))
	case caseref.OrderNo:
		w.add("c.hotline_order_no = " + w.arg(f.Case.Value))
	}
	if len(f.States) > 0 {
		s := make([]string, len(f.States))
		for i, x := range f.States {
			s[i] = string(x)
		}
		w.add("t.state = ANY(" + w.arg(s) + ")")
	}
	if f.PageToken != "" {
		at, id, err := pagetoken.Decode(f.PageToken)
		if err != nil {
			return nil, "", badToken()
		}
		w.add("(t.updated_at, t.task_id) < (" + w.arg(at) + ", " + w.arg(id) + ")")
	}
	sql := `SELECT t.body FROM tasks t JOIN cases c USING (case_id)` + w.sql() +
		` ORDER BY t.updated_at DESC, t.task_id DESC LIMIT ` + w.arg(f.PageSize+1)
	rows, err := st.pool.Query(ctx, sql, w.args...)
	if err != nil {
		return nil, "", fmt.Errorf("list tasks: %w", err)
	}
	tasks, err := pgx.CollectRows(rows, scanTask)
	if err != nil {
		return nil, "", fmt.Errorf("list tasks: %w", err)
	}
	next := ""
	if len(tasks) > f.PageSize {
		tasks = tasks[:f.PageSize]
		last := tasks[len(tasks)-1]
		next = pagetoken.Encode(last.UpdatedAt, last.ID)
	}
	return tasks, next, nil
}

// ListCases implements dispatch.Store: oldest first.
func (st *Store) ListCases(ctx context.Context, f dispatch.CaseFilter) ([]*dispatch.Case, string, error) {
	w := &where{}
	col := "queued_at"
	if f.Arbitration {
		col = "arbitration_at"
	}
	w.add(col + " IS NOT NULL")
	if f.Scope.Kind == policy.None {
		return nil, "", fault.New(fault.PermissionDenied, "no scope")
	}
	w.add(f.Scope.Where(policy.Columns{District: "district", Street: "street",
		Department: "EXISTS (SELECT 1 FROM tasks t WHERE t.case_id = cases.case_id AND t.department = %s)"}, w.arg))
	if f.PageToken != "" {
		at, id, err := pagetoken.Decode(f.PageToken)
		if err != nil {
			return nil, "", badToken()
		}
		w.add("(" + col + ", case_id) > (" + w.arg(at) + ", " + w.arg(id) + ")")
	}
	sql := `SELECT body, ` + col + ` FROM cases` + w.sql() + ` ORDER BY ` + col + `, case_id LIMIT ` + w.arg(f.PageSize+1)
	rows, err := st.pool.Query(ctx, sql, w.args...)
	if err != nil {
		return nil, "", fmt.Errorf("list cases: %w", err)
	}
	type row struct {
		c  *dispatch.Case
		at time.Time
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var body []byte
		var x row
		if err := r.Scan(&body, &x.at); err != nil {
			return x, err
		}
		x.c = &dispatch.Case{}
		return x, json.Unmarshal(body, x.c)
	})
	if err != nil {
		return nil, "", fmt.Errorf("list cases: %w", err)
	}
	next := ""
	if len(list) > f.PageSize {
		list = list[:f.PageSize]
		last := list[len(list)-1]
		next = pagetoken.Encode(last.at, last.c.ID)
	}
	out := make([]*dispatch.Case, len(list))
	for i, x := range list {
		out[i] = x.c
	}
	return out, next, nil
}

package postgres

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/idempotency"
	"github.com/gridflow/gridflow/pkg/outbox"
	"github.com/gridflow/gridflow/pkg/pagetoken"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/timer"
	"github.com/gridflow/gridflow/services/dispatch/internal/worktasks"
	"github.com/jackc/pgx/v5"
)

// Grid workers' tasks (issue 20): worker_tasks, patrol_cases and
// place_schedules, and the notifications of worker task events, which ride
// on the webhook deliveries (one table, one worker, one sender).

// WorkEncoder turns a worker task event into its outbox message.
type WorkEncoder func(e worktasks.Event) (outbox.Message, error)

// WorkStore is the worker tasks' store.
type WorkStore struct {
	st  *Store
	enc WorkEncoder
	// secret signs the workers' notifications (one secret for the register's
	// Notify URLs, DISPATCH_WORKER_NOTIFY_SECRET).
	secret []byte
}

var _ worktasks.Store = (*WorkStore)(nil)

// Work returns the worker tasks' store over st.
func (st *Store) Work(enc WorkEncoder, secret []byte) *WorkStore {
	return &WorkStore{st: st, enc: enc, secret: secret}
}

// workTx is one transaction of the worker tasks.
type workTx struct {
	ws *WorkStore
	tx pgx.Tx
}

// Bind gives the worker tasks' domain the transaction of a consumer or a
// timer.
func (ws *WorkStore) Bind(tx pgx.Tx) worktasks.Tx { return &workTx{ws: ws, tx: tx} }

// InWorkTx implements worktasks.Store.
func (ws *WorkStore) InWorkTx(ctx context.Context, fn func(ctx context.Context, tx worktasks.Tx) error) error {
	return ws.st.relay.InTx(ctx, ws.st.pool, func(ctx context.Context, tx pgx.Tx) error {
		return fn(ctx, ws.Bind(tx))
	})
}

func (w *workTx) SavePatrolCase(ctx context.Context, c worktasks.PatrolCase) error {
	_, err := w.tx.Exec(ctx, `INSERT INTO patrol_cases (case_id, case_number, worker_id, district, street, community, grid)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (case_id) DO NOTHING`,
		c.CaseID, c.CaseNumber, c.WorkerID, c.District, c.Street, c.Community, c.Grid)
	if err != nil {
		return fmt.Errorf("save patrol case: %w", pgdb.Translate(err))
	}
	return nil
}

func (w *workTx) PatrolCase(ctx context.Context, caseID string) (worktasks.PatrolCase, bool, error) {
	c := worktasks.PatrolCase{CaseID: caseID}
	err := w.tx.QueryRow(ctx, `SELECT case_number, worker_id, district, street, community, grid FROM patrol_cases WHERE case_id = $1`,
		caseID).Scan(&c.CaseNumber, &c.WorkerID, &c.District, &c.Street, &c.Community, &c.Grid)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, false, nil
	}
	if err != nil {
		return c, false, fmt.Errorf("read patrol case: %w", pgdb.Translate(err))
	}
	return c, true, nil
}

const workCols = `task_id, kind, state, worker_id, case_id, case_number, round, place_key, place_name, place_kind,
	district, street, community, grid, opened_at, warn_at, due_at, done_at, warned, overdue, escalated, outcome, note, finding_case_id`

func scanWork(row pgx.Row) (worktasks.Task, error) {
	var t worktasks.Task
	var id uuid.UUID
	var done *time.Time
	err := row.Scan(&id, &t.Kind, &t.State, &t.WorkerID, &t.CaseID, &t.CaseNumber, &t.Round, &t.PlaceKey, &t.PlaceName, &t.PlaceKind,
		&t.District, &t.Street, &t.Community, &t.Grid, &t.OpenedAt, &t.WarnAt, &t.DueAt, &done, &t.Warned, &t.Overdue, &t.Escalated,
		&t.Outcome, &t.Note, &t.FindingCaseID)
	t.ID = id.String()
	if done != nil {
		t.DoneAt = done.UTC()
	}
	t.OpenedAt, t.WarnAt, t.DueAt = t.OpenedAt.UTC(), t.WarnAt.UTC(), t.DueAt.UTC()
	return t, err
}

func doneAt(t worktasks.Task) *time.Time {
	if t.DoneAt.IsZero() {
		return nil
	}
	return &t.DoneAt
}

func (w *workTx) InsertTask(ctx context.Context, t worktasks.Task) (bool, error) {
	tag, err := w.tx.Exec(ctx, `INSERT INTO worker_tasks (`+workCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)
		ON CONFLICT DO NOTHING`,
		t.ID, t.Kind, t.State, t.WorkerID, t.CaseID, t.CaseNumber, t.Round, t.PlaceKey, t.PlaceName, t.PlaceKind,
		t.District, t.Street, t.Community, t.Grid, t.OpenedAt, t.WarnAt, t.DueAt, doneAt(t), t.Warned, t.Overdue, t.Escalated,
		t.Outcome, t.Note, t.FindingCaseID)
	if err != nil {
		return false, fmt.Errorf("insert worker task: %w", pgdb.Translate(err))
	}
	return tag.RowsAffected() == 1, nil
}

func (w *workTx) UpdateTask(ctx context.Context, t worktasks.Task) error {
	_, err := w.tx.Exec(ctx, `UPDATE worker_tasks SET state = $2, done_at = $3, warned = $4, overdue = $5, escalated = $6,
		outcome = $7, note = $8, finding_case_id = $9 WHERE task_id = $1`,
		t.ID, t.State, doneAt(t), t.Warned, t.Overdue, t.Escalated, t.Outcome, t.Note, t.FindingCaseID)
	if err != nil {
		return fmt.Errorf("update worker task: %w", pgdb.Translate(err))
	}
	return nil
}

func (w *workTx) LockTask(ctx context.Context, id string) (worktasks.Task, error) {
	if !validUUID(id) {
		return worktasks.Task{}, fault.NotFoundf("tasks/"+id, "no task %q", id)
	}
	t, err := scanWork(w.tx.QueryRow(ctx, `SELECT `+workCols+` FROM worker_tasks WHERE task_id = $1 FOR UPDATE`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return t, fault.NotFoundf("tasks/"+id, "no task %q", id)
	}
	if err != nil {
		return t, fmt.Errorf("read worker task: %w", pgdb.Translate(err))
	}
	return t, nil
}

// openTasks reads a kind's open tasks by its key. The kind is written into
// the statement, not passed: worker_tasks' indexes are partial on it, and a
// generic plan — the one the plan cache settles on — can read a partial
// index only where the statement itself states the index's predicate;
// with kind = $1 each lookup scanned the table (issue 17).
var openTasks = map[worktasks.Kind]string{
	worktasks.Recheck: `SELECT ` + workCols + ` FROM worker_tasks WHERE kind = 'recheck' AND case_id = $1 AND state = 'open'
		ORDER BY opened_at FOR UPDATE`,
	worktasks.Inspection: `SELECT ` + workCols + ` FROM worker_tasks WHERE kind = 'inspection' AND place_key = $1 AND state = 'open'
		ORDER BY opened_at FOR UPDATE`,
}

func (w *workTx) OpenTasks(ctx context.Context, kind worktasks.Kind, key string) ([]worktasks.Task, error) {
	sql, ok := openTasks[kind]
	if !ok {
		return nil, fmt.Errorf("open worker tasks: unknown kind %q", kind)
	}
	rows, err := w.tx.Query(ctx, sql, key)
	if err != nil {
		return nil, fmt.Errorf("open worker tasks: %w", pgdb.Translate(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (worktasks.Task, error) { return scanWork(r) })
	if err != nil {
		return nil, fmt.Errorf("open worker tasks: %w", pgdb.Translate(err))
	}
	return out, nil
}

func (w *workTx) LockPlace(ctx context.Context, key string) (worktasks.Place, bool, error) {
	p := worktasks.Place{Key: key}
	var next *time.Time
	err := w.tx.QueryRow(ctx, `SELECT version, name, kind, district, street, community, grid, every_months, retired, registered_at, next_due
		FROM place_schedules WHERE place_key = $1 FOR UPDATE`, key).Scan(&p.Version, &p.Name, &p.Kind, &p.District, &p.Street,
		&p.Community, &p.Grid, &p.EveryMonths, &p.Retired, &p.RegisteredAt, &next)
	if errors.Is(err, pgx.ErrNoRows) {
		return p, false, nil
	}
	if err != nil {
		return p, false, fmt.Errorf("read place schedule: %w", pgdb.Translate(err))
	}
	p.RegisteredAt = p.RegisteredAt.UTC()
	if next != nil {
		p.NextDue = next.UTC()
	}
	return p, true, nil
}

func (w *workTx) SavePlace(ctx context.Context, p worktasks.Place) error {
	var next *time.Time
	if !p.NextDue.IsZero() {
		next = &p.NextDue
	}
	_, err := w.tx.Exec(ctx, `INSERT INTO place_schedules (place_key, version, name, kind, district, street, community, grid,
			every_months, retired, registered_at, next_due) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		ON CONFLICT (place_key) DO UPDATE SET version = EXCLUDED.version, name = EXCLUDED.name, kind = EXCLUDED.kind,
			district = EXCLUDED.district, street = EXCLUDED.street, community = EXCLUDED.community, grid = EXCLUDED.grid,
			every_months = EXCLUDED.every_months, retired = EXCLUDED.retired, next_due = EXCLUDED.next_due`,
		p.Key, int64(p.Version), p.Name, p.Kind, p.District, p.Street, p.Community, p.Grid, p.EveryMonths, p.Retired, p.RegisteredAt, next)
	if err != nil {
		return fmt.Errorf("save place schedule: %w", pgdb.Translate(err))
	}
	return nil
}

func (w *workTx) Schedule(ctx context.Context, kind, key string, at time.Time) error {
	return timer.Schedule(ctx, w.tx, kind, key, at, []byte(key))
}

func (w *workTx) Cancel(ctx context.Context, kind, key string) error {
	return timer.Cancel(ctx, w.tx, kind, key)
}

// workerHookID is the webhook row that stands for a worker's Notify URL: a
// name-based uuid, so each worker has one.
func workerHookID(worker string) uuid.UUID {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("gridflow:worker:"+worker))
}

// Emit implements worktasks.Tx: the outbox row, and with a Notify URL a
// delivery to it, queued like a department's webhook delivery (the worker
// "registration" follows the register's URL at each event).
func (w *workTx) Emit(ctx context.Context, e worktasks.Event, notifyURL string) error {
	m, err := w.ws.enc(e)
	if err != nil {
		return err
	}
	if err := outbox.Enqueue(ctx, w.tx, m); err != nil {
		return err
	}
	if notifyURL == "" {
		return nil
	}
	hook := workerHookID(e.Task.WorkerID)
	secret := w.ws.secret
	if len(secret) == 0 { // never empty: an unsigned notification is refused by every sink
		sum := sha256.Sum256([]byte("gridflow-worker-notify"))
		secret = sum[:]
	}
	now := time.Now().UTC()
	if _, err := w.tx.Exec(ctx, `INSERT INTO webhooks (webhook_id, department, url, events, secret, created_by, created_at)
		VALUES ($1, $2, $3, '{}', $4, 'system:dispatch', $5)
		ON CONFLICT (webhook_id) DO UPDATE SET url = EXCLUDED.url, secret = EXCLUDED.secret`,
		hook, "worker:"+e.Task.WorkerID, notifyURL, secret, now); err != nil {
		return fmt.Errorf("worker notify registration: %w", pgdb.Translate(err))
	}
	if _, err := w.tx.Exec(ctx, `INSERT INTO webhook_deliveries (delivery_id, webhook_id, department, district, street, event_id,
			event_type, case_id, payload, state, next_try, created_at, updated_at)
		VALUES (gen_random_uuid(), $1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $9, $9)
		ON CONFLICT (webhook_id, event_id) DO NOTHING`,
		hook, "worker:"+e.Task.WorkerID, e.Task.District, e.Task.Street, m.ID, e.Name, e.Task.CaseID, m.Data, now); err != nil {
		return fmt.Errorf("enqueue worker notification: %w", pgdb.Translate(err))
	}
	return nil
}

func (w *workTx) Begin(ctx context.Context, principal, requestID, method string, content any) (string, bool, error) {
	req, err := idempotency.NewRequest(principal, requestID, method, content)
	if err != nil {
		return "", false, err
	}
	prior, err := idempotency.Begin(ctx, w.tx, req)
	if err != nil || prior == nil {
		return "", false, err
	}
	return string(prior.Body), true, nil
}

func (w *workTx) Save(ctx context.Context, principal, requestID, method string, content any, taskID string) error {
	req, err := idempotency.NewRequest(principal, requestID, method, content)
	if err != nil {
		return err
	}
	return idempotency.Save(ctx, w.tx, req, idempotency.Result{Resource: "tasks/" + taskID, Body: []byte(taskID)})
}

// ListWorkerTasks implements worktasks.Store: open tasks first, by due time.
func (ws *WorkStore) ListWorkerTasks(ctx context.Context, f worktasks.Filter) ([]worktasks.Task, string, error) {
	size := pageSizeOf(f.PageSize)
	after, afterID := time.Time{}, uuid.Nil.String()
	if f.PageToken != "" {
		var err error
		if after, afterID, err = pagetoken.Decode(f.PageToken); err != nil {
			return nil, "", invalidToken()
		}
	}
	args := []any{f.WorkerID, f.IncludeClosed, after, afterID, size + 1}
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	var where string
	switch f.Scope.Kind {
	case policy.All, policy.Reporter:
		where = "TRUE" // a worker is narrowed to its own tasks by worker_id
	case policy.Street:
		where = "street = " + arg(f.Scope.Code)
	case policy.District:
		where = "starts_with(street, " + arg(f.Scope.Code) + ")"
	default:
		return nil, "", policy.ErrDenied("worker tasks")
	}
	rows, err := ws.st.pool.Query(ctx, `SELECT `+workCols+` FROM worker_tasks
		WHERE ($1 = '' OR worker_id = $1) AND ($2 OR state = 'open') AND `+where+` AND (due_at, task_id) > ($3, $4::uuid)
		ORDER BY due_at, task_id LIMIT $5`, args...)
	if err != nil {
		return nil, "", fmt.Errorf("list worker tasks: %w", pgdb.Translate(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (worktasks.Task, error) { return scanWork(r) })
	if err != nil {
		return nil, "", fmt.Errorf("list worker tasks: %w", pgdb.Translate(err))
	}
	next := ""
	if len(out) > size {
		out = out[:size]
		last := out[len(out)-1]
		next = pagetoken.Encode(last.DueAt, last.ID)
	}
	return out, next, nil
}

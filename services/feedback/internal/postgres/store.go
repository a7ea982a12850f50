// Package postgres keeps feedback's event log and views in its own schema.
// Events feedback writes go to the outbox, and its callback timers to
// pkg/timer, in the same transaction as the log rows that cause them;
// idempotent requests go through pkg/idempotency.
package postgres

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/idempotency"
	"github.com/gridflow/gridflow/pkg/outbox"
	"github.com/gridflow/gridflow/pkg/pagetoken"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/pkg/reloadlog"
	"github.com/gridflow/gridflow/pkg/timer"
	"github.com/gridflow/gridflow/services/feedback/internal/events"
	"github.com/gridflow/gridflow/services/feedback/internal/feedback"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// EventsChannelSQL names the channel a committed event is announced on
// (pgdb.Listen), one per schema.
const EventsChannelSQL = `left('gridflow_feedback_events_' || current_schema(), 63)`

// Schema is feedback's PostgreSQL schema.
const Schema = "feedback"

// Timer kinds; the key is the case id.
const (
	TimerCallbackWindow = "feedback.callback_window"
	TimerCallbackRetry  = "feedback.callback_retry"
)

//go:embed migrations/*.sql
var migrationsFS embed.FS

// Migrations are feedback's tables, after the shared ones.
var Migrations = []pgdb.Migrations{
	outbox.Migrations,
	consumer.Migrations,
	timer.Migrations,
	idempotency.Migrations,
	reloadlog.Migrations,
	{Name: "feedback", FS: migrationsFS, Dir: "migrations",
		Steps: []pgdb.Step{{Version: 6, Name: "mask_contacts", Run: maskContacts}}},
}

// Store implements feedback.Store and feedback.Reader.
type Store struct {
	pool      *pgxpool.Pool
	committed func()
	relay     *outbox.Relay // nil: the events wait for a relay's poll
	announcer *Announcer    // nil: InTx's transactions NOTIFY in themselves
}

var (
	_ feedback.Store  = (*Store)(nil)
	_ feedback.Reader = (*Store)(nil)
)

// New returns a store; committed (the relay's Notify) may be nil.
func New(pool *pgxpool.Pool, committed func()) *Store {
	if committed == nil {
		committed = func() {}
	}
	return &Store{pool: pool, committed: committed}
}

// WithRelay makes the events InTx's transactions write leave through
// relay's fast path, from memory, once they commit.
func (s *Store) WithRelay(relay *outbox.Relay) *Store {
	s.relay = relay
	return s
}

// InTx runs fn in a transaction of its own.
func (s *Store) InTx(ctx context.Context, fn func(feedback.Tx) error) error {
	quiet := s.announcer != nil
	err := s.relay.InTx(ctx, s.pool, func(ctx context.Context, tx pgx.Tx) error { return fn(&txn{tx: tx, scoped: ctx, quiet: quiet}) })
	if err == nil {
		s.committed()
		if quiet {
			s.announcer.Committed()
		}
	}
	return err
}

// WithAnnouncer makes InTx's transactions (the API's) quiet: a announces
// their events to watchers after they commit.
func (s *Store) WithAnnouncer(a *Announcer) *Store {
	s.announcer = a
	return s
}

// Bind gives the domain's view of a transaction someone else runs (the
// consumer runner's, the timer worker's: their contexts carry the relay's
// scope).
func (s *Store) Bind(tx pgx.Tx) feedback.Tx { return &txn{tx: tx} }

// BindQuiet is Bind for a transaction whose batch writes (SaveBatch) send
// no NOTIFY: its runner kicks an Announcer once it has committed.
func (s *Store) BindQuiet(tx pgx.Tx) feedback.Tx { return &txn{tx: tx, quiet: true} }

type txn struct {
	tx    pgx.Tx
	quiet bool // SaveBatch sends no NOTIFY (BindQuiet)
	// stored are the side rows of the views this transaction read
	// (LoadViews) or wrote, by case id; a case not in it has all its
	// side rows written (side.go).
	stored map[string]*sideRows
	// scoped is the context InTx began the transaction with: what SaveBatch
	// enqueues joins its outbox scope (nil when bound).
	scoped context.Context
	// pre is a command's (Command): it answers its first questions.
	pre *prefetch
}

// holder is the transaction when it holds its writes for its COMMIT
// (pgdb.Lazy: a command's, and the consumer's), else nil.
func (t *txn) holder() pgdb.Holder {
	h, _ := t.tx.(pgdb.Holder)
	return h
}

const lockCaseSQL = `SELECT pg_advisory_xact_lock(hashtext('gridflow-feedback'), hashtext($1))`

func (t *txn) LockCase(ctx context.Context, id string) error {
	if t.pre != nil && id == t.pre.caseID {
		return nil // locked in the command's first round trip
	}
	if _, err := t.tx.Exec(ctx, lockCaseSQL, id); err != nil {
		return fmt.Errorf("lock case %s: %w", id, err)
	}
	return nil
}

// LockCaseToSave locks case id and reads its stored view after the lock,
// in one round trip, to know the side rows it derived (side.go): a timer
// that fired then writes only the rows it changed rather than every one
// (issue 17). Callback timers are left unknown, so they are all set
// again: the timer worker may have removed the row that fired in this
// very transaction. (A command's later read of the view, LoadViews, keeps
// this first reading.)
func (t *txn) LockCaseToSave(ctx context.Context, id string) error {
	if _, known := t.stored[id]; known {
		return t.LockCase(ctx, id)
	}
	found := false
	b := &pgx.Batch{}
	b.Queue(lockCaseSQL, id)
	b.Queue(`SELECT body FROM cases WHERE case_id = $1`, id).Query(func(rows pgx.Rows) error {
		var body []byte
		_, err := pgx.ForEachRow(rows, []any{&body}, func() error {
			found = true
			_, err := t.rememberView(id, body) // another projection's: not remembered, written whole
			return err
		})
		return err
	})
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("lock case %s: %w", id, pgdb.Translate(err))
	}
	if !found {
		t.remember(id, noRows(id))
	}
	if rows := t.stored[id]; rows != nil {
		rows.timers = nil
	}
	return nil
}

// LockCases takes the locks LockCase takes for every case of ids, in one
// statement and in the order of the lock keys (not of the ids: two ids
// whose hashes collide are one lock), so that transactions locking
// overlapping sets of cases take them in one order and cannot deadlock.
func LockCases(ctx context.Context, tx pgx.Tx, ids []string) error {
	return pgdb.LockKeys(ctx, tx, "gridflow-feedback", ids)
}

func (t *txn) Events(ctx context.Context, caseID string) ([]feedback.Event, error) {
	return queryEvents(ctx, t.tx, `SELECT seq, envelope FROM events WHERE case_id = $1 ORDER BY seq`, caseID)
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func queryEvents(ctx context.Context, q querier, sql string, args ...any) ([]feedback.Event, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("events: %w", pgdb.Translate(err))
	}
	var out []feedback.Event
	for rows.Next() {
		var seq int64
		var raw []byte
		if err := rows.Scan(&seq, &raw); err != nil {
			return nil, err
		}
		e, err := events.DecodeStored(raw)
		if err != nil {
			return nil, fmt.Errorf("stored event %d: %w", seq, err)
		}
		e.Seq = seq
		out = append(out, e)
	}
	return out, rows.Err()
}

func (t *txn) LoadCase(ctx context.Context, id string) (*feedback.Case, error) {
	if p := t.fresh(); p != nil && !p.view && id == p.caseID {
		c, stored := p.views[id]
		if !stored {
			return nil, noCase(id)
		}
		if c != nil { // else another projection's view: read as stored
			p.view = true
			return c, nil
		}
	}
	return loadCase(ctx, t.tx, `WHERE case_id = $1`, id)
}

func noCase(arg any) error { return fault.NotFoundf(fmt.Sprintf("cases/%v", arg), "no case %v", arg) }

func loadCase(ctx context.Context, q querier, where string, arg any) (*feedback.Case, error) {
	var body []byte
	err := q.QueryRow(ctx, `SELECT body FROM cases `+where+` LIMIT 1`, arg).Scan(&body)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, noCase(arg)
	}
	if err != nil {
		return nil, fmt.Errorf("load case: %w", pgdb.Translate(err))
	}
	c := &feedback.Case{}
	return c, json.Unmarshal(body, c)
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// SaveCase writes the case's view and the rows kept beside it — its
// replies, figure rows, patrol report and callback timers — in one round
// trip (a pgx.Batch): none of them reads what another writes. The
// statements are those a batch's views take (queueViews).
func (t *txn) SaveCase(ctx context.Context, c *feedback.Case) error {
	b := &pgx.Batch{}
	if err := t.queueViews(b, []*feedback.Case{c}); err != nil {
		return err
	}
	if err := t.tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("save case %s: %w", c.ID, pgdb.Translate(err))
	}
	return nil
}

// callbackTimers keep a case's callback timers in line with its view: set
// while it is replied (and has the time), cancelled otherwise.
func callbackTimers(c *feedback.Case) []timer.Op {
	replied := c.State == feedback.Replied
	op := func(kind string, at time.Time) timer.Op {
		return timer.Op{Kind: kind, Key: c.ID, At: at, Cancel: !replied || at.IsZero()}
	}
	return []timer.Op{op(TimerCallbackWindow, c.CallbackDue), op(TimerCallbackRetry, c.RetryAt)}
}

// dependentsSQL lists the cases merged into $1. Its test that
// primary_case_id is not empty lets the generic plan of this prepared
// statement use the partial index cases_primary: without it, after its
// fifth run, it scanned every case at each resolution (issue 17).
const dependentsSQL = `SELECT case_id FROM cases WHERE primary_case_id = $1 AND primary_case_id <> '' AND case_id <> $1
		ORDER BY case_id`

func (t *txn) Dependents(ctx context.Context, primaryID string) ([]string, error) {
	if p := t.fresh(); p != nil && !p.dependents && primaryID == p.caseID {
		p.dependents = true
		return p.deps, nil
	}
	rows, err := t.tx.Query(ctx, dependentsSQL, primaryID)
	if err != nil {
		return nil, fmt.Errorf("dependents: %w", pgdb.Translate(err))
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// requestOutcome is how feedback stores a request's first answer (the body
// of its idempotency_requests row), as JSON: the id of the callback or
// re-check it recorded. A repeat answers with that id and the case as it
// is then.
type requestOutcome struct {
	ID string `json:"id"`
}

func (t *txn) BeginRequest(ctx context.Context, req feedback.Request) (string, bool, error) {
	key, err := idempotency.NewRequest(req.Principal, req.ID, req.Method, req.Content)
	if err != nil {
		return "", false, err
	}
	prior, fetched, err := t.prefetchedRequest(key)
	if !fetched {
		prior, err = idempotency.Begin(ctx, t.tx, key)
	}
	if err != nil || prior == nil {
		return "", false, err
	}
	var o requestOutcome
	if err := json.Unmarshal(prior.Body, &o); err != nil {
		return "", false, fmt.Errorf("request %s: decode stored outcome: %w", req.ID, err)
	}
	return o.ID, true, nil
}

func (t *txn) SaveRequest(ctx context.Context, req feedback.Request, resource, outcome string) error {
	key, err := idempotency.NewRequest(req.Principal, req.ID, req.Method, req.Content)
	if err != nil {
		return err
	}
	body, err := json.Marshal(requestOutcome{ID: outcome})
	if err != nil {
		return err
	}
	res := idempotency.Result{Resource: resource, Body: body}
	if h := t.holder(); h != nil {
		return idempotency.QueueSave(h.Held(), key, res) // sent with the COMMIT
	}
	return idempotency.Save(ctx, t.tx, key, res)
}

func (t *txn) ResetViews(ctx context.Context) error {
	_, err := t.tx.Exec(ctx, `TRUNCATE cases, replies, figure_cases, figure_tasks, patrol_reports`) // patrol_reports: issue 20
	return err
}

func (t *txn) CaseIDs(ctx context.Context) ([]string, error) {
	rows, err := t.tx.Query(ctx, `SELECT DISTINCT case_id FROM events ORDER BY case_id`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// FindCase reads a case by id, number or hotline order number.
func (s *Store) FindCase(ctx context.Context, id, number, orderNo string) (*feedback.Case, error) {
	switch {
	case id != "":
		return loadCase(ctx, s.pool, `WHERE case_id = $1`, id)
	case number != "":
		return loadCase(ctx, s.pool, `WHERE case_number = $1`, number)
	default:
		return loadCase(ctx, s.pool, `WHERE hotline_order_no = $1`, orderNo)
	}
}

// LeadDepartments maps each of ids with a view to its lead department.
func (s *Store) LeadDepartments(ctx context.Context, ids []string) (map[string]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT case_id, lead_department FROM cases WHERE case_id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("lead departments: %w", err)
	}
	out := make(map[string]string, len(ids))
	var id, lead string
	if _, err := pgx.ForEachRow(rows, []any{&id, &lead}, func() error { out[id] = lead; return nil }); err != nil {
		return nil, fmt.Errorf("lead departments: %w", err)
	}
	return out, nil
}

// pageKey reads a keyset page token (pkg/pagetoken): the last row's time and id.
func pageKey(tok string) (time.Time, string, error) {
	at, id, err := pagetoken.Decode(tok)
	if err != nil {
		var v fault.Violations
		v.Add("page_token", "is not a token this list returned")
		return time.Time{}, "", v.Err()
	}
	return at, id, nil
}

// ListCases lists cases newest first.
func (s *Store) ListCases(ctx context.Context, f feedback.Filter) ([]*feedback.Case, string, error) {
	where, args := caseWhere(f)
	if f.PageToken != "" {
		at, id, err := pageKey(f.PageToken)
		if err != nil {
			return nil, "", err
		}
		args = append(args, at, id)
		where = append(where, fmt.Sprintf("(coalesce(received_at, 'epoch'), case_id) < ($%d, $%d)", len(args)-1, len(args)))
	}
	size := pageSize(f.PageSize, 50)
	args = append(args, size+1)
	q := `SELECT body FROM cases`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += fmt.Sprintf(` ORDER BY coalesce(received_at, 'epoch') DESC, case_id DESC LIMIT $%d`, len(args))
	cases, err := s.queryCases(ctx, q, args...)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(cases) > size {
		cases = cases[:size]
		last := cases[size-1]
		at := last.ReceivedAt
		if at.IsZero() {
			at = time.Unix(0, 0).UTC()
		}
		next = pagetoken.Encode(at, last.ID)
	}
	return cases, next, nil
}

// scopeColumns are where the cases view keeps what a caller's scope decides
// on (pkg/policy), with the table's alias a.
func scopeColumns(a string) policy.Columns {
	return policy.Columns{Source: a + "source", District: a + "district_code", Street: a + "street_code",
		Community: a + "community_code", Worker: a + "worker", Department: a + "departments @> ARRAY[%s::text]",
		Grid: a + "grid_code"} // a grid leader's reach (issue 20)
}

func caseWhere(f feedback.Filter) ([]string, []any) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "$?", fmt.Sprintf("$%d", len(args))))
	}
	where = append(where, f.Scope.Where(scopeColumns(""), func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}))
	switch {
	case len(f.States) == 1:
		// One state as an equality: cases_state_order (migration 12) then
		// gives its newest cases in the list's order, where = ANY would
		// leave the planner to guess between walking the order index and
		// sorting every case in the state.
		add(`state = $?`, string(f.States[0]))
	case len(f.States) > 1:
		st := make([]string, len(f.States))
		for i, x := range f.States {
			st[i] = string(x)
		}
		add(`state = ANY($?)`, st)
	}
	if f.AreaCode != "" {
		add(`$? IN (district_code, street_code, community_code, grid_code)`, f.AreaCode)
	}
	if f.Department != "" {
		// @> rather than = ANY: the same test, which cases_departments
		// (GIN, migration 12) answers without reading every case.
		add(`departments @> ARRAY[$?::text]`, f.Department)
	}
	// The public door's filters (issue 19).
	if len(f.CaseIDs) > 0 {
		add(`(case_id = ANY($?) OR case_number = ANY($?))`, f.CaseIDs)
	}
	if f.ServiceCode != "" {
		add(`body->'Public'->>'ServiceCode' = $?`, f.ServiceCode)
	}
	if f.ItemCode != "" {
		if prefix, ok := classPrefix(f.ItemCode); ok {
			add(`starts_with(item_code, $?)`, prefix)
		} else {
			add(`item_code = $?`, f.ItemCode)
		}
	}
	if f.Source != "" {
		add(`source = $?`, string(f.Source))
	}
	if !f.From.IsZero() {
		add(`received_at >= $?`, f.From)
	}
	if !f.To.IsZero() {
		add(`received_at < $?`, f.To)
	}
	return where, args
}

func (s *Store) queryCases(ctx context.Context, q string, args ...any) ([]*feedback.Case, error) {
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("cases: %w", pgdb.Translate(err))
	}
	var out []*feedback.Case
	for rows.Next() {
		var body []byte
		if err := rows.Scan(&body); err != nil {
			return nil, err
		}
		c := &feedback.Case{}
		if err := json.Unmarshal(body, c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Timeline lists a case's events in log order.
func (s *Store) Timeline(ctx context.Context, caseID string) ([]feedback.Event, error) {
	return queryEvents(ctx, s.pool, `SELECT seq, envelope FROM events WHERE case_id = $1 ORDER BY seq`, caseID)
}

// LogAfter lists events after the one numbered seq, for watchers.
//
// One case's events are written under its lock, so they become visible in
// seq order. The whole log is not: transactions on different cases run at
// once, and one that drew a lower seq may commit after one that drew a
// higher. So the whole log is read in the order of the writing transactions
// (xid, then seq) and only below the oldest transaction still running:
// those rows are final, and nothing can appear later before them. A cursor
// stays the seq of the last event read; its row gives its xid.
func (s *Store) LogAfter(ctx context.Context, seq int64, caseID string, limit int) ([]feedback.Event, error) {
	if caseID != "" {
		return queryEvents(ctx, s.pool, `SELECT seq, envelope FROM events WHERE seq > $1 AND case_id = $2 ORDER BY seq LIMIT $3`, seq, caseID, limit)
	}
	return queryEvents(ctx, s.pool, `SELECT seq, envelope FROM events
		WHERE (xid, seq) > (coalesce((SELECT xid FROM events WHERE seq = $1), '0'::xid8), $1)
			AND xid < pg_snapshot_xmin(pg_current_snapshot())
		ORDER BY xid, seq LIMIT $2`, seq, limit)
}

// LastSeq is the log's position now for a watcher of the whole log (see
// LogAfter): its last final event.
func (s *Store) LastSeq(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT coalesce((SELECT seq FROM events WHERE xid < pg_snapshot_xmin(pg_current_snapshot())
		ORDER BY xid DESC, seq DESC LIMIT 1), 0)`).Scan(&n)
	return n, err
}

// MaxPageSize is the most one page of a list holds. A larger page_size is
// coerced to it (AIP-158), not refused and not reset to the default.
const MaxPageSize = 500

// pageSize is the page a list returns: def for 0 (negative sizes are refused
// before the store), at most MaxPageSize.
func pageSize(n, def int) int {
	switch {
	case n <= 0:
		return def
	case n > MaxPageSize:
		return MaxPageSize
	}
	return n
}

// ListReplies lists replies oldest first.
func (s *Store) ListReplies(ctx context.Context, sc policy.Scope, caseID string, since time.Time, size int, token string) ([]feedback.ReplyOf, string, error) {
	size = pageSize(size, 100)
	args := []any{since}
	q := `SELECT r.body, r.case_id, c.case_number, c.hotline_order_no, r.replied_at, r.reply_id
		FROM replies r JOIN cases c USING (case_id) WHERE r.replied_at >= $1 AND ` + sc.Where(scopeColumns("c."), func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	})
	if caseID != "" {
		args = append(args, caseID)
		q += fmt.Sprintf(` AND r.case_id = $%d`, len(args))
	}
	if token != "" {
		at, id, err := pageKey(token)
		if err != nil {
			return nil, "", err
		}
		args = append(args, at, id)
		q += fmt.Sprintf(` AND (r.replied_at, r.reply_id) > ($%d, $%d)`, len(args)-1, len(args))
	}
	args = append(args, size+1)
	q += fmt.Sprintf(` ORDER BY r.replied_at, r.reply_id LIMIT $%d`, len(args))
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("replies: %w", pgdb.Translate(err))
	}
	type key struct {
		at time.Time
		id string
	}
	var out []feedback.ReplyOf
	var keys []key
	for rows.Next() {
		var body []byte
		var r feedback.ReplyOf
		var k key
		if err := rows.Scan(&body, &r.CaseID, &r.CaseNumber, &r.HotlineOrderNo, &k.at, &k.id); err != nil {
			return nil, "", err
		}
		if err := json.Unmarshal(body, &r.Reply); err != nil {
			return nil, "", err
		}
		out, keys = append(out, r), append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > size {
		out = out[:size]
		next = pagetoken.Encode(keys[size-1].at, keys[size-1].id)
	}
	return out, next, nil
}

// classPrefix is what the item codes of class code begin with, when code
// names a class: the class form "<class>000" ("06000", the hotline tree's
// "H01000"), or an urban class's two digits as DOMAIN.md writes them ("06").
// An item code is not a class.
func classPrefix(code string) (string, bool) {
	if prefix, ok := strings.CutSuffix(code, "000"); ok && prefix != "" {
		return prefix, true
	}
	if len(code) == 2 && code[0] >= '0' && code[0] <= '9' && code[1] >= '0' && code[1] <= '9' {
		return code, true
	}
	return "", false
}

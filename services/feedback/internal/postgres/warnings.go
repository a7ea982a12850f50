package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/idempotency"
	"github.com/gridflow/gridflow/pkg/outbox"
	"github.com/gridflow/gridflow/pkg/pagetoken"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/services/feedback/internal/events"
	"github.com/gridflow/gridflow/services/feedback/internal/warning"
	"github.com/jackc/pgx/v5"
)

// Early warning (issue 20): warning.Store over the warnings table
// (migration 0011), counting from figure_cases.

// Warnings is the warning store; it shares the feedback store's pool and
// relay.
type Warnings struct{ s *Store }

var _ warning.Store = Warnings{}

// Warnings returns the warning store.
func (s *Store) Warnings() Warnings { return Warnings{s} }

// warningLock is the advisory lock one evaluator holds at a time.
const warningLock = `SELECT pg_try_advisory_xact_lock(hashtext('gridflow-feedback'), hashtext('warnings.evaluation'))`

type warnTx struct {
	tx     pgx.Tx
	scoped context.Context
}

// InTx implements warning.Store.
func (w Warnings) InTx(ctx context.Context, fn func(warning.Tx) error) error {
	err := w.s.relay.InTx(ctx, w.s.pool, func(ctx context.Context, tx pgx.Tx) error { return fn(&warnTx{tx: tx, scoped: ctx}) })
	if err == nil {
		w.s.committed()
	}
	return err
}

var errBusy = errors.New("another evaluator holds the warnings")

// Evaluation implements warning.Store: the transaction-scoped advisory
// lock makes one evaluator at a time across replicas; another one skips
// its turn instead of waiting, since it would find nothing left to do.
func (w Warnings) Evaluation(ctx context.Context, fn func(warning.Tx) error) (bool, error) {
	err := w.InTx(ctx, func(t warning.Tx) error {
		var got bool
		if err := t.(*warnTx).tx.QueryRow(ctx, warningLock).Scan(&got); err != nil {
			return fmt.Errorf("warnings lock: %w", err)
		}
		if !got {
			return errBusy
		}
		return fn(t)
	})
	if errors.Is(err, errBusy) {
		return false, nil
	}
	return err == nil, err
}

// Counts implements warning.Tx: per street, the places (place key, else
// grid) and subjects (item codes) with at least minCount non-excluded cases
// received in [start, start+window), with their count over the baseline
// windows before it.
func (t *warnTx) Counts(ctx context.Context, s warning.Span, start time.Time, minCount int) ([]warning.Count, error) {
	from, end := start.Add(-time.Duration(s.BaselineWindows)*s.Window), start.Add(s.Window)
	rows, err := t.tx.Query(ctx, `WITH c AS (
			SELECT fc.street_code, kk.k, kk.key, fc.place, fc.case_id, fc.received_at, fc.item_name
			FROM figure_cases fc CROSS JOIN LATERAL (VALUES ('place', fc.place), ('subject', fc.item_code)) AS kk(k, key)
			WHERE NOT fc.excluded AND fc.received_at >= $1 AND fc.received_at < $2
				AND fc.street_code NOT IN ('', '0') AND kk.key NOT IN ('', '0'))
		SELECT street_code, k, key, cur, base, places, ids, label FROM (
			SELECT street_code, k, key,
				count(*) FILTER (WHERE received_at >= $3) AS cur,
				count(*) FILTER (WHERE received_at < $3) AS base,
				count(DISTINCT place) FILTER (WHERE received_at >= $3) AS places,
				(array_agg(case_id ORDER BY received_at, case_id) FILTER (WHERE received_at >= $3))[1:$5] AS ids,
				(array_agg(item_name ORDER BY received_at DESC) FILTER (WHERE received_at >= $3))[1] AS label
			FROM c GROUP BY 1, 2, 3) g
		WHERE cur >= $4 ORDER BY street_code, k, key`, from, end, start, minCount, warning.MaxCaseIDs)
	if err != nil {
		return nil, fmt.Errorf("warning counts: %w", pgdb.Translate(err))
	}
	var out []warning.Count
	for rows.Next() {
		var c warning.Count
		var kind string
		var label *string
		if err := rows.Scan(&c.Street, &kind, &c.Key, &c.Current, &c.Baseline, &c.Places, &c.CaseIDs, &label); err != nil {
			return nil, err
		}
		c.Kind, c.Label = warning.Kind(kind), c.Key
		if c.Kind == warning.Subject && label != nil && *label != "" {
			c.Label = *label
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// storedReasons is warning.Reasons as the reasons column keeps it.
type storedReasons struct {
	Count    int        `json:"count"`
	Baseline float64    `json:"baseline"`
	Rise     float64    `json:"rise"`
	CaseIDs  []string   `json:"case_ids"`
	Rule     storedRule `json:"rule"`
}

type storedRule struct {
	Name            string        `json:"name"`
	MinCount        int           `json:"min_count"`
	Rise            float64       `json:"rise"`
	Window          time.Duration `json:"window_ns"`
	BaselineWindows int           `json:"baseline_windows"`
	FurtherStep     float64       `json:"further_step"`
}

const warningColumns = `warning_id, kind, street_code, key, label, window_start, window_end, state, level, raised_at,
	reasons, acted_by, acted_at, note, dismissed_rise`

func scanWarning(row pgx.Row) (*warning.Warning, error) {
	var w warning.Warning
	var kind, state string
	var reasons []byte
	var actedAt *time.Time
	if err := row.Scan(&w.ID, &kind, &w.Key.Street, &w.Key.Key, &w.Label, &w.Key.WindowStart, &w.Key.WindowEnd, &state, &w.Level,
		&w.RaisedAt, &reasons, &w.ActedBy, &actedAt, &w.Note, &w.DismissedRise); err != nil {
		return nil, err
	}
	w.Key.Kind, w.State = warning.Kind(kind), warning.State(state)
	w.Key.WindowStart, w.Key.WindowEnd, w.RaisedAt = w.Key.WindowStart.UTC(), w.Key.WindowEnd.UTC(), w.RaisedAt.UTC()
	if actedAt != nil {
		w.ActedAt = actedAt.UTC()
	}
	var r storedReasons
	if err := json.Unmarshal(reasons, &r); err != nil {
		return nil, fmt.Errorf("warning %s: reasons: %w", w.ID, err)
	}
	w.Reasons = warning.Reasons{Count: r.Count, Baseline: r.Baseline, Rise: r.Rise, CaseIDs: r.CaseIDs,
		Rule: warning.Rule{Name: r.Rule.Name, MinCount: r.Rule.MinCount, Rise: r.Rule.Rise, Window: r.Rule.Window,
			BaselineWindows: r.Rule.BaselineWindows, FurtherStep: r.Rule.FurtherStep}}
	return &w, nil
}

// Warnings implements warning.Tx.
func (t *warnTx) Warnings(ctx context.Context, ids []string) (map[string]*warning.Warning, error) {
	rows, err := t.tx.Query(ctx, `SELECT `+warningColumns+` FROM warnings WHERE warning_id = ANY($1) ORDER BY warning_id FOR UPDATE`, ids)
	if err != nil {
		return nil, fmt.Errorf("warnings: %w", pgdb.Translate(err))
	}
	defer rows.Close()
	out := map[string]*warning.Warning{}
	for rows.Next() {
		w, err := scanWarning(rows)
		if err != nil {
			return nil, err
		}
		out[w.ID] = w
	}
	return out, rows.Err()
}

// Save implements warning.Tx: the warning and its event in one transaction.
func (t *warnTx) Save(ctx context.Context, w *warning.Warning, e warning.Event) error {
	r := w.Reasons
	reasons, err := json.Marshal(storedReasons{Count: r.Count, Baseline: r.Baseline, Rise: r.Rise, CaseIDs: r.CaseIDs,
		Rule: storedRule{Name: r.Rule.Name, MinCount: r.Rule.MinCount, Rise: r.Rule.Rise, Window: r.Rule.Window,
			BaselineWindows: r.Rule.BaselineWindows, FurtherStep: r.Rule.FurtherStep}})
	if err != nil {
		return err
	}
	var actedAt *time.Time
	if !w.ActedAt.IsZero() {
		actedAt = &w.ActedAt
	}
	if _, err := t.tx.Exec(ctx, `INSERT INTO warnings (`+warningColumns+`, district_code)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
		ON CONFLICT (warning_id) DO UPDATE SET label = EXCLUDED.label, state = EXCLUDED.state, level = EXCLUDED.level,
			raised_at = EXCLUDED.raised_at, reasons = EXCLUDED.reasons, acted_by = EXCLUDED.acted_by,
			acted_at = EXCLUDED.acted_at, note = EXCLUDED.note, dismissed_rise = EXCLUDED.dismissed_rise`,
		w.ID, string(w.Key.Kind), w.Key.Street, w.Key.Key, w.Label, w.Key.WindowStart, w.Key.WindowEnd, string(w.State), w.Level,
		w.RaisedAt, reasons, w.ActedBy, actedAt, w.Note, w.DismissedRise, w.Key.District()); err != nil {
		return fmt.Errorf("save warning %s: %w", w.ID, pgdb.Translate(err))
	}
	m, err := events.EncodeWarning(e)
	if err != nil {
		return err
	}
	return outbox.Enqueue(outbox.Within(ctx, t.scoped), t.tx, m)
}

// BeginRequest implements warning.Tx.
func (t *warnTx) BeginRequest(ctx context.Context, r warning.Request) (string, bool, error) {
	key, err := idempotency.NewRequest(r.Principal, r.ID, r.Method, r.Content)
	if err != nil {
		return "", false, err
	}
	prior, err := idempotency.Begin(ctx, t.tx, key)
	if err != nil || prior == nil {
		return "", false, err
	}
	var o requestOutcome
	if err := json.Unmarshal(prior.Body, &o); err != nil {
		return "", false, fmt.Errorf("request %s: decode stored outcome: %w", r.ID, err)
	}
	return o.ID, true, nil
}

// SaveRequest implements warning.Tx.
func (t *warnTx) SaveRequest(ctx context.Context, r warning.Request, id string) error {
	key, err := idempotency.NewRequest(r.Principal, r.ID, r.Method, r.Content)
	if err != nil {
		return err
	}
	body, err := json.Marshal(requestOutcome{ID: id})
	if err != nil {
		return err
	}
	return idempotency.Save(ctx, t.tx, key, idempotency.Result{Resource: "warnings/" + id, Body: body})
}

// Get implements warning.Store; nil when there is no such warning.
func (w Warnings) Get(ctx context.Context, id string) (*warning.Warning, error) {
	got, err := scanWarning(w.s.pool.QueryRow(ctx, `SELECT `+warningColumns+` FROM warnings WHERE warning_id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("warning %s: %w", id, pgdb.Translate(err))
	}
	return got, nil
}

// List implements warning.Store: newest raised first, keyed by (raised_at,
// warning_id) for the page token.
func (w Warnings) List(ctx context.Context, f warning.Filter) ([]warning.Warning, string, error) {
	args := []any{}
	where := "true"
	add := func(cond string, v any) {
		args = append(args, v)
		where += fmt.Sprintf(" AND "+cond, len(args))
	}
	if f.State != "" {
		add("state = $%d", string(f.State))
	}
	if f.Kind != "" {
		add("kind = $%d", string(f.Kind))
	}
	if f.Area != "" {
		add("starts_with(street_code, $%d)", f.Area)
	}
	if f.PageToken != "" {
		at, id, err := pagetoken.Decode(f.PageToken)
		if err != nil {
			var v fault.Violations
			v.Add("page_token", "is not a token this list returned")
			return nil, "", v.Err()
		}
		args = append(args, at, id)
		where += fmt.Sprintf(" AND (raised_at, warning_id) < ($%d, $%d)", len(args)-1, len(args))
	}
	args = append(args, f.PageSize+1)
	rows, err := w.s.pool.Query(ctx, `SELECT `+warningColumns+` FROM warnings WHERE `+where+`
		ORDER BY raised_at DESC, warning_id DESC LIMIT $`+fmt.Sprint(len(args)), args...)
	if err != nil {
		return nil, "", fmt.Errorf("list warnings: %w", pgdb.Translate(err))
	}
	defer rows.Close()
	var out []warning.Warning
	for rows.Next() {
		got, err := scanWarning(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, *got)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > f.PageSize {
		out = out[:f.PageSize]
		last := out[len(out)-1]
		next = pagetoken.Encode(last.RaisedAt, last.ID)
	}
	return out, next, nil
}

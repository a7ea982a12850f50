package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/services/feedback/internal/feedback"
	"github.com/jackc/pgx/v5"
)

// queueFacts queues on b the writes of w's figure_cases and figure_tasks
// rows (migration 0003), a statement per table and kind of write for them
// all (issue 17). A case without a receipt time is in no period and has
// none; a task row is written when it changed (sideWrites.addTasks).
func queueFacts(b *pgx.Batch, w *sideWrites) {
	if len(w.tasksGone) > 0 {
		b.Queue(`DELETE FROM figure_tasks WHERE case_id = ANY($1)`, w.tasksGone)
	}
	if n := len(w.taskRowsGone); n > 0 {
		cases, tasks := make([]string, n), make([]string, n)
		for i, t := range w.taskRowsGone {
			cases[i], tasks[i] = t.caseID, t.id
		}
		b.Queue(`DELETE FROM figure_tasks f USING unnest($1::text[], $2::text[]) AS g (c, t)
			WHERE f.case_id = g.c AND f.task_id = g.t`, cases, tasks)
	}
	if len(w.figuresGone) > 0 {
		b.Queue(`DELETE FROM figure_cases WHERE case_id = ANY($1)`, w.figuresGone)
	}
	if n := len(w.figures); n > 0 {
		var (
			ids, districts, streets, communities, grids, sources  = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
			places, items, names, leads, appeals                  = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
			received                                              = make([]time.Time, n)
			excluded, closed, reworked, selfDisposed              = make([]bool, n), make([]bool, n), make([]bool, n), make([]bool, n)
			valid, unreached, contacted, solved, satisfied, basic = make([]int32, n), make([]int32, n), make([]int32, n), make([]int32, n), make([]int32, n), make([]int32, n)
		)
		for i, f := range w.figures {
			ids[i], districts[i], streets[i], communities[i], grids[i], sources[i] = f.id, f.district, f.street, f.community, f.grid, f.source
			places[i], items[i], names[i], leads[i], appeals[i] = f.place, f.item, f.name, f.lead, f.appeal
			received[i] = unixTime(f.received)
			excluded[i], closed[i], reworked[i], selfDisposed[i] = f.excluded, f.closed, f.reworked, f.selfDisposed
			valid[i], unreached[i], contacted[i], solved[i], satisfied[i], basic[i] = f.valid, f.unreached, f.contacted, f.solved, f.satisfied, f.basic
		}
		// The row carries the columns the three lists count by too (issue
		// 20, migration 0010: the appeal type and whether the case was
		// settled on the spot), in this one statement rather than an UPDATE
		// after it.
		b.Queue(`INSERT INTO figure_cases (case_id, received_at, district_code, street_code, community_code, grid_code,
				source, place, item_code, item_name, lead_department, excluded, closed, reworked,
				cb_valid, cb_unreached, cb_contacted, cb_solved, cb_satisfied, cb_basic, appeal_type, self_disposed)
			SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
				$9::text[], $10::text[], $11::text[], $12::bool[], $13::bool[], $14::bool[], $15::int[], $16::int[], $17::int[], $18::int[],
				$19::int[], $20::int[], $21::text[], $22::bool[])
			ON CONFLICT (case_id) DO UPDATE SET received_at = excluded.received_at, district_code = excluded.district_code,
				street_code = excluded.street_code, community_code = excluded.community_code, grid_code = excluded.grid_code,
				source = excluded.source, place = excluded.place, item_code = excluded.item_code, item_name = excluded.item_name,
				lead_department = excluded.lead_department, excluded = excluded.excluded, closed = excluded.closed,
				reworked = excluded.reworked, cb_valid = excluded.cb_valid, cb_unreached = excluded.cb_unreached,
				cb_contacted = excluded.cb_contacted, cb_solved = excluded.cb_solved, cb_satisfied = excluded.cb_satisfied,
				cb_basic = excluded.cb_basic, appeal_type = excluded.appeal_type, self_disposed = excluded.self_disposed`,
			ids, received, districts, streets, communities, grids, sources, places, items, names, leads, excluded, closed, reworked,
			valid, unreached, contacted, solved, satisfied, basic, appeals, selfDisposed)
	}
	if n := len(w.tasks); n > 0 {
		var (
			tCase, tID, tDept, tDistrict, tStreet, tGrid   = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
			tReceived                                      = make([]time.Time, n)
			tExcluded, tCounted, tDone, tOnTime, tExtended = make([]bool, n), make([]bool, n), make([]bool, n), make([]bool, n), make([]bool, n)
			tDue                                           = make([]*time.Time, n)
			tSign, tComplete                               = make([]*int64, n), make([]*int64, n)
		)
		for i, t := range w.tasks {
			tCase[i], tID[i], tDept[i], tDistrict[i], tStreet[i], tGrid[i] = t.caseID, t.id, t.dept, t.district, t.street, t.grid
			tReceived[i] = unixTime(t.received)
			tExcluded[i], tCounted[i], tDone[i], tOnTime[i], tExtended[i] = t.excluded, t.counted, t.done, t.onTime, t.extended
			if t.due != 0 {
				due := unixTime(t.due)
				tDue[i] = &due
			}
			if t.hasSign {
				tSign[i] = &t.sign
			}
			if t.hasComplete {
				tComplete[i] = &t.complete
			}
		}
		b.Queue(`INSERT INTO figure_tasks (case_id, task_id, department, received_at, district_code, street_code, grid_code,
				excluded, counted, done, on_time, extended, complete_due, sign_ns, complete_ns)
			SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::bool[],
				$9::bool[], $10::bool[], $11::bool[], $12::bool[], $13::timestamptz[], $14::bigint[], $15::bigint[])
			ON CONFLICT (case_id, task_id) DO UPDATE SET department = excluded.department, received_at = excluded.received_at,
				district_code = excluded.district_code, street_code = excluded.street_code, grid_code = excluded.grid_code,
				excluded = excluded.excluded, counted = excluded.counted, done = excluded.done, on_time = excluded.on_time,
				extended = excluded.extended, complete_due = excluded.complete_due, sign_ns = excluded.sign_ns,
				complete_ns = excluded.complete_ns`,
			tCase, tID, tDept, tReceived, tDistrict, tStreet, tGrid, tExcluded, tCounted, tDone, tOnTime, tExtended, tDue, tSign, tComplete)
	}
}

// FiguresMissing reports whether cases are stored without their figure rows:
// a database that had cases before migration 0003 until `feedback rebuild`.
func (s *Store) FiguresMissing(ctx context.Context) (bool, error) {
	var missing bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM cases WHERE received_at IS NOT NULL)
		AND NOT EXISTS (SELECT 1 FROM figure_cases)`).Scan(&missing)
	return missing, err
}

// Tally aggregates a scope's figures in two statements, one over cases and
// one over tasks; memory does not grow with the number of cases. The
// average is the truncated mean in nanoseconds (exact: summed as numeric)
// and the p90 percentile_disc(0.9), the nearest rank metrics.Summarise
// takes.
func (s *Store) Tally(ctx context.Context, q feedback.TallyQuery) (feedback.Tally, error) {
	args := []any{q.Period.Start, q.Period.End}
	caseScope, taskScope, led := "", "", "true"
	switch q.Scope {
	case feedback.ScopeCity:
	case feedback.ScopeDepartment:
		args = append(args, q.Code)
		caseScope = ` AND case_id IN (SELECT case_id FROM figure_tasks WHERE department = $3 AND received_at >= $1 AND received_at < $2)`
		taskScope, led = ` AND department = $3`, `lead_department = $3`
	case feedback.ScopeDistrict, feedback.ScopeStreet, feedback.ScopeGrid:
		args = append(args, q.Code)
		col := map[feedback.Scope]string{feedback.ScopeDistrict: "district_code", feedback.ScopeStreet: "street_code",
			feedback.ScopeGrid: "grid_code"}[q.Scope]
		caseScope = ` AND ` + col + ` = $3`
		taskScope = caseScope
	default:
		return feedback.Tally{}, fault.New(fault.InvalidArgument, "scope %q", q.Scope)
	}
	if q.Source != "" {
		// Tasks carry no source: they count when their case does.
		args = append(args, string(q.Source))
		n := len(args)
		caseScope += fmt.Sprintf(` AND source = $%d`, n)
		taskScope += fmt.Sprintf(` AND case_id IN (SELECT case_id FROM figure_cases WHERE source = $%d AND received_at >= $1 AND received_at < $2)`, n)
	}
	var t feedback.Tally
	cb := &t.Callbacks
	valid := `NOT excluded AND ` + led
	err := s.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE NOT excluded), count(*) FILTER (WHERE excluded),
			coalesce(sum(cb_valid) FILTER (WHERE excluded), 0),
			coalesce(sum(cb_valid) FILTER (WHERE `+valid+`), 0),
			coalesce(sum(cb_unreached) FILTER (WHERE `+valid+`), 0),
			coalesce(sum(cb_contacted) FILTER (WHERE `+valid+`), 0),
			coalesce(sum(cb_solved) FILTER (WHERE `+valid+`), 0),
			coalesce(sum(cb_satisfied) FILTER (WHERE `+valid+`), 0),
			coalesce(sum(cb_basic) FILTER (WHERE `+valid+`), 0),
			count(*) FILTER (WHERE `+valid+` AND closed),
			count(*) FILTER (WHERE `+valid+` AND reworked)
		FROM figure_cases WHERE received_at >= $1 AND received_at < $2`+caseScope, args...).Scan(
		&t.Cases, &t.Excluded, &cb.Excluded, &cb.Valid, &cb.Unreached, &cb.Contacted, &cb.Solved, &cb.Satisfied, &cb.Basic,
		&t.Counts.Closed, &t.Counts.Reworked)
	if err != nil {
		return feedback.Tally{}, fmt.Errorf("tally cases: %w", pgdb.Translate(err))
	}
	targs := append(args, q.Now) //nolint:gocritic // args is not used again
	now := fmt.Sprintf("$%d", len(targs))
	var signAvg, signP90, completeAvg, completeP90 int64
	err = s.pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE done), count(*) FILTER (WHERE done AND on_time),
			count(*) FILTER (WHERE NOT done AND complete_due < `+now+`), count(*) FILTER (WHERE extended),
			count(sign_ns), coalesce(div(sum(sign_ns), nullif(count(sign_ns), 0))::bigint, 0),
			coalesce(percentile_disc(0.9) WITHIN GROUP (ORDER BY sign_ns), 0),
			count(complete_ns), coalesce(div(sum(complete_ns), nullif(count(complete_ns), 0))::bigint, 0),
			coalesce(percentile_disc(0.9) WITHIN GROUP (ORDER BY complete_ns), 0)
		FROM figure_tasks WHERE counted AND NOT excluded AND received_at >= $1 AND received_at < $2`+taskScope, targs...).Scan(
		&t.Counts.ToHandle, &t.Counts.Handled, &t.Counts.HandledOnTime, &t.Counts.OverdueOpen, &t.Counts.Extended,
		&t.ToSignFor.N, &signAvg, &signP90, &t.ToComplete.N, &completeAvg, &completeP90)
	if err != nil {
		return feedback.Tally{}, fmt.Errorf("tally tasks: %w", pgdb.Translate(err))
	}
	t.ToSignFor.Avg, t.ToSignFor.P90 = time.Duration(signAvg), time.Duration(signP90)
	t.ToComplete.Avg, t.ToComplete.P90 = time.Duration(completeAvg), time.Duration(completeP90)
	return t, nil
}

// areaWhere selects cases in a slice: an area at any level ("" is the
// city), as ListCases does, and one source when it names one; $1 and $2 are
// the period.
func areaWhere(sl feedback.Slice, args []any) (string, []any) {
	where := ""
	if sl.Area != "" {
		args = append(args, sl.Area)
		where += fmt.Sprintf(` AND $%d IN (district_code, street_code, community_code, grid_code)`, len(args))
	}
	if sl.Source != "" {
		args = append(args, string(sl.Source))
		where += fmt.Sprintf(` AND source = $%d`, len(args))
	}
	return where, args
}

// CategoryCounts counts non-excluded cases per catalogue item; an item's
// name is the one its most recently received case gave it.
func (s *Store) CategoryCounts(ctx context.Context, area feedback.Slice, p feedback.Period) ([]feedback.CategoryCount, error) {
	where, args := areaWhere(area, []any{p.Start, p.End})
	rows, err := s.pool.Query(ctx, `SELECT item_code, item_name, count(*), max(received_at) FROM figure_cases
		WHERE NOT excluded AND item_code <> '' AND received_at >= $1 AND received_at < $2`+where+`
		GROUP BY item_code, item_name ORDER BY item_code, max(received_at), item_name`, args...)
	if err != nil {
		return nil, fmt.Errorf("category counts: %w", pgdb.Translate(err))
	}
	return itemCounts(rows)
}

// itemCounts reads rows of (item code, item name, count, newest received)
// ordered by code and then newest last, into one count per code under the
// name its most recently received case gave it.
func itemCounts(rows pgx.Rows) ([]feedback.CategoryCount, error) {
	defer rows.Close()
	var out []feedback.CategoryCount
	for rows.Next() {
		var c feedback.CategoryCount
		var at time.Time
		if err := rows.Scan(&c.Code, &c.Name, &c.Count, &at); err != nil {
			return nil, err
		}
		if n := len(out); n > 0 && out[n-1].Code == c.Code {
			// Rows of one code come newest name last.
			out[n-1].Name, out[n-1].Count = c.Name, out[n-1].Count+c.Count
			continue
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// hotKey is a hotspot key of figure_cases: kind k's key.
const hotKey = `CASE k WHEN 'place' THEN place ELSE source END`

// KeyCounts counts non-excluded cases per hotspot key and window in one
// pass: width_bucket over the windows' lower bounds numbers the oldest
// window 1 and the current period windows+1.
func (s *Store) KeyCounts(ctx context.Context, area feedback.Slice, p feedback.Period, windows, minCount int) ([]feedback.KeyCount, error) {
	span := p.End.Sub(p.Start)
	bounds := make([]time.Time, 0, windows+1)
	for w := windows; w >= 0; w-- {
		bounds = append(bounds, p.Start.Add(-time.Duration(w)*span))
	}
	where, args := areaWhere(area, []any{bounds[0], p.End, bounds, windows + 1, minCount})
	rows, err := s.pool.Query(ctx, `WITH b AS (
			SELECT kk.k, kk.key, width_bucket(c.received_at, $3::timestamptz[]) AS w, count(*) AS n
			FROM figure_cases c CROSS JOIN LATERAL (VALUES ('place', c.place), ('source', c.source)) AS kk(k, key)
			WHERE NOT c.excluded AND c.received_at >= $1 AND c.received_at < $2 AND kk.key NOT IN ('', '0')`+where+`
			GROUP BY 1, 2, 3)
		SELECT k, key, w, n FROM b WHERE (k, key) IN (SELECT k, key FROM b WHERE w = $4 AND n >= $5)`, args...)
	if err != nil {
		return nil, fmt.Errorf("key counts: %w", pgdb.Translate(err))
	}
	var out []feedback.KeyCount
	for rows.Next() {
		var k feedback.KeyCount
		var bucket int
		if err := rows.Scan(&k.Kind, &k.Key, &bucket, &k.Count); err != nil {
			return nil, err
		}
		k.Window = windows + 1 - bucket
		out = append(out, k)
	}
	return out, rows.Err()
}

// KeyCases lists the cases behind hotspot keys, by id.
func (s *Store) KeyCases(ctx context.Context, area feedback.Slice, p feedback.Period, keys []feedback.HotKey) (map[feedback.HotKey][]string, error) {
	kinds, names := make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		kinds[i], names[i] = k.Kind, k.Key
	}
	where, args := areaWhere(area, []any{p.Start, p.End, kinds, names})
	rows, err := s.pool.Query(ctx, `SELECT h.k, h.key, c.case_id
		FROM figure_cases c JOIN unnest($3::text[], $4::text[]) AS h(k, key) ON h.key = `+hotKey+`
		WHERE NOT c.excluded AND c.received_at >= $1 AND c.received_at < $2`+where+`
		ORDER BY c.case_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("key cases: %w", pgdb.Translate(err))
	}
	out := map[feedback.HotKey][]string{}
	for rows.Next() {
		var k feedback.HotKey
		var id string
		if err := rows.Scan(&k.Kind, &k.Key, &id); err != nil {
			return nil, err
		}
		out[k] = append(out[k], id)
	}
	return out, rows.Err()
}

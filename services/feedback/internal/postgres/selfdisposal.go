package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gridflow/gridflow/pkg/pagetoken"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/policy"
	"github.com/gridflow/gridflow/services/feedback/internal/feedback"
	"github.com/jackc/pgx/v5"
)

// Self-disposal (issue 20): patrol_reports (0009) holds one row per patrol
// case with a receipt time, written with the case's view; the grid leader's
// list and 自处率 are queries over it.

// queuePatrolReports queues on b the writes (or removals) of w's
// patrol_reports rows, a statement per kind of write for them all.
func queuePatrolReports(b *pgx.Batch, w *sideWrites) {
	if len(w.patrolsGone) > 0 {
		b.Queue(`DELETE FROM patrol_reports WHERE case_id = ANY($1)`, w.patrolsGone)
	}
	n := len(w.patrols)
	if n == 0 {
		return
	}
	var (
		ids, districts, streets, communities = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		grids, workers, verdicts             = make([]string, n), make([]string, n), make([]string, n)
		received                             = make([]time.Time, n)
		selfDisposed                         = make([]bool, n)
	)
	for i, p := range w.patrols {
		ids[i], districts[i], streets[i], communities[i] = p.id, p.district, p.street, p.community
		grids[i], workers[i], verdicts[i] = p.grid, p.worker, p.verdict
		received[i], selfDisposed[i] = unixTime(p.received), p.selfDisposed
	}
	b.Queue(`INSERT INTO patrol_reports (case_id, received_at, district_code, street_code, community_code, grid_code,
			worker, self_disposed, verdict)
		SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bool[], $9::text[])
		ON CONFLICT (case_id) DO UPDATE SET received_at = excluded.received_at, district_code = excluded.district_code,
			street_code = excluded.street_code, community_code = excluded.community_code, grid_code = excluded.grid_code,
			worker = excluded.worker, self_disposed = excluded.self_disposed, verdict = excluded.verdict`,
		ids, received, districts, streets, communities, grids, workers, selfDisposed, verdicts)
}

// patrolColumns are where patrol_reports keeps what a scope decides on.
var patrolColumns = policy.Columns{Source: "'patrol'", District: "p.district_code", Street: "p.street_code",
	Community: "p.community_code", Worker: "p.worker", Grid: "p.grid_code"}

// patrolWhere is the scope and the area (any level) over patrol_reports p.
func patrolWhere(sc policy.Scope, area string, args []any) ([]string, []any) {
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	where := []string{sc.Where(patrolColumns, arg)}
	if area != "" {
		where = append(where, arg(area)+" IN (p.district_code, p.street_code, p.community_code, p.grid_code)")
	}
	return where, args
}

var verdictOf = map[feedback.SelfDisposalStatus]string{
	feedback.StatusPending: "", feedback.StatusConfirmed: string(feedback.VerdictConfirmed), feedback.StatusSentBack: string(feedback.VerdictSentBack),
}

// ListSelfDisposals lists self-disposed cases oldest first.
func (s *Store) ListSelfDisposals(ctx context.Context, f feedback.SelfDisposalFilter) ([]*feedback.Case, string, error) {
	where, args := patrolWhere(f.Scope, f.Area, []any{verdictOf[f.Status]})
	where = append(where, "p.self_disposed", "p.verdict = $1")
	if f.PageToken != "" {
		at, id, err := pageKey(f.PageToken)
		if err != nil {
			return nil, "", err
		}
		args = append(args, at, id)
		where = append(where, fmt.Sprintf("(p.received_at, p.case_id) > ($%d, $%d)", len(args)-1, len(args)))
	}
	size := pageSize(f.PageSize, 50)
	args = append(args, size+1)
	cases, err := s.queryCases(ctx, `SELECT c.body FROM patrol_reports p JOIN cases c ON c.case_id = p.case_id WHERE `+
		strings.Join(where, " AND ")+fmt.Sprintf(` ORDER BY p.received_at, p.case_id LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(cases) > size {
		cases = cases[:size]
		next = pagetoken.Encode(cases[size-1].ReceivedAt, cases[size-1].ID)
	}
	return cases, next, nil
}

// CountSelfDisposals counts the patrol reports received in p per grid, per
// worker and in total, in one pass (GROUPING SETS).
func (s *Store) CountSelfDisposals(ctx context.Context, sc policy.Scope, area string, p feedback.Period) (feedback.SelfDisposalFigures, error) {
	where, args := patrolWhere(sc, area, []any{p.Start, p.End})
	rows, err := s.pool.Query(ctx, `SELECT GROUPING(p.grid_code), GROUPING(p.worker), coalesce(p.grid_code, ''), coalesce(p.worker, ''),
			count(*), count(*) FILTER (WHERE p.self_disposed),
			count(*) FILTER (WHERE p.self_disposed AND p.verdict = 'confirmed'),
			count(*) FILTER (WHERE p.self_disposed AND p.verdict = 'sent_back')
		FROM patrol_reports p WHERE p.received_at >= $1 AND p.received_at < $2 AND `+strings.Join(where, " AND ")+`
		GROUP BY GROUPING SETS ((p.grid_code), (p.worker), ())
		ORDER BY 1, 2, 3, 4`, args...)
	if err != nil {
		return feedback.SelfDisposalFigures{}, fmt.Errorf("count self-disposals: %w", pgdb.Translate(err))
	}
	defer rows.Close()
	var out feedback.SelfDisposalFigures
	for rows.Next() {
		var gGrid, gWorker int
		var grid, worker string
		var n feedback.SelfDisposalCount
		if err := rows.Scan(&gGrid, &gWorker, &grid, &worker, &n.Reports, &n.SelfDisposed, &n.Confirmed, &n.SentBack); err != nil {
			return feedback.SelfDisposalFigures{}, err
		}
		switch {
		case gGrid == 0:
			n.Key = grid
			out.Grids = append(out.Grids, n)
		case gWorker == 0:
			n.Key = worker
			out.Workers = append(out.Workers, n)
		default:
			out.Total = n
		}
	}
	return out, pgdb.Translate(rows.Err())
}

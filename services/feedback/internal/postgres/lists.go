package postgres

// The three lists and the month's figures (issue 20): migration 0010.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gridflow/gridflow/pkg/fault"
	"github.com/gridflow/gridflow/pkg/pgdb"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/services/feedback/internal/feedback"
	"github.com/jackc/pgx/v5"
)

var _ feedback.ListsStore = (*Store)(nil)

// PlaceCounts counts non-excluded cases per place key (figure_cases.place
// holds the grid when a case has no place: a key has "|", a grid code not).
func (s *Store) PlaceCounts(ctx context.Context, sl feedback.Slice, p feedback.Period) ([]feedback.CategoryCount, error) {
	where, args := areaWhere(sl, []any{p.Start, p.End})
	return s.counts(ctx, "place counts", `SELECT place, count(*) FROM figure_cases
		WHERE NOT excluded AND strpos(place, '|') > 0 AND received_at >= $1 AND received_at < $2`+where+`
		GROUP BY place ORDER BY place`, args, feedback.PlaceName)
}

// RequestCounts counts non-excluded 建议 and 求助 cases per catalogue item
// (a case not yet classified counts under "").
func (s *Store) RequestCounts(ctx context.Context, sl feedback.Slice, p feedback.Period) ([]feedback.CategoryCount, error) {
	where, args := areaWhere(sl, []any{p.Start, p.End, []string{string(reference.Help), string(reference.Suggestion)}})
	rows, err := s.pool.Query(ctx, `SELECT item_code, item_name, count(*), max(received_at) FROM figure_cases
		WHERE NOT excluded AND appeal_type = ANY($3) AND received_at >= $1 AND received_at < $2`+where+`
		GROUP BY item_code, item_name ORDER BY item_code, max(received_at), item_name`, args...)
	if err != nil {
		return nil, fmt.Errorf("request counts: %w", pgdb.Translate(err))
	}
	return itemCounts(rows)
}

func (s *Store) counts(ctx context.Context, what, sql string, args []any, name func(string) string) ([]feedback.CategoryCount, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, pgdb.Translate(err))
	}
	var out []feedback.CategoryCount
	for rows.Next() {
		var c feedback.CategoryCount
		if err := rows.Scan(&c.Code, &c.Count); err != nil {
			return nil, err
		}
		c.Name = name(c.Code)
		out = append(out, c)
	}
	return out, rows.Err()
}

// SaveSurvey stores a survey's counts in one transaction, once per id.
func (s *Store) SaveSurvey(ctx context.Context, sv *feedback.Survey) (feedback.SurveyResult, error) {
	hash := sv.Hash()
	res := feedback.SurveyResult{SurveyID: sv.ID}
	households := 0
	for _, n := range sv.Households {
		households += n
	}
	err := pgdb.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		var at time.Time
		err := tx.QueryRow(ctx, `INSERT INTO needs_surveys (survey_id, title, principal, hash, answers, households, communities, imported_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, now()) ON CONFLICT (survey_id) DO NOTHING RETURNING imported_at`,
			sv.ID, sv.Title, sv.Principal, hash, sv.Answers, households, len(sv.Households)).Scan(&at)
		if errors.Is(err, pgx.ErrNoRows) {
			var was string
			err = tx.QueryRow(ctx, `SELECT hash, answers, households, communities, imported_at FROM needs_surveys WHERE survey_id = $1`, sv.ID).Scan(
				&was, &res.Answers, &res.Households, &res.Communities, &res.ImportedAt)
			if err != nil {
				return fmt.Errorf("survey %s: %w", sv.ID, pgdb.Translate(err))
			}
			if was != hash {
				return fault.New(fault.AlreadyExists, "survey %s was imported before with other answers", sv.ID)
			}
			res.Replayed = true
			return nil
		}
		if err != nil {
			return fmt.Errorf("save survey %s: %w", sv.ID, pgdb.Translate(err))
		}
		res.Answers, res.Households, res.Communities, res.ImportedAt = sv.Answers, households, len(sv.Households), at
		var comm, cats []string
		var levels, counts []int32
		for c, n := range sv.Households {
			if _, err := tx.Exec(ctx, `INSERT INTO needs_households (survey_id, community_code, households) VALUES ($1, $2, $3)`,
				sv.ID, c, n); err != nil {
				return fmt.Errorf("save survey %s: %w", sv.ID, pgdb.Translate(err))
			}
			for cat, ls := range sv.Counts[c] {
				for l, k := range ls {
					if k > 0 {
						comm, cats = append(comm, c), append(cats, cat)
						levels, counts = append(levels, int32(l)), append(counts, int32(k))
					}
				}
			}
		}
		_, err = tx.Exec(ctx, `INSERT INTO needs_counts (survey_id, community_code, category, level, households)
			SELECT $1, c, cat, l, n FROM unnest($2::text[], $3::text[], $4::smallint[], $5::int[]) AS t(c, cat, l, n)`,
			sv.ID, comm, cats, levels, counts)
		if err != nil {
			return fmt.Errorf("save survey %s: %w", sv.ID, pgdb.Translate(err))
		}
		return nil
	})
	return res, err
}

// LatestSurveys reads, for each community, the newest survey counting it.
func (s *Store) LatestSurveys(ctx context.Context, communities []string) ([]feedback.SurveyTally, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT ON (h.community_code) h.community_code, s.survey_id, s.title, s.imported_at, h.households
		FROM needs_households h JOIN needs_surveys s USING (survey_id)
		WHERE h.community_code = ANY($1)
		ORDER BY h.community_code, s.imported_at DESC, s.survey_id DESC`, communities)
	if err != nil {
		return nil, fmt.Errorf("latest surveys: %w", pgdb.Translate(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (feedback.SurveyTally, error) {
		t := feedback.SurveyTally{Counts: map[string][feedback.NeedLevels]int{}}
		err := r.Scan(&t.Community, &t.SurveyID, &t.Title, &t.ImportedAt, &t.Households)
		return t, err
	})
	if err != nil {
		return nil, fmt.Errorf("latest surveys: %w", pgdb.Translate(err))
	}
	for i := range out {
		t := &out[i]
		rows, err := s.pool.Query(ctx, `SELECT category, level, households FROM needs_counts WHERE survey_id = $1 AND community_code = $2`,
			t.SurveyID, t.Community)
		if err != nil {
			return nil, fmt.Errorf("survey counts: %w", pgdb.Translate(err))
		}
		var cat string
		var level, n int
		_, err = pgx.ForEachRow(rows, []any{&cat, &level, &n}, func() error {
			if level >= 0 && level < feedback.NeedLevels {
				ls := t.Counts[cat]
				ls[level] += n
				t.Counts[cat] = ls
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("survey counts: %w", pgdb.Translate(err))
		}
	}
	return out, nil
}

// MonthTallies aggregates a community's cases and their tasks per grid, as
// Tally does for one scope.
func (s *Store) MonthTallies(ctx context.Context, community string, p feedback.Period, now time.Time) (map[string]feedback.AreaTally, error) {
	out := map[string]feedback.AreaTally{}
	rows, err := s.pool.Query(ctx, `SELECT grid_code, count(*) FILTER (WHERE NOT excluded), count(*) FILTER (WHERE excluded),
			coalesce(sum(cb_valid) FILTER (WHERE excluded), 0),
			coalesce(sum(cb_valid) FILTER (WHERE NOT excluded), 0),
			coalesce(sum(cb_unreached) FILTER (WHERE NOT excluded), 0),
			coalesce(sum(cb_contacted) FILTER (WHERE NOT excluded), 0),
			coalesce(sum(cb_solved) FILTER (WHERE NOT excluded), 0),
			coalesce(sum(cb_satisfied) FILTER (WHERE NOT excluded), 0),
			coalesce(sum(cb_basic) FILTER (WHERE NOT excluded), 0),
			count(*) FILTER (WHERE NOT excluded AND closed),
			count(*) FILTER (WHERE NOT excluded AND reworked),
			count(*) FILTER (WHERE self_disposed)
		FROM figure_cases WHERE community_code = $1 AND received_at >= $2 AND received_at < $3
		GROUP BY grid_code`, community, p.Start, p.End)
	if err != nil {
		return nil, fmt.Errorf("month tallies: %w", pgdb.Translate(err))
	}
	var grid string
	var t feedback.AreaTally
	cb := &t.Callbacks
	_, err = pgx.ForEachRow(rows, []any{&grid, &t.Cases, &t.Excluded, &cb.Excluded, &cb.Valid, &cb.Unreached, &cb.Contacted,
		&cb.Solved, &cb.Satisfied, &cb.Basic, &t.Counts.Closed, &t.Counts.Reworked, &t.SelfDisposed}, func() error {
		out[unknownGrid(grid)] = t
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("month tallies: %w", pgdb.Translate(err))
	}
	rows, err = s.pool.Query(ctx, `SELECT c.grid_code, count(*), count(*) FILTER (WHERE t.done), count(*) FILTER (WHERE t.done AND t.on_time),
			count(*) FILTER (WHERE NOT t.done AND t.complete_due < $4), count(*) FILTER (WHERE t.extended)
		FROM figure_tasks t JOIN figure_cases c USING (case_id)
		WHERE t.counted AND NOT t.excluded AND c.community_code = $1 AND t.received_at >= $2 AND t.received_at < $3
		GROUP BY c.grid_code`, community, p.Start, p.End, now)
	if err != nil {
		return nil, fmt.Errorf("month tasks: %w", pgdb.Translate(err))
	}
	var k feedback.AreaTally
	_, err = pgx.ForEachRow(rows, []any{&grid, &k.Counts.ToHandle, &k.Counts.Handled, &k.Counts.HandledOnTime, &k.Counts.OverdueOpen,
		&k.Counts.Extended}, func() error {
		g := out[unknownGrid(grid)]
		g.Counts.ToHandle, g.Counts.Handled, g.Counts.HandledOnTime = k.Counts.ToHandle, k.Counts.Handled, k.Counts.HandledOnTime
		g.Counts.OverdueOpen, g.Counts.Extended = k.Counts.OverdueOpen, k.Counts.Extended
		out[unknownGrid(grid)] = g
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("month tasks: %w", pgdb.Translate(err))
	}
	return out, nil
}

func unknownGrid(g string) string {
	if g == "0" {
		return ""
	}
	return g
}

// InspectionCounts reads a community's inspections of a month per grid.
func (s *Store) InspectionCounts(ctx context.Context, community string, month time.Time) (map[string]feedback.InspectionCount, error) {
	rows, err := s.pool.Query(ctx, `SELECT grid_code, done, on_time, missed FROM inspection_counts
		WHERE community_code = $1 AND month = $2::date`, community, month.Format(time.DateOnly))
	if err != nil {
		return nil, fmt.Errorf("inspection counts: %w", pgdb.Translate(err))
	}
	out := map[string]feedback.InspectionCount{}
	var grid string
	var c feedback.InspectionCount
	_, err = pgx.ForEachRow(rows, []any{&grid, &c.Done, &c.OnTime, &c.Missed}, func() error {
		out[grid] = c
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("inspection counts: %w", pgdb.Translate(err))
	}
	return out, nil
}

// CountInspection adds one inspection to its grid's month, in the
// consumer's transaction (which records the event as handled).
func CountInspection(ctx context.Context, tx pgx.Tx, in feedback.Inspection) error {
	done, onTime, missed := 0, 0, 0
	switch {
	case in.Missed:
		missed = 1
	case in.OnTime:
		done, onTime = 1, 1
	default:
		done = 1
	}
	_, err := tx.Exec(ctx, `INSERT INTO inspection_counts (grid_code, month, district_code, street_code, community_code, done, on_time, missed)
		VALUES ($1, $2::date, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (grid_code, month) DO UPDATE SET done = inspection_counts.done + $6, on_time = inspection_counts.on_time + $7,
			missed = inspection_counts.missed + $8`,
		in.Grid, in.Month.Format(time.DateOnly), in.District, in.Street, in.Community, done, onTime, missed)
	if err != nil {
		return fmt.Errorf("count inspection: %w", pgdb.Translate(err))
	}
	return nil
}

package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/gridflow/gridflow/services/feedback/internal/feedback"
)

// randomCases builds n case views covering what the figures look at:
// excluded and merged-away cases, closed and reworked ones, callbacks of
// every kind, tasks that count and tasks that do not, late, open, overdue
// and extended tasks. Times are whole seconds (PostgreSQL keeps
// microseconds).
func randomCases(r *rand.Rand, n int, base time.Time, span time.Duration) []*feedback.Case {
	pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
	at := func(from time.Time, max time.Duration) time.Time {
		return from.Add(time.Duration(r.Int64N(int64(max/time.Second))) * time.Second)
	}
	var out []*feedback.Case
	for i := range n {
		street := pick("310106022", "310106023", "310107001")
		c := &feedback.Case{ID: fmt.Sprintf("case-%05d", i), Source: feedback.Source(pick("hotline", "patrol", "secretary")),
			Area:       feedback.Area{District: street[:6], Street: street, Community: street + "001", Grid: street + pick("001001", "001002", "002001", "")},
			ReceivedAt: at(base, span), Excluded: r.IntN(10) == 0, Round: r.IntN(3)}
		if r.IntN(4) == 0 {
			c.PlaceKey = pick("pk-1", "pk-2", "0")
		}
		if r.IntN(8) != 0 {
			code := pick("09006", "09007", "01001", "05003", "11002")
			c.ItemCode, c.ItemName = code, "item "+code
		}
		c.State = feedback.State(pick(string(feedback.Closed), string(feedback.Closed), string(feedback.Replied), string(feedback.InProgress)))
		for range r.IntN(4) {
			c.Callbacks = append(c.Callbacks, feedback.Callback{Reached: r.IntN(5) != 0, ContactedByUnit: r.IntN(3) != 0,
				Solved: r.IntN(3) != 0, Satisfaction: feedback.Satisfaction(pick("satisfied", "basic", "unsatisfied", ""))})
		}
		for j := range r.IntN(4) {
			t := &feedback.Task{ID: fmt.Sprintf("t%d", j), Department: pick("310106-cgzf", "310106-sw", "310106-jt", ""),
				Role: pick("lead", "lead", "co_handler"), Round: r.IntN(2), Extended: r.IntN(6) == 0,
				State: pick("dispatched", "acknowledged", "completed", "completed", "completed", "rejected", "forwarded", "withdrawn")}
			if r.IntN(10) != 0 {
				t.DispatchedAt = c.ReceivedAt.Add(time.Duration(r.IntN(3600)) * time.Second)
			}
			if r.IntN(3) != 0 {
				t.AckedAt = at(c.ReceivedAt, 48*time.Hour)
			}
			if t.State == "completed" && r.IntN(8) != 0 {
				t.CompletedAt = at(c.ReceivedAt, 20*24*time.Hour)
			}
			if r.IntN(5) != 0 {
				t.CompleteDue = at(c.ReceivedAt, 10*24*time.Hour)
			}
			c.Tasks = append(c.Tasks, t)
		}
		out = append(out, c)
	}
	return out
}

// within is what the store selected for Measure before figures were
// aggregated in SQL: the cases received in p, in the area or with a task of
// the department, by id.
func within(cases []*feedback.Case, area, dept string, p feedback.Period) []*feedback.Case {
	var out []*feedback.Case
	for _, c := range cases {
		if c.ReceivedAt.Before(p.Start) || !c.ReceivedAt.Before(p.End) {
			continue
		}
		if area != "" && area != c.Area.District && area != c.Area.Street && area != c.Area.Community && area != c.Area.Grid {
			continue
		}
		if dept != "" && !func() bool {
			for _, t := range c.Tasks {
				if t.Department == dept {
					return true
				}
			}
			return false
		}() {
			continue
		}
		out = append(out, c)
	}
	return out
}

// TestFiguresInSQLMatchMeasure holds the SQL aggregation to the in-memory
// reference (Measure, Pareto, Hotspots) on random cases, for every scope.
func TestFiguresInSQLMatchMeasure(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	base := time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)
	e.clock.Set(base.Add(40 * 24 * time.Hour))
	cases := randomCases(rand.New(rand.NewPCG(8, 2026)), 1500, base, 35*24*time.Hour)
	if err := e.store.InTx(ctx, func(tx feedback.Tx) error {
		for _, c := range cases {
			if err := tx.SaveCase(ctx, c); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	periods := map[string]feedback.Period{
		"all":   {Start: base, End: base.Add(35 * 24 * time.Hour)},
		"week5": {Start: base.Add(28 * 24 * time.Hour), End: base.Add(35 * 24 * time.Hour)},
		"day":   {Start: base.Add(10 * 24 * time.Hour), End: base.Add(11 * 24 * time.Hour)},
	}
	scopes := []struct {
		scope feedback.Scope
		code  string
	}{
		{feedback.ScopeCity, ""}, {feedback.ScopeDistrict, "310106"}, {feedback.ScopeStreet, "310106022"},
		{feedback.ScopeGrid, "310106022001002"}, {feedback.ScopeDepartment, "310106-cgzf"}, {feedback.ScopeDepartment, "310106-jt"},
	}
	now := e.clock.Now()
	for pname, p := range periods {
		for _, sc := range scopes {
			area, dept := sc.code, ""
			if sc.scope == feedback.ScopeDepartment {
				area, dept = "", sc.code
			}
			want := feedback.Measure(within(cases, area, dept, p), dept, now)
			got, err := e.svc.Figures(ctx, everything, sc.scope, sc.code, p)
			if err != nil {
				t.Fatal(err)
			}
			if want.Cases == 0 || want.Counts.ToHandle == 0 {
				t.Fatalf("%s %s %s: nothing to compare", pname, sc.scope, sc.code)
			}
			// The rates' 满意 sum differs from the running sum in the last bits.
			if d := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-12)); d != "" {
				t.Errorf("%s %s %s: figures mismatch (-memory +sql):\n%s", pname, sc.scope, sc.code, d)
			}
		}
		for _, area := range []string{"", "310106", "310106022", "310106022001", "310106022001001"} {
			wantRows, wantTotal := feedback.Pareto(within(cases, area, "", p))
			rows, total, err := e.svc.Pareto(ctx, everything, area, p)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(wantRows, rows, cmpopts.EquateApprox(0, 1e-12)); d != "" || total != wantTotal {
				t.Errorf("%s pareto %q mismatch (total %d, want %d) (-memory +sql):\n%s", pname, area, total, wantTotal, d)
			}
		}
	}
	// Hotspots: the last week against the four before, with a low bar so
	// that some keys are hot.
	p := periods["week5"]
	for _, area := range []string{"", "310106022"} {
		for _, minCount := range []int{0, 40} {
			want := feedback.Hotspots(within(cases, area, "", periods["all"]), p.Start, p.End, 4, max(minCount, 3), -100)
			got, err := e.svc.Hotspots(ctx, everything, area, p, 4, minCount, -100)
			if err != nil {
				t.Fatal(err)
			}
			if len(want) == 0 && minCount == 0 {
				t.Fatalf("hotspots %q: nothing to compare", area)
			}
			if d := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-12), cmpopts.EquateEmpty()); d != "" {
				t.Errorf("hotspots %q min %d mismatch (-memory +sql):\n%s", area, minCount, d)
			}
		}
	}
}

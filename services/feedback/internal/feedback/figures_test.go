package feedback

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gridflow/gridflow/services/feedback/internal/metrics"
)

// A completed task whose dispatch event never arrived has no known time to
// complete: it must not count as 292 years (zero time to completion).
func TestMeasureSkipsUnknownDispatchTimes(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)
	cases := []*Case{{Tasks: []*Task{
		{ID: "a", Department: "d", State: TaskStateCompleted, DispatchedAt: at, CompletedAt: at.Add(2 * time.Hour)},
		{ID: "b", Department: "d", State: TaskStateCompleted, CompletedAt: at.Add(3 * time.Hour)}, // dispatch unknown
	}}}
	f := Measure(cases, "", at.Add(24*time.Hour))
	if f.Counts.Handled != 2 {
		t.Errorf("handled = %d, want 2 (both completed)", f.Counts.Handled)
	}
	if f.ToComplete.N != 1 || f.ToComplete.Avg != 2*time.Hour {
		t.Errorf("time to complete = %+v, want one duration of 2h", f.ToComplete)
	}
	facts := cases[0].Facts()
	if facts.Tasks[1].ToComplete != nil {
		t.Errorf("facts for the task without a dispatch time carry a duration %v", *facts.Tasks[1].ToComplete)
	}
}

// figureCases are four cases worked by two departments, with callbacks of
// every kind (DOMAIN.md "Evaluation formulas"):
//
//	A  d1 led; on time; signed for in 1h; satisfied, solved, contacted; closed
//	B  d1 led; late; signed for in 3h; unsolved → reworked; then basic,
//	   solved, not contacted; closed after one reopening
//	C  d1 led, open past its deadline, extended, signed for in 5h; a
//	   co-handler d2 completed its part; one unreached callback
//	D  excluded (不合理诉求) with a reached callback; a d1 task completed
//
// plus a rejected d1 task on A, which counts nowhere.
func figureCases() []*Case {
	at := func(h float64) time.Time { return t0.Add(time.Duration(h * float64(time.Hour))) }
	due := at(48)
	task := func(id, dept, role, state string, round int, acked, done float64) *Task {
		t := &Task{ID: id, Department: dept, Role: role, State: state, Round: round, DispatchedAt: t0, CompleteDue: due}
		if acked > 0 {
			t.AckedAt = at(acked)
		}
		if done > 0 {
			t.CompletedAt = at(done)
		}
		return t
	}
	extended := task("c1", "d1", RoleLead, TaskStateAcknowledged, 0, 5, 0)
	extended.Extended = true
	return []*Case{
		{ID: "A", State: Closed, IsClosed: true, Tasks: []*Task{
			task("a1", "d1", RoleLead, TaskStateCompleted, 0, 1, 10),
			task("a0", "d1", RoleLead, TaskStateRejected, 0, 0, 0),
		}, Callbacks: []Callback{{Reached: true, ContactedByUnit: true, Solved: true, Satisfaction: Satisfied}}},
		{ID: "B", State: Closed, IsClosed: true, Round: 1, Tasks: []*Task{
			task("b1", "d1", RoleLead, TaskStateCompleted, 1, 3, 60),
		}, Callbacks: []Callback{
			{Reached: true, ContactedByUnit: true, Solved: false, Satisfaction: Unsatisfied},
			{Reached: true, Solved: true, Satisfaction: Basic},
		}},
		{ID: "C", State: InProgress, Tasks: []*Task{
			extended,
			task("c2", "d2", RoleCoHandler, TaskStateCompleted, 0, 2, 20),
		}, Callbacks: []Callback{{Reached: false}}},
		{ID: "D", State: Closed, IsClosed: true, Excluded: true, Tasks: []*Task{
			task("d1", "d1", RoleLead, TaskStateCompleted, 0, 1, 2),
		}, Callbacks: []Callback{{Reached: true, Solved: true, Satisfaction: Satisfied}}},
	}
}

// TestMeasure checks the in-memory figures (the reference the store's SQL
// is tested against) on hand-computed values.
func TestMeasure(t *testing.T) {
	t.Parallel()
	now := t0.Add(72 * time.Hour) // C's deadline (48h) has passed
	round := func(f float64) float64 { return math.Round(f*10000) / 10000 }

	city := Measure(figureCases(), "", now)
	// Valid callbacks: A, B's two, (C's unreached and D's excluded do not
	// count): 3. 响应 = 2/3 (A, B's first); 解决 = 2/3 (A, B's second);
	// 满意 = (1 + 0.9)/3; composite = 100(0.1·2/3 + 0.5·2/3 + 0.4·1.9/3).
	if city.Cases != 3 || city.Excluded != 1 || city.Rates.Valid != 3 || city.Rates.Unreached != 1 || city.Rates.Excluded != 1 {
		t.Errorf("city: cases %d excluded %d valid %d unreached %d excluded callbacks %d; want 3 1 3 1 1",
			city.Cases, city.Excluded, city.Rates.Valid, city.Rates.Unreached, city.Rates.Excluded)
	}
	if d := cmp.Diff([4]float64{0.6667, 0.6667, 0.6333, 65.3333},
		[4]float64{round(city.Rates.Response), round(city.Rates.Resolution), round(city.Rates.Satisfied), round(city.Rates.Composite)}); d != "" {
		t.Errorf("city rates mismatch (-want +got):\n%s", d)
	}
	// Tasks that count: a1, b1, c1, c2 (a0 rejected; D excluded).
	if d := cmp.Diff(metrics.TaskCounts{ToHandle: 4, Handled: 3, HandledOnTime: 2, Closed: 2, Reworked: 1, OverdueOpen: 1, Extended: 1},
		city.Counts); d != "" {
		t.Errorf("city counts mismatch (-want +got):\n%s", d)
	}

	d1 := Measure(figureCases(), "d1", now)
	// d1: to handle a1, b1, c1 = 3; handled 2, on time 1 (a1); closed A,
	// B (both led by d1), reworked B; overdue open c1; extended c1.
	// 30·2/3 + 20·1/3 + 20(1 − 1/2) + 20(1 − 1/3) + 10(1 − 1/3) = 56.67: D.
	if d := cmp.Diff(metrics.TaskCounts{ToHandle: 3, Handled: 2, HandledOnTime: 1, Closed: 2, Reworked: 1, OverdueOpen: 1, Extended: 1},
		d1.Counts); d != "" {
		t.Errorf("d1 counts mismatch (-want +got):\n%s", d)
	}
	if d1.Score.Points != 56.67 || d1.Score.Grade != "D" {
		t.Errorf("d1 score %v grade %s, want 56.67 D", d1.Score.Points, d1.Score.Grade)
	}
	// Signed for in 1h, 3h, 5h; completed in 10h and 60h.
	if d := cmp.Diff(metrics.Durations{N: 3, Avg: 3 * time.Hour, P90: 5 * time.Hour}, d1.ToSignFor); d != "" {
		t.Errorf("d1 time to sign for mismatch (-want +got):\n%s", d)
	}
	if d := cmp.Diff(metrics.Durations{N: 2, Avg: 35 * time.Hour, P90: 60 * time.Hour}, d1.ToComplete); d != "" {
		t.Errorf("d1 time to complete mismatch (-want +got):\n%s", d)
	}
	if d1.Rates.Valid != 3 {
		t.Errorf("d1 valid callbacks %d, want 3 (the cases it led)", d1.Rates.Valid)
	}

	// d2 led nothing: its callbacks and closures are none of its own; its
	// one part was done on time: 100, A.
	d2 := Measure(figureCases(), "d2", now)
	if d2.Rates.Valid != 0 || d2.Counts != (metrics.TaskCounts{ToHandle: 1, Handled: 1, HandledOnTime: 1}) || d2.Score.Points != 100 || d2.Score.Grade != "A" {
		t.Errorf("d2: valid %d counts %+v score %v %s; want 0, one on time, 100 A", d2.Rates.Valid, d2.Counts, d2.Score.Points, d2.Score.Grade)
	}

	none := Measure(figureCases(), "d9", now)
	if !none.Score.NothingToAct || none.Score.Grade != "" {
		t.Errorf("a department with nothing to act on: %+v, want no score and no grade", none.Score)
	}
}

// Facts state Measure's rules case by case, as the store keeps them.
func TestFacts(t *testing.T) {
	t.Parallel()
	cs := figureCases()
	cs[0].PlaceKey = "长乐路340号"
	cs[1].Area = zj
	hour, ten, sixty := time.Hour, 10*time.Hour, 60*time.Hour
	three := 3 * time.Hour
	want := []Facts{
		{Closed: true, Lead: "d1", Place: "长乐路340号",
			Callbacks: metrics.CallbackCounts{Valid: 1, Contacted: 1, Solved: 1, Satisfied: 1},
			Tasks: []TaskFacts{
				{ID: "a1", Department: "d1", Counted: true, Done: true, OnTime: true, CompleteDue: t0.Add(48 * time.Hour), ToSignFor: &hour, ToComplete: &ten},
				{ID: "a0", Department: "d1", CompleteDue: t0.Add(48 * time.Hour)},
			}},
		{Closed: true, Reworked: true, Lead: "d1", Place: zj.Grid,
			Callbacks: metrics.CallbackCounts{Valid: 2, Contacted: 1, Solved: 1, Basic: 1},
			Tasks: []TaskFacts{
				{ID: "b1", Department: "d1", Counted: true, Done: true, CompleteDue: t0.Add(48 * time.Hour), ToSignFor: &three, ToComplete: &sixty},
			}},
	}
	got := []Facts{cs[0].Facts(), cs[1].Facts()}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("facts mismatch (-want +got):\n%s", d)
	}
	if f := cs[2].Facts(); f.Closed || f.Lead != "d1" || f.Callbacks.Unreached != 1 || !f.Tasks[0].Extended || f.Tasks[0].Done {
		t.Errorf("open case facts %+v", f)
	}
	if f := cs[3].Facts(); !f.Excluded {
		t.Errorf("excluded case facts %+v, want excluded", f)
	}
}

func TestParetoOf(t *testing.T) {
	t.Parallel()
	// 10 cases: 09006 ×5, 06022 ×3 (two rows of one code, as two names
	// may come back), 07001 ×1, 06010 ×1. 50 %, 80 % (vital few end), 90,
	// 100.
	rows, total := ParetoOf([]CategoryCount{{"06022", "露天烧烤", 2}, {"09006", "占道经营", 5}, {"07001", "非法小广告", 1},
		{"06022", "露天烧烤", 1}, {"06010", "暴露垃圾", 1}})
	if total != 10 {
		t.Errorf("total %d, want 10", total)
	}
	type row struct {
		Code, Name string
		Count      int
		Cum        float64
		Vital      bool
	}
	var got []row
	for _, r := range rows {
		got = append(got, row{r.Category, r.Name, r.Count, math.Round(r.Cumulative*100) / 100, r.VitalFew})
	}
	want := []row{{"09006", "占道经营", 5, 0.5, true}, {"06022", "露天烧烤", 3, 0.8, true}, {"06010", "暴露垃圾", 1, 0.9, false},
		{"07001", "非法小广告", 1, 1, false}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("pareto mismatch (-want +got):\n%s", d)
	}
	// The in-memory reference agrees, leaving excluded and unclassified
	// cases out.
	var cases []*Case
	for _, c := range []struct {
		code, name string
		n          int
	}{{"09006", "占道经营", 5}, {"06022", "露天烧烤", 3}, {"07001", "非法小广告", 1}, {"06010", "暴露垃圾", 1}} {
		for range c.n {
			cases = append(cases, &Case{ItemCode: c.code, ItemName: c.name})
		}
	}
	cases = append(cases, &Case{ItemCode: "09006", Excluded: true}, &Case{})
	ref, refTotal := Pareto(cases)
	if d := cmp.Diff(rows, ref); d != "" || refTotal != total {
		t.Errorf("Pareto(cases) mismatch with ParetoOf (-of +cases), totals %d %d:\n%s", total, refTotal, d)
	}
}

func TestHotspotsOf(t *testing.T) {
	t.Parallel()
	// A place with 6 now against 1, 1, 0, 2 before (mean 1): (6 − 1)/√2 ≈
	// 3.54, hot. Patrol with 5 against 4 each week: not hot. Hotline with 3
	// and no history: (3 − 0)/1 = 3, hot.
	counts := []KeyCount{
		{"place", "长乐路340号", 0, 6}, {"place", "长乐路340号", 1, 1}, {"place", "长乐路340号", 2, 1}, {"place", "长乐路340号", 4, 2},
		{"place", "长乐路340号", 5, 40}, // beyond the baseline windows
		{"source", "patrol", 0, 5}, {"source", "patrol", 1, 4}, {"source", "patrol", 2, 4}, {"source", "patrol", 3, 4}, {"source", "patrol", 4, 4},
		{"source", "hotline", 0, 3},
	}
	type hot struct {
		Kind, Key string
		Current   int
		Baseline  float64
		Score     float64
	}
	var got []hot
	for _, h := range HotspotsOf(counts, 4, 3, 2) {
		got = append(got, hot{h.Kind, h.Key, h.Current, h.Baseline, math.Round(h.Score*100) / 100})
	}
	want := []hot{{"place", "长乐路340号", 6, 1, 3.54}, {"source", "hotline", 3, 0, 3}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("hotspots mismatch (-want +got):\n%s", d)
	}
}

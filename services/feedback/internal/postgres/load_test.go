package postgres_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridflow/gridflow/services/feedback/internal/grpcapi"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/types/known/timestamppb"

	feedbackv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/feedback/v1"
)

// TestFiguresLoad is a gated load test (GRIDFLOW_FEEDBACK_LOAD=1; the
// number of cases in GRIDFLOW_FEEDBACK_LOAD_CASES, 500,000 by default): it
// COPYs a year of cases and their tasks into the figure views and times
// GetMetrics for the city and for one street over the year and over a
// month, with the Go heap's peak above where it started and the bytes
// allocated.
//
//	GRIDFLOW_FEEDBACK_LOAD=1 go test -run FiguresLoad -v -timeout 30m ./internal/postgres/
func TestFiguresLoad(t *testing.T) {
	if os.Getenv("GRIDFLOW_FEEDBACK_LOAD") != "1" {
		t.Skip("load test: set GRIDFLOW_FEEDBACK_LOAD=1")
	}
	n := 500_000
	if v, err := strconv.Atoi(os.Getenv("GRIDFLOW_FEEDBACK_LOAD_CASES")); err == nil && v > 0 {
		n = v
	}
	e := newEnv(t)
	ctx := context.Background()
	year := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	e.clock.Set(time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC))
	began := time.Now()
	tasks := loadCases(t, e, n, year)
	if _, err := e.pool.Exec(ctx, `ANALYZE feedback.figure_cases; ANALYZE feedback.figure_tasks`); err != nil {
		t.Fatal(err)
	}
	t.Logf("COPY %d cases and %d tasks, ANALYZE: %v", n, tasks, time.Since(began).Round(time.Millisecond))

	srv := grpcapi.New(e.svc, nil, 0)
	street := streetCode(7)
	month := [2]time.Time{time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC)}
	for _, q := range []struct {
		name  string
		scope feedbackv1.Scope
		code  string
		from  time.Time
		to    time.Time
	}{
		{"city, year", feedbackv1.Scope_SCOPE_CITY, "", year, year.AddDate(1, 0, 0)},
		{"city, month", feedbackv1.Scope_SCOPE_CITY, "", month[0], month[1]},
		{"street, year", feedbackv1.Scope_SCOPE_STREET, street, year, year.AddDate(1, 0, 0)},
		{"street, month", feedbackv1.Scope_SCOPE_STREET, street, month[0], month[1]},
		{"department, year", feedbackv1.Scope_SCOPE_DEPARTMENT, "dept-03", year, year.AddDate(1, 0, 0)},
	} {
		req := &feedbackv1.GetMetricsRequest{Scope: q.scope, Code: q.code,
			Period: &feedbackv1.Period{Start: timestamppb.New(q.from), End: timestamppb.New(q.to)}}
		var best time.Duration
		var m *feedbackv1.Metrics
		var peak, alloc uint64
		for i := range 3 {
			took, pk, al := measure(func() {
				r, err := srv.GetMetrics(ctx, req)
				if err != nil {
					t.Fatal(err)
				}
				m = r.GetMetrics()
			})
			if i == 0 || took < best {
				best = took
			}
			peak, alloc = max(peak, pk), max(alloc, al)
		}
		t.Logf("GetMetrics %-16s best of 3 %8v  Go heap peak +%s, allocated %s; cases %d, tasks %d, composite %.2f, score %.2f %s, "+
			"to complete avg %v p90 %v", q.name, best.Round(10*time.Microsecond), kib(peak), kib(alloc), m.GetCases(), m.GetToHandle(),
			m.GetComposite(), m.GetScore(), m.GetGrade(), m.GetTimeToComplete().GetAverage().AsDuration().Round(time.Minute),
			m.GetTimeToComplete().GetP90().AsDuration().Round(time.Minute))
		if m.GetCases() == 0 {
			t.Errorf("%s: no cases", q.name)
		}
	}
	for _, q := range []struct {
		name string
		do   func() error
	}{
		{"GetPareto city, year", func() error {
			_, err := srv.GetPareto(ctx, &feedbackv1.GetParetoRequest{Period: &feedbackv1.Period{Start: timestamppb.New(year),
				End: timestamppb.New(year.AddDate(1, 0, 0))}})
			return err
		}},
		{"GetHotspots city, week", func() error {
			w := time.Date(2025, 12, 22, 0, 0, 0, 0, time.UTC)
			_, err := srv.GetHotspots(ctx, &feedbackv1.GetHotspotsRequest{Period: &feedbackv1.Period{Start: timestamppb.New(w),
				End: timestamppb.New(w.AddDate(0, 0, 7))}})
			return err
		}},
	} {
		var err error
		took, pk, al := measure(func() { err = q.do() })
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%-28s %8v  Go heap peak +%s, allocated %s", q.name, took.Round(10*time.Microsecond), kib(pk), kib(al))
	}
}

func streetCode(i int) string { return fmt.Sprintf("1101%02d%03d", 1+i%16, i) }

// loadCases COPYs n cases over the year into figure_cases and their tasks
// (1.3 a case) into figure_tasks: 16 districts, 320 streets, 30 grids a
// street, 40 departments, 200 catalogue items; sign-for in up to two days,
// completion log-normal around 11 days.
func loadCases(t *testing.T, e *env, n int, year time.Time) int {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(12345, 2025))
	yearUS := year.AddDate(1, 0, 0).Sub(year).Microseconds()
	type task struct {
		dept                  string
		done, onTime, ext     bool
		due                   time.Time
		sign, complete        *int64
		district, street, grd string
		at                    time.Time
		excluded              bool
		caseID                string
	}
	var pending []task
	ntasks := 0
	i := 0
	rows := pgx.CopyFromFunc(func() ([]any, error) {
		if i == n {
			return nil, nil
		}
		i++
		s := r.IntN(320)
		street := streetCode(s)
		district := street[:6]
		grid := fmt.Sprintf("%s%03d%03d", street, r.IntN(5), r.IntN(6))
		at := year.Add(time.Duration(r.Int64N(yearUS)) * time.Microsecond)
		excluded := r.IntN(50) == 0
		item := r.IntN(200)
		nCb := r.IntN(3)
		reached, contacted, solved, sat, basic := 0, 0, 0, 0, 0
		for range nCb {
			if r.IntN(10) < 8 {
				reached++
				contacted += b2i(r.IntN(10) < 9)
				solved += b2i(r.IntN(10) < 8)
				switch r.IntN(10) {
				case 0, 1, 2, 3, 4, 5, 6:
					sat++
				case 7, 8:
					basic++
				}
			}
		}
		closed := r.IntN(10) < 8
		for k := range 1 + b2i(r.IntN(10) < 3) {
			tk := task{dept: fmt.Sprintf("dept-%02d", r.IntN(40)), ext: r.IntN(20) == 0, due: at.Add(15 * 24 * time.Hour),
				district: district, street: street, grd: grid, at: at, excluded: excluded, caseID: fmt.Sprintf("load-%07d", i)}
			if k == 0 || r.IntN(2) == 0 {
				sg := int64(r.IntN(48*3600)) * int64(time.Second)
				tk.sign = &sg
			}
			if tk.done = r.IntN(100) < 85; tk.done {
				c := int64(11 * 24 * float64(time.Hour) * math.Exp(r.NormFloat64()*0.9))
				tk.complete = &c
				tk.onTime = at.Add(time.Duration(c)).Before(tk.due)
			}
			pending = append(pending, tk)
		}
		return []any{fmt.Sprintf("load-%07d", i), at, district, street, grid[:12], grid,
			[]string{"hotline", "patrol", "secretary"}[r.IntN(3)], grid, fmt.Sprintf("%05d", item), fmt.Sprintf("item %d", item),
			pending[len(pending)-1].dept, excluded, closed, closed && r.IntN(10) == 0, reached, nCb - reached, contacted, solved, sat, basic}, nil
	})
	if _, err := e.pool.CopyFrom(ctx, pgx.Identifier{"figure_cases"}, []string{"case_id", "received_at", "district_code",
		"street_code", "community_code", "grid_code", "source", "place", "item_code", "item_name", "lead_department", "excluded",
		"closed", "reworked", "cb_valid", "cb_unreached", "cb_contacted", "cb_solved", "cb_satisfied", "cb_basic"}, rows); err != nil {
		t.Fatal(err)
	}
	// Task rows follow their cases (kept in memory only for the load).
	j := 0
	trows := pgx.CopyFromFunc(func() ([]any, error) {
		if j == len(pending) {
			return nil, nil
		}
		tk := pending[j]
		j++
		return []any{tk.caseID, fmt.Sprintf("t-%07d", j), tk.dept, tk.at, tk.district, tk.street, tk.grd,
			tk.excluded, true, tk.done, tk.onTime, tk.ext, tk.due, tk.sign, tk.complete}, nil
	})
	if _, err := e.pool.CopyFrom(ctx, pgx.Identifier{"figure_tasks"}, []string{"case_id", "task_id", "department", "received_at",
		"district_code", "street_code", "grid_code", "excluded", "counted", "done", "on_time", "extended", "complete_due",
		"sign_ns", "complete_ns"}, trows); err != nil {
		t.Fatal(err)
	}
	ntasks = len(pending)
	return ntasks
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// measure runs fn once and returns how long it took, the Go heap's peak
// above its level before (sampled every millisecond) and the bytes
// allocated.
func measure(fn func()) (time.Duration, uint64, uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, alloc0 := ms.HeapAlloc, ms.TotalAlloc
	var peak atomic.Uint64
	done, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		var ms runtime.MemStats
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > base && ms.HeapAlloc-base > peak.Load() {
				peak.Store(ms.HeapAlloc - base)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	}()
	began := time.Now()
	fn()
	took := time.Since(began)
	close(done)
	<-stopped
	runtime.ReadMemStats(&ms)
	if ms.HeapAlloc > base {
		peak.Store(max(peak.Load(), ms.HeapAlloc-base))
	}
	return took, peak.Load(), ms.TotalAlloc - alloc0
}

func kib(b uint64) string { return fmt.Sprintf("%.1f KiB", float64(b)/1024) }

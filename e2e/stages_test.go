//go:build stages

package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/loadgen"
	"github.com/jackc/pgx/v5"
)

// TestStageDrain measures each stage behind intake alone (issue 17): a
// burst of orders is taken by intake with nothing behind it, then classify,
// dispatch and feedback are started one at a time, each in front of the
// whole backlog of its durable consumer, and timed until the backlog is
// handled and what the stage published has left its outbox. A measurement,
// not a pass/fail on speed: run it for main's binaries and for a branch's
// in one sitting of the host (GRIDFLOW_BIN_DIR), since its speed moves.
//
//	cd e2e && TEST_DATABASE_URL=… GRIDFLOW_BIN_DIR=… STAGES_PG_PID=<postmaster> [STAGES_DURATION=10s STAGES_RATE=300] \
//	  go test -tags stages -run TestStageDrain -count=1 -v .
//
// Per stage it reports events/s drained (the last 90 % of the backlog, so a
// process's start is not counted) and CPU µs per event of the service and,
// when STAGES_PG_PID names the postmaster, of PostgreSQL's backends; with
// STAGES_PPROF_DIR it saves a CPU profile of each stage's drain there.
func TestStageDrain(t *testing.T) {
	texts := chaosTexts(t)
	// Feedback's early warnings at their default period, as in make bench.
	s := startStackWith(t, stackConfig{env: []string{"GRIDFLOW_LOG_LEVEL=info", "FEEDBACK_WARNING_EVERY=5m"}}, "intake")
	ctx := context.Background()
	dur := 10 * time.Second
	if v, err := time.ParseDuration(os.Getenv("STAGES_DURATION")); err == nil && v > 0 {
		dur = v
	}

	// A fixed rate (STAGES_RATE) gives two runs the same backlog; without
	// one, intake takes what it can.
	rate, _ := strconv.ParseFloat(os.Getenv("STAGES_RATE"), 64)
	r, err := loadgen.Start(ctx, loadgen.Config{
		IntakeAddr: s.addrs["intake"], DispatchAddr: s.addrs["dispatch"], FeedbackAddr: s.addrs["feedback"],
		Token: func(p auth.Principal) (string, error) { return s.signer.Issue(p, 2*time.Hour) },
		Rate:  rate, Max: rate <= 0, Duration: dur, Seed: 17, Texts: texts, NoBots: true, NoCallbacks: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	r.Submit(ctx)
	sum := r.Stop()
	t.Logf("intake took %d orders in %s (%d failed)", sum.Accepted, dur, sum.Failed)

	db, err := pgx.Connect(ctx, s.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	waitOutbox(t, db, "intake", time.Minute)

	durables := map[string]string{"classify": "classify-cases", "dispatch": "dispatch-cases", "feedback": "feedback-events"}
	var lines []string
	stages := []string{"classify", "dispatch", "feedback"}
	if only := os.Getenv("STAGES_ONLY"); only != "" { // the first stages, up to this one
		stages = stages[:slices.Index(stages, only)+1]
	}
	for _, svc := range stages {
		lines = append(lines, drainStage(t, s, db, svc, durables[svc]))
	}
	for _, l := range lines {
		t.Log(l)
	}
}

// drainStage starts svc in front of its durable's backlog and times it.
func drainStage(t *testing.T, s *stack, db *pgx.Conn, svc, durable string) string {
	t.Helper()
	ctx := context.Background()
	js := s.jetStream(t)
	backlog := func() int {
		c, err := js.Consumer(ctx, "GRID", durable)
		if err != nil {
			t.Fatalf("durable %s: %v", durable, err)
		}
		info, err := c.Info(ctx)
		if err != nil {
			t.Fatalf("durable %s: %v", durable, err)
		}
		return int(info.NumPending) + info.NumAckPending
	}
	n0 := backlog()
	pgss := statementsFrom(t, db, svc) // issue 17, feedback's stage
	s.start(t, svc, filepath.Join(s.bin, svc))
	pid := s.procs[svc].Process.Pid
	pgPid, _ := strconv.Atoi(os.Getenv("STAGES_PG_PID"))

	var (
		t90      time.Time
		left90   int
		cpu90    time.Duration
		pg90     time.Duration
		profiled chan struct{}
	)
	deadline := time.Now().Add(10 * time.Minute)
	for {
		left := backlog()
		if t90.IsZero() && left <= n0*9/10 {
			t90, left90, cpu90, pg90 = time.Now(), left, procCPU(pid), childrenCPU(pgPid)
			if dir := os.Getenv("STAGES_PPROF_DIR"); dir != "" {
				profiled = make(chan struct{})
				go func() {
					defer close(profiled)
					saveProfile(t, s.admins[svc], filepath.Join(dir, svc+".pprof"))
				}()
			}
		}
		if left == 0 && !t90.IsZero() && outboxCount(t, db, svc) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d of %d events still waiting after 10 min", svc, left, n0)
		}
		time.Sleep(20 * time.Millisecond)
	}
	el, cpu, pg := time.Since(t90), procCPU(pid)-cpu90, childrenCPU(pgPid)-pg90
	n := left90 // the events handled since t90
	if profiled != nil {
		<-profiled
	}
	pgss(n0) // issue 17, feedback's stage
	return fmt.Sprintf("%s: backlog %d events; drained %.0f events/s; CPU %.0f µs/event (service) %.0f µs/event (PostgreSQL)",
		svc, n0, float64(n)/el.Seconds(), float64(cpu.Microseconds())/float64(n), float64(pg.Microseconds())/float64(n))
}

func outboxCount(t *testing.T, db *pgx.Conn, schema string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(), `SELECT count(*) FROM `+schema+`.outbox`).Scan(&n); err != nil {
		t.Fatalf("%s outbox: %v", schema, err)
	}
	return n
}

func waitOutbox(t *testing.T, db *pgx.Conn, schema string, max time.Duration) {
	t.Helper()
	for end := time.Now().Add(max); outboxCount(t, db, schema) > 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("%s outbox not empty after %s", schema, max)
		}
	}
}

// procCPU is the user+system CPU time pid has used (Linux /proc).
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command, which is in parentheses and may hold spaces.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// childrenCPU is the CPU time of pid's live children (PostgreSQL's
// backends under its postmaster); 0 without a pid.
func childrenCPU(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return 0
	}
	var total time.Duration
	for _, c := range strings.Fields(string(b)) {
		n, _ := strconv.Atoi(c)
		total += procCPU(n)
	}
	return total
}

func saveProfile(t *testing.T, admin, path string) {
	resp, err := http.Get("http://" + admin + "/debug/pprof/profile?seconds=5")
	if err != nil {
		t.Logf("profile %s: %v", path, err)
		return
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		t.Logf("profile %s: %v", path, err)
		return
	}
	defer f.Close()
	_, _ = io.Copy(f, resp.Body)
}

// Issue 17, feedback's stage: statements per event.
//
// statementsFrom, with STAGES_PGSS=1 and pg_stat_statements loaded (and
// created in the database the stack uses), resets its counts as svc starts
// and returns a function that logs, once the backlog of n events is drained,
// the statements run since per event and the most frequent ones. The counts
// are the whole cluster's: the stages already drained sit idle meanwhile.
func statementsFrom(t *testing.T, db *pgx.Conn, svc string) func(n int) {
	t.Helper()
	ctx := context.Background()
	if os.Getenv("STAGES_PGSS") == "" {
		return func(int) {}
	}
	if _, err := db.Exec(ctx, `SELECT pg_stat_statements_reset()`); err != nil {
		t.Logf("%s: pg_stat_statements: %v", svc, err)
		return func(int) {}
	}
	return func(n int) {
		rows, err := db.Query(ctx, `SELECT calls, total_exec_time, left(regexp_replace(query, '\s+', ' ', 'g'), 110)
			FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%' ORDER BY calls DESC`)
		if err != nil {
			t.Logf("%s: pg_stat_statements: %v", svc, err)
			return
		}
		defer rows.Close()
		var calls int64
		var ms float64
		var top []string
		for rows.Next() {
			var c int64
			var x float64
			var q string
			if err := rows.Scan(&c, &x, &q); err != nil {
				t.Fatal(err)
			}
			calls, ms = calls+c, ms+x
			if len(top) < 25 {
				top = append(top, fmt.Sprintf("%8d calls %9.1f ms  %s", c, x, q))
			}
		}
		t.Logf("%s: %d statements for %d events: %.2f statements/event, %.0f µs/event executing\n%s", svc, calls, n,
			float64(calls)/float64(n), ms*1000/float64(n), strings.Join(top, "\n"))
	}
}

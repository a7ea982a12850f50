package e2e

import (
	"context"
	"fmt"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"gopkg.in/yaml.v3"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/loadgen"
	"github.com/gridflow/gridflow/pkg/natsauth"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/workcal"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

// chaosPlan is one variant of the chaos run.
type chaosPlan struct {
	rate float64
	load time.Duration
	// Faults start at first and follow every interval, through victims in
	// order, rounds times.
	first, interval time.Duration
	rounds          int
	// settle is how long after the last fault everything must be in a
	// state its events explain (the issue's 60 s).
	settle time.Duration
	// waitSettle: wait out settle in full even when everything is in order
	// sooner (the full run), instead of stopping at the first clean check.
	waitSettle bool
}

var (
	// The short variant in make test: each fault once, about 80 s, at the
	// full run's rate (below: at 20/s feedback ended 1,800 events behind,
	// draining 100 a second while the other tests ran).
	chaosShort = chaosPlan{rate: 10, load: 42 * time.Second, first: 5 * time.Second, interval: 5 * time.Second, rounds: 1,
		settle: 60 * time.Second}
	// make chaos: every fault twice, over more than three minutes. The
	// rate is one the whole loop sustains on a shared 2-core machine with
	// room to catch up after each fault: feedback handles one message at a
	// time over every event of every case (about nine a case), and at 20/s
	// for 200 s with a fault every 15 s it ended 10,000 events behind
	// (about 170 a second drained) while every other consumer was at 0, a
	// backlog the check reports as not in feedback; GRIDFLOW_CHAOS_RATE=20
	// shows it. Issue 17 makes the consumers batch.
	chaosFull = chaosPlan{rate: 10, load: 200 * time.Second, first: 15 * time.Second, interval: 15 * time.Second, rounds: 2,
		settle: 60 * time.Second, waitSettle: true}
	victims = []string{"intake", "classify", "dispatch", "feedback", "nats", "postgres"}
)

// TestChaos is issue 16's proof that nothing is lost, nothing happens
// twice and nothing gets stuck: the whole stack as processes on a
// PostgreSQL cluster of its own, the load harness (pkg/loadgen: hotline,
// patrol, secretaries, department bots, callbacks) running, and meanwhile
// kill -9 of each service in turn (restarted at once), a restart of
// nats-server and one of PostgreSQL. Then it checks from the services' own
// stores and the stream that every submission answered OK is exactly one
// case in intake, classify, dispatch (when dispatchable) and feedback, that
// no task was made twice and no timer fired twice, and that nothing is stuck
// 60 s after the last fault. The SLA limits are cut to seconds (a reference
// directory of the test's own) so that the clock fires during the faults.
//
// GRIDFLOW_CHAOS=full (make chaos) runs the long variant. The last line
// printed is accepted=… cases=… lost=… duplicated=… stuck=…; the test fails
// unless the last three are 0.
func TestChaos(t *testing.T) {
	plan := chaosShort
	if os.Getenv("GRIDFLOW_CHAOS") == "full" {
		plan = chaosFull
	}
	if v := os.Getenv("GRIDFLOW_CHAOS_RATE"); v != "" {
		if _, err := fmt.Sscanf(v, "%g", &plan.rate); err != nil || !(plan.rate > 0) {
			t.Fatalf("GRIDFLOW_CHAOS_RATE=%q: want submissions per second above 0", v)
		}
	}
	t.Logf("plan: %g submissions/s for %s; faults from %s every %s, %d round(s); checked %s after the last",
		plan.rate, plan.load, plan.first, plan.interval, plan.rounds, plan.settle)
	binDir(t) // skip (or fail under CI) before making a cluster when the binaries are missing
	t0 := time.Now()
	texts := chaosTexts(t)
	pg := startPostgres(t)
	ref := chaosReference(t)
	s := startStackWith(t, stackConfig{dbURL: pg.url, env: []string{
		"GRIDFLOW_REFERENCE_DIR=" + ref,
		"GRIDFLOW_LOG_LEVEL=info",
		// A case the model is unsure of waits for a dispatcher this long,
		// then goes to the street desk: its timer fires during the run.
		"CLASSIFY_REVIEW_TIMEOUT=20s",
	}})
	t.Logf("PostgreSQL of its own and the stack up in %.1fs", time.Since(t0).Seconds())

	ctx := context.Background()
	prefix := fmt.Sprintf("CHAOS-%X-", time.Now().Unix())
	r, err := loadgen.Start(ctx, loadgen.Config{
		IntakeAddr: s.addrs["intake"], DispatchAddr: s.addrs["dispatch"], FeedbackAddr: s.addrs["feedback"],
		Token: func(p auth.Principal) (string, error) { return s.signer.Issue(p, 2*time.Hour) },
		Rate:  plan.rate, Duration: plan.load, Seed: 16, Prefix: prefix, Texts: texts, ReferenceDir: ref,
		SlowShare: 0.1, SlowDelay: 40 * time.Second, UnsatisfiedShare: 0.03,
		Progress: testWriter{t}, ProgressEvery: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			r.Stop()
		}
	}()

	// The load runs beside; faults are injected from the test's goroutine
	// (a failed restart fails the test there).
	start := time.Now()
	loadDone := make(chan struct{})
	go func() { defer close(loadDone); r.Submit(ctx) }()
	var (
		faults   []string
		lastBack time.Time
	)
	n := 0
	for round := range plan.rounds {
		for i, v := range victims {
			at := plan.first + time.Duration(round*len(victims)+i)*plan.interval
			time.Sleep(time.Until(start.Add(at)))
			n++
			what, back := s.fault(t, pg, v)
			line := fmt.Sprintf("fault %2d at %5.1fs: %s, back after %.1fs", n, at.Seconds(), what, back.Seconds())
			t.Log(line)
			faults = append(faults, line)
			lastBack = time.Now()
		}
	}
	<-loadDone
	t.Logf("load done at %.1fs; last fault over at %.1fs; checking until %.1fs", time.Since(start).Seconds(),
		lastBack.Sub(start).Seconds(), lastBack.Add(plan.settle).Sub(start).Seconds())

	// The departments and the hotline finish what they have (the slow
	// ones take their time) for at most 25 s after the last fault, then
	// stop, so that what is checked stands still: a task completed a
	// moment ago is on its way to feedback, not stuck. The checks go on
	// until 60 s after the last fault.
	checkBy := lastBack.Add(plan.settle)
	r.Drain(ctx, time.Until(lastBack.Add(25*time.Second)))
	sum := r.Stop()
	stopped = true
	t.Logf("bots and callbacks stopped at %.1fs (%d tasks still open)", time.Since(start).Seconds(), sum.Pending)

	db, err := pgx.Connect(ctx, pg.url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	subs := sum.Submissions
	var res chaosResult
	for {
		res = checkStores(ctx, t, db, prefix, subs)
		done := time.Now().After(checkBy)
		if done || (!plan.waitSettle && res.clean()) {
			break
		}
		grid, err := s.jetStream(t).Stream(ctx, "GRID")
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("check at %.1fs: lost %d, duplicated %d, stuck %d%s; consumers' backlog: %s", time.Since(start).Seconds(), len(res.lost),
			len(res.duplicated), len(res.stuck), example(res), backlog(ctx, t, grid))
		time.Sleep(2 * time.Second)
	}
	checkStream(t, s, subs, &res)
	t.Logf("checked at %.1fs", time.Since(start).Seconds())
	s.stopAll(t)

	t.Logf("load: %s", strings.ReplaceAll(sum.String(), "\n", "\n      "))
	t.Logf("faults injected (%d):\n  %s", len(faults), strings.Join(faults, "\n  "))
	t.Logf("stores at %.1fs after the last fault: %s", time.Since(lastBack).Seconds(), res.figures)
	for _, kind := range []struct {
		name string
		list []string
	}{{"lost", res.lost}, {"duplicated", res.duplicated}, {"stuck", res.stuck}} {
		if len(kind.list) > 0 {
			t.Errorf("%s: %d, e.g.\n  %s", kind.name, len(kind.list), strings.Join(kind.list[:min(15, len(kind.list))], "\n  "))
		}
	}
	fmt.Printf("accepted=%d cases=%d lost=%d duplicated=%d stuck=%d\n", sum.Accepted, res.cases, len(res.lost), len(res.duplicated), len(res.stuck))
}

// testWriter sends the harness's progress lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// stopAll stops the services together, then nats-server (services
// stopping without NATS would wait out their drain).
func (s *stack) stopAll(t *testing.T) {
	t.Helper()
	for _, names := range [][]string{services, {"nats"}} {
		for _, n := range names {
			if p := s.procs[n]; p != nil {
				_ = p.Process.Signal(os.Interrupt)
			}
		}
		for _, n := range names {
			if s.procs[n] == nil {
				continue
			}
			select {
			case <-s.exited[n]:
			case <-time.After(15 * time.Second):
				t.Logf("%s did not stop within 15 s of SIGINT", n)
			}
		}
	}
}

// fault injects one fault and returns what it did and how long the victim
// was away: kill -9 and restart of a service or nats-server, a restart of
// PostgreSQL.
func (s *stack) fault(t *testing.T, pg *postgres, victim string) (string, time.Duration) {
	t0 := time.Now()
	switch victim {
	case "postgres":
		pg.run(t, "stop")
		time.Sleep(time.Second) // the services see it gone, not a blip
		pg.run(t, "start")
		return "restart PostgreSQL (scripts/pg.sh stop; start)", time.Since(t0)
	case "nats":
		s.kill9(t, "nats")
		s.restart(t, "nats")
		return "kill -9 nats-server, restart", time.Since(t0)
	}
	s.kill9(t, victim)
	s.restart(t, victim)
	return "kill -9 " + victim + ", restart", time.Since(t0)
}

// postgres is a cluster of the test's own (scripts/pg.sh in a temporary
// directory on a free port): the test restarts it, which it could not do to
// the server the other tests share.
type postgres struct {
	env []string
	url string
}

func startPostgres(t *testing.T) *postgres {
	t.Helper()
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("SKIPPING chaos test: no bash for scripts/pg.sh")
	}
	dir := t.TempDir()
	_, port, _ := strings.Cut(freeAddr(t), ":")
	pg := &postgres{env: []string{"GRIDFLOW_RUN_DIR=" + dir, "GRIDFLOW_PG_DIR=" + filepath.Join(dir, "pg"), "GRIDFLOW_PG_PORT=" + port},
		url: "postgres://gridflow@127.0.0.1:" + port + "/gridflow?sslmode=disable"}
	pg.run(t, "start")
	t.Cleanup(func() { pg.run(t, "stop") })
	return pg
}

func (pg *postgres) run(t *testing.T, verb string) {
	t.Helper()
	cmd := exec.Command("../scripts/pg.sh", verb)
	cmd.Env = append(os.Environ(), pg.env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("scripts/pg.sh %s: %v\n%s", verb, err, out)
	}
}

// chaosTexts are the citizen messages the harness sends: ../shared's when
// present, else the project's corpus.
func chaosTexts(t *testing.T) []loadgen.Text {
	t.Helper()
	shared := os.Getenv("GRIDFLOW_SHARED_DIR")
	if shared == "" {
		shared = "../../shared"
	}
	path, what, err := loadgen.FindTexts([]string{shared}, "..")
	if err != nil {
		t.Fatal(err)
	}
	texts, err := loadgen.ReadTexts(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("texts: %d from %s (%s)", len(texts), path, what)
	return texts
}

var limitRE = regexp.MustCompile(`^\s*\S+ (clock|working_minutes?|working_hours?|working_days?)\s*$`)

// chaosReference is a reference directory whose sla.yaml is the shipped
// one with every limit cut from minutes, hours and days to seconds —
// longer limits stay longer (15 + 10·log2(1 + minutes/15) s: 15 minutes
// become 25 s, 2 working hours 46 s, 10 working days 98 s) — so warnings,
// overdues and escalations fire while the faults are injected.
func chaosReference(t *testing.T) string {
	t.Helper()
	b, err := fs.ReadFile(reference.DefaultFS(), reference.FileSLA)
	if err != nil {
		t.Fatal(err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.ScalarNode && limitRE.MatchString(n.Value) {
			d, err := workcal.ParseDuration(n.Value)
			if err != nil {
				t.Fatalf("sla.yaml: %v", err)
			}
			minutes := d.Time.Minutes()
			if d.Kind == workcal.WorkingDays {
				minutes = float64(d.Days) * 7 * 60
			}
			n.Value = fmt.Sprintf("%ds clock", int(15+10*math.Log2(1+minutes/15)))
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(&doc)
	out, err := yaml.Marshal(&doc)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, reference.FileSLA), out, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := reference.LoadDir(dir); err != nil {
		t.Fatalf("the chaos SLA limits do not load: %v", err)
	}
	return dir
}

// chaosResult is what the checks found.
type chaosResult struct {
	cases                   int
	lost, duplicated, stuck []string
	figures                 string
}

// example is one of what is still wrong, for the progress of the checks.
func example(r chaosResult) string {
	for _, l := range [][]string{r.lost, r.duplicated, r.stuck} {
		if len(l) > 0 {
			return ", e.g. " + l[0]
		}
	}
	return ""
}

func (r chaosResult) clean() bool {
	return len(r.lost) == 0 && len(r.duplicated) == 0 && len(r.stuck) == 0
}

// checkStores looks for every accepted submission in each service's own
// tables and applies the issue's definitions: missing from a store is
// lost; one request twice in intake, or one unit's task twice in a round,
// is duplicated; received but never classified (outside the review queue),
// dispatchable without a task, or a lead task done (and approved where
// review is required) without the case resolved is stuck.
func checkStores(ctx context.Context, t *testing.T, db *pgx.Conn, prefix string, subs []loadgen.Submission) chaosResult {
	t.Helper()
	var res chaosResult
	ids := make([]string, len(subs))
	for i, s := range subs {
		ids[i] = s.CaseID
	}
	query := func(sql string, args []any, row func(pgx.Rows) error) {
		rows, err := db.Query(ctx, sql, args...)
		if err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := row(rows); err != nil {
				t.Fatal(err)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}

	// intake: every case of the run (by request id), and each request once.
	intake := map[string]string{} // case id → principal|request id
	perRequest := map[string]int{}
	query(`SELECT case_id::text, principal, coalesce(hotline_order_no, request_id) FROM intake.submissions
		WHERE coalesce(hotline_order_no, request_id) LIKE $1`, []any{prefix + "%"}, func(r pgx.Rows) error {
		var id, principal, req string
		if err := r.Scan(&id, &principal, &req); err != nil {
			return err
		}
		intake[id] = principal + "|" + req
		perRequest[principal+"|"+req]++
		return nil
	})
	res.cases = len(intake)
	for req, n := range perRequest {
		if n > 1 {
			res.duplicated = append(res.duplicated, fmt.Sprintf("request %s is %d cases in intake", req, n))
		}
	}

	type classified struct {
		version      int
		review       string
		dispatchable bool
	}
	cls := map[string]classified{}
	query(`SELECT c.case_id, c.version, coalesce(c.review_state, ''), coalesce((k.body->>'Dispatchable')::boolean, false)
		FROM classify.cases c LEFT JOIN classify.classifications k ON k.case_id = c.case_id AND k.version = c.version
		WHERE c.case_id = ANY($1)`, []any{ids}, func(r pgx.Rows) error {
		var id string
		var c classified
		if err := r.Scan(&id, &c.version, &c.review, &c.dispatchable); err != nil {
			return err
		}
		cls[id] = c
		return nil
	})

	type dcase struct {
		status string
		queued bool
	}
	dcases := map[string]dcase{}
	query(`SELECT case_id::text, status, queued_at IS NOT NULL OR arbitration_at IS NOT NULL FROM dispatch.cases WHERE case_id::text = ANY($1)`,
		[]any{ids}, func(r pgx.Rows) error {
			var id string
			var c dcase
			if err := r.Scan(&id, &c.status, &c.queued); err != nil {
				return err
			}
			dcases[id] = c
			return nil
		})
	type task struct {
		id, dept, role, state, review string
		round                         int
	}
	tasks := map[string][]task{}
	query(`SELECT case_id::text, task_id::text, department, coalesce(body->>'role', ''), state, coalesce(body->>'review', ''),
			coalesce((body->>'round')::int, 0)
		FROM dispatch.tasks WHERE case_id::text = ANY($1)`, []any{ids}, func(r pgx.Rows) error {
		var c string
		var k task
		if err := r.Scan(&c, &k.id, &k.dept, &k.role, &k.state, &k.review, &k.round); err != nil {
			return err
		}
		tasks[c] = append(tasks[c], k)
		return nil
	})

	type fcase struct {
		state string
		round int
	}
	fcases := map[string]fcase{}
	query(`SELECT case_id, state, coalesce((body->>'Round')::int, 0) FROM feedback.cases WHERE case_id = ANY($1)`, []any{ids}, func(r pgx.Rows) error {
		var id string
		var c fcase
		if err := r.Scan(&id, &c.state, &c.round); err != nil {
			return err
		}
		fcases[id] = c
		return nil
	})
	replies := map[string]int{}
	query(`SELECT case_id, round, count(*) FROM feedback.replies WHERE case_id = ANY($1) GROUP BY 1, 2 HAVING count(*) > 1`, []any{ids},
		func(r pgx.Rows) error {
			var id string
			var round, n int
			if err := r.Scan(&id, &round, &n); err != nil {
				return err
			}
			replies[fmt.Sprintf("%s round %d", id, round)] = n
			return nil
		})
	for k, n := range replies {
		res.duplicated = append(res.duplicated, fmt.Sprintf("case %s has %d replies", k, n))
	}

	var review, queued, dispatchable, withTasks, resolved int
	for _, sub := range subs {
		id, name := sub.CaseID, fmt.Sprintf("%s %s (%s)", sub.Kind, sub.RequestID, sub.CaseID)
		if intake[id] != sub.Principal+"|"+sub.RequestID {
			res.lost = append(res.lost, name+": not in intake")
			continue
		}
		c, ok := cls[id]
		switch {
		case !ok:
			res.lost = append(res.lost, name+": not in classify")
		case c.version == 0 && c.review == "waiting":
			review++
		case c.version == 0:
			res.stuck = append(res.stuck, name+": received, never classified")
		}
		f, inFeedback := fcases[id]
		if !inFeedback {
			res.lost = append(res.lost, name+": not in feedback")
		}
		if !ok || !c.dispatchable {
			continue
		}
		dispatchable++
		d, ok := dcases[id]
		if !ok {
			res.lost = append(res.lost, name+": dispatchable, not in dispatch")
			continue
		}
		ts := tasks[id]
		// No task twice: one unit, one role, one round, one live task.
		seen := map[string]int{}
		for _, k := range ts {
			if k.state == "withdrawn" || k.state == "rejected" || k.state == "forwarded" {
				continue
			}
			key := fmt.Sprintf("%s %s round %d", k.dept, k.role, k.round)
			if seen[key]++; seen[key] == 2 {
				res.duplicated = append(res.duplicated, name+": two tasks for "+key)
			}
		}
		switch {
		case d.queued:
			queued++ // waiting for a dispatcher, as a review is
			continue
		case d.status == "cancelled" || d.status == "parked" || d.status == "withdrawn" || d.status == "not_dispatchable":
			continue
		case len(ts) == 0:
			res.stuck = append(res.stuck, fmt.Sprintf("%s: dispatchable, no task (dispatch status %s)", name, d.status))
			continue
		}
		withTasks++
		if !inFeedback {
			continue
		}
		if f.round > 0 && !slices.ContainsFunc(ts, func(k task) bool {
			return k.round == f.round && k.state != "withdrawn" && k.state != "rejected" && k.state != "forwarded"
		}) {
			res.stuck = append(res.stuck, fmt.Sprintf("%s: reopened (round %d, %s in feedback), no task of the round", name, f.round, f.state))
		}
		for _, k := range ts {
			done := k.role == "lead" && k.state == "completed" && k.review != "pending" && k.review != "returned"
			if done && k.round == f.round {
				switch f.state {
				case "resolved", "replied", "awaiting_recheck", "closed", "merged", "withdrawn", "cancelled":
					resolved++
				default:
					res.stuck = append(res.stuck, fmt.Sprintf("%s: lead task %s completed, case %s in feedback", name, k.id, f.state))
				}
			}
		}
	}
	res.figures = fmt.Sprintf("%d cases of the run in intake, %d in classify (%d waiting for review), %d in feedback; "+
		"%d dispatchable, %d in dispatch, %d with tasks, %d in the dispatch queue; %d resolved after their lead task",
		len(intake), len(cls), review, len(fcases), dispatchable, len(dcases), withTasks, queued, resolved)
	return res
}

// checkStream reads the stream GRID whole: no case received twice and no
// task dispatched twice under different event ids, and no timer fired
// twice — two warnings, overdues, supervisions or escalations of one task
// for one deadline, limit and recipient.
func checkStream(t *testing.T, s *stack, subs []loadgen.Submission, res *chaosResult) {
	t.Helper()
	ours := map[string]bool{}
	for _, sub := range subs {
		ours[sub.CaseID] = true
	}
	js := s.jetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	stream, err := js.Stream(ctx, "GRID")
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	once := map[string]map[string]bool{} // what may happen once → its event ids
	fired := map[string]int{}
	add := func(key, eventID string) {
		if once[key] == nil {
			once[key] = map[string]bool{}
		}
		once[key][eventID] = true
	}
	var n uint64
	for n < info.State.Msgs {
		batch, err := cons.Fetch(500, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for m := range batch.Messages() {
			got++
			n++
			var env eventsv1.Envelope
			if err := proto.Unmarshal(m.Data(), &env); err != nil {
				t.Fatalf("%s: %v", m.Subject(), err)
			}
			if !ours[env.GetCaseId()] {
				continue
			}
			id := env.GetEventId()
			switch p := env.GetPayload().(type) {
			case *eventsv1.Envelope_CaseReceived:
				add("case.received "+env.GetCaseId(), id)
			case *eventsv1.Envelope_TaskDispatched:
				add("task.dispatched "+p.TaskDispatched.GetTask().GetTaskId(), id)
			case *eventsv1.Envelope_TaskWarned:
				fired[firedKey(env.GetType(), p.TaskWarned.GetTask(), p.TaskWarned.GetStep())]++
				add(timerKey(env.GetType(), p.TaskWarned.GetTask(), p.TaskWarned.GetStep()), id)
			case *eventsv1.Envelope_TaskOverdue:
				fired[firedKey(env.GetType(), p.TaskOverdue.GetTask(), p.TaskOverdue.GetStep())]++
				add(timerKey(env.GetType(), p.TaskOverdue.GetTask(), p.TaskOverdue.GetStep()), id)
			case *eventsv1.Envelope_TaskSupervised:
				if p.TaskSupervised.GetStep() != nil { // the clock's, not a dispatcher's
					fired[firedKey(env.GetType(), p.TaskSupervised.GetTask(), p.TaskSupervised.GetStep())]++
					add(timerKey(env.GetType(), p.TaskSupervised.GetTask(), p.TaskSupervised.GetStep()), id)
				}
			case *eventsv1.Envelope_TaskEscalated:
				fired[firedKey(env.GetType(), p.TaskEscalated.GetTask(), p.TaskEscalated.GetStep())]++
				add(timerKey(env.GetType(), p.TaskEscalated.GetTask(), p.TaskEscalated.GetStep()), id)
			}
		}
		if err := batch.Error(); err != nil || got == 0 {
			break
		}
	}
	keys := make([]string, 0, len(once))
	for k, ids := range once {
		if len(ids) > 1 {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		res.duplicated = append(res.duplicated, fmt.Sprintf("on the stream %d times: %s", len(once[k]), k))
	}
	res.figures += fmt.Sprintf("; stream: %d messages read, timers fired %v; consumers' backlog: %s", n, fired, backlog(ctx, t, stream))
}

// backlog is each durable consumer's messages not yet delivered and not
// yet acknowledged: what "not in feedback" means when it is not lost but
// behind.
func backlog(ctx context.Context, t *testing.T, stream jetstream.Stream) string {
	t.Helper()
	var parts []string
	// The operator may read a consumer's info, not list them: the
	// durables are the ones pkg/natsauth's table names.
	for _, u := range natsauth.Users {
		for _, dur := range u.Durables {
			d := dur.Name
			c, err := stream.Consumer(ctx, d)
			if err != nil {
				parts = append(parts, d+" "+err.Error())
				continue
			}
			info, err := c.Info(ctx)
			if err != nil {
				parts = append(parts, d+" "+err.Error())
				continue
			}
			parts = append(parts, fmt.Sprintf("%s %d pending + %d unacked", d, info.NumPending, info.NumAckPending))
		}
	}
	return strings.Join(parts, ", ")
}

// firedKey counts timers by event, limit and the task's state.
func firedKey(typ string, task *eventsv1.TaskRef, step *eventsv1.ClockStep) string {
	return fmt.Sprintf("%s/%s/%s", strings.TrimPrefix(typ, "task."), strings.TrimPrefix(step.GetLimit().String(), "CLOCK_LIMIT_"),
		strings.TrimPrefix(task.GetState().String(), "TASK_STATE_"))
}

func timerKey(typ string, task *eventsv1.TaskRef, step *eventsv1.ClockStep) string {
	return fmt.Sprintf("%s task %s %s due %s %s to %s", typ, task.GetTaskId(), step.GetLimit(), step.GetDue().AsTime().Format(time.RFC3339),
		step.GetAction(), step.GetToDepartmentCode())
}

//go:build bench

package e2e

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/loadgen"
	"github.com/gridflow/gridflow/pkg/natsauth"
	"github.com/gridflow/gridflow/pkg/natsjs"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

// TestBench is `make bench`: the whole loop measured, never failed on
// speed (issue 17). The stack runs as processes on a PostgreSQL cluster of
// its own (as make chaos runs it), driven by pkg/loadgen — hotline work
// orders with real texts, repeated reports of one place, patrol reports,
// 一指通办 issues, 1 % emergencies, department bots that sign for and
// complete, the hotline calling back; classify serves a model trained on
// ../shared's train.jsonl when it is there, as make run does. In one run:
//
//  1. the naive baseline of make bench-intake (the same code), with intake
//     alone running, as make bench-intake runs it;
//  2. the sustained rate: a short search (BENCH_STEPS, 4) for the highest
//     offered rate at which every durable consumer's backlog, feedback's
//     included, stays bounded for BENCH_WINDOW (60 s) with the bots
//     running; its figure counts the submissions that reached their outcome
//     within the window (a dispatched task, the review queue, or not
//     dispatchable: a duplicate or a consultation answered on the call);
//  3. at a fixed BENCH_RATE (200/s) for BENCH_FIXED (30 s): p50/p99 of
//     submit → task.dispatched for routine and for emergency cases, and of
//     the submit call; CPU µs per order of every process over the phase and
//     the drain after it, in which the bots finish every task and callback
//     the phase's orders brought (each order's whole loop is paid for);
//  4. the baseline again, the other services stopped (the host's speed
//     moves);
//  5. issue 17's targets against the figures, and for the ratio the CPU
//     budget an order has on this host (bench_targets_test.go);
//
// and peak RSS of every process over the run. The last line is
// e2e_orders_per_s=… p99_dispatch_ms=… p99_emergency_ms=… p99_submit_ms=…
// baseline_orders_per_s=… ratio=… max_rss_mib=…, where ratio is e2e over
// the mean baseline and max_rss_mib the largest peak of a gridflow service.
// BENCH_USERS=off leaves the bots and the callbacks out: what remains is
// the pipeline's own cost, and its difference from a run with them what
// the departments' and the hotline's actions cost per order.
func TestBench(t *testing.T) {
	cfg := benchConfig{
		window:    envDuration("BENCH_WINDOW", 60*time.Second),
		fixed:     envDuration("BENCH_FIXED", 30*time.Second),
		base:      envDuration("BENCH_BASELINE", 10*time.Second),
		drain:     envDuration("BENCH_DRAIN", 120*time.Second),
		steps:     int(envFloat(t, "BENCH_STEPS", 4)),
		startRate: envFloat(t, "BENCH_START_RATE", 100),
		fixedRate: envFloat(t, "BENCH_RATE", 200),
	}
	switch u := os.Getenv("BENCH_USERS"); u {
	case "", "on":
	case "off":
		cfg.noUsers = true
	default:
		t.Fatalf("BENCH_USERS=%q: want on or off", u)
	}
	binDir(t)
	say("plan: baseline %s; sustained rate: %d steps of %s from %g/s; fixed %g/s for %s; then the baseline again",
		cfg.base, cfg.steps, cfg.window, cfg.startRate, cfg.fixedRate, cfg.fixed)
	if cfg.noUsers {
		say("users: none (BENCH_USERS=off): no department bots sign for or complete, nobody calls back; the figures are the pipeline's alone")
	}
	ltexts := chaosTexts(t)
	texts := make([]text, len(ltexts))
	for i, x := range ltexts {
		texts[i] = text{x.Title, x.Body}
	}
	// Feedback evaluates its early warnings at its own default (5m), not
	// at the 500ms the test stack sets so that issue 20's tests see a rise
	// at once: each evaluation aggregates every case of the rules' windows
	// (157 ms of PostgreSQL on a bench's cases), and twice a second it was
	// 40 % of feedback's statement time, a cost per second, not per order.
	env := []string{"GRIDFLOW_LOG_LEVEL=info", "FEEDBACK_WARNING_EVERY=5m"}
	env = append(env, cityModel(t)...)
	st := statementsFromEnv(t) // BENCH_STATEMENTS=1: the statement table (bench_statements_test.go)
	pg := startPostgres(t)
	st.roles(t, pg.url)
	ctx := context.Background()

	// The emergency lanes each run in a scheduling group of their own, a
	// session (README, "Scheduling groups"; BENCH_GROUPS=path: intake and
	// NATS too; off: every process in the harness's group).
	groups := cmp.Or(os.Getenv("BENCH_GROUPS"), "lanes")
	var sessions []string
	switch groups {
	case "path":
		sessions = []string{"intake", "nats", "classify-emergency", "dispatch-emergency"}
	case "lanes":
		sessions = []string{"classify-emergency", "dispatch-emergency"}
	case "off":
	default:
		t.Fatalf("BENCH_GROUPS=%q: want path, lanes or off", groups)
	}

	// (1) The baseline with intake alone (it owns the tables the baseline
	// copies), then its events are purged so the rest of the loop never
	// sees them.
	s := startStackWith(t, stackConfig{dbURL: st.url("intake"), env: env, sessions: sessions}, "intake")
	procs := watchProcesses(t, s, pg)
	defer procs.stop()
	base1 := baseline(t, s, s.jetStreamAs(t, natsauth.Intake), texts, cfg.base)
	say("(1) naive baseline (make bench-intake's): %.0f orders/s", base1)
	purgeBaseline(t, s)
	// Issue 17: classify's and dispatch's emergency lanes run in processes
	// of their own (README, "The emergency lanes in processes of their
	// own"; BENCH_LANES=one: each service in one process).
	split := os.Getenv("BENCH_LANES") != "one"
	say("lanes: %s", map[bool]string{true: "classify and dispatch run their emergency lanes in processes of their own",
		false: "one process per service"}[split])
	// The routine stages' processes run at a lower CPU priority than the
	// emergency lanes, the door (intake), NATS and PostgreSQL, as README's
	// "CPU priority by lane" advises for one machine (BENCH_ROUTINE_NICE,
	// 5; 0: all at one priority). With one process per service, only
	// feedback and the console are routine alone.
	niceEnv := cmp.Or(os.Getenv("BENCH_ROUTINE_NICE"), "5")
	nice, err := strconv.Atoi(niceEnv)
	if err != nil || nice < 0 || nice > 19 {
		t.Fatalf("BENCH_ROUTINE_NICE=%q: want 0–19", niceEnv)
	}
	if nice != 0 {
		say("CPU priority: the routine stages' processes and their PostgreSQL backends run under nice -n %d", nice)
	}
	if len(sessions) > 0 {
		say("scheduling groups: %s each in a session of its own (BENCH_GROUPS=%s)", strings.Join(sessions, ", "), groups)
	}
	var routine []string // the processes (and schemas' backends) that run at the routine nice
	for _, svc := range []string{"classify", "dispatch", "feedback", "console"} {
		if nice != 0 && (split || !slices.Contains(laneServices, svc)) {
			s.procRunner[svc] = []string{"nice", "-n", strconv.Itoa(nice)}
			routine = append(routine, svc)
		}
		if split && slices.Contains(laneServices, svc) {
			s.startLanes(t, svc, st.env(svc)...)
			continue
		}
		s.only = append(s.only, svc)
		s.procEnv[svc] = st.env(svc)
		s.start(t, svc, filepath.Join(s.bin, svc))
	}
	for _, svc := range s.only {
		s.waitReady(t, svc)
	}
	procs.refresh()
	if len(routine) > 0 {
		// Their PostgreSQL backends too: half of an order's CPU is
		// PostgreSQL's, in a scheduling group of its own.
		defer routineBackends(t, pg.url, nice, routine)()
	}

	b := &bench{t: t, s: s, cfg: cfg, texts: ltexts, grid: gridStream(t, s)}

	// (2) The sustained rate.
	var (
		good, bad float64 // the highest bounded and the lowest unbounded rate so far
		best      stepResult
		steps     []stepResult
	)
	rate := cfg.startRate
	for i := range cfg.steps {
		r := b.step(ctx, i+1, rate, cfg.window)
		steps = append(steps, r)
		say("(2) step %d: offered %.0f/s for %s: %s", i+1, rate, cfg.window, r)
		if r.bounded {
			good = rate
			if r.outcomesPerSecond > best.outcomesPerSecond || !best.bounded {
				best = r
			}
		} else if bad == 0 || rate < bad {
			bad = rate
		}
		switch {
		case bad == 0:
			rate = 2 * good
		case good == 0:
			rate = bad / 2
		default:
			rate = (good + bad) / 2
		}
	}
	e2e := best.outcomesPerSecond
	if !best.bounded {
		// No step held: the figure is the lowest step's, and says so.
		lowest := slices.MinFunc(steps, func(a, b stepResult) int { return int(a.rate - b.rate) })
		e2e = lowest.outcomesPerSecond
		say("(2) no step stayed bounded: the figure is the lowest step's (%.0f/s offered)", lowest.rate)
	} else {
		say("(2) sustained: %.0f/s offered, %.1f orders/s reached their outcome", best.rate, e2e)
	}

	// (3) Latency and CPU at a fixed rate.
	st.reset(t)
	pgSvc0 := pgCPUByService(t, procs, pg.url)
	writes0 := pgWritesNow(t, pg.url) // its commits too
	events0, byDurable0 := b.natsCounts(ctx)
	cpu0 := procs.cpu()
	profiled := profileServices(t, s, cfg.fixed) // BENCH_PPROF_DIR
	fx := b.step(ctx, 0, cfg.fixedRate, cfg.fixed)
	profiled()
	cpu1 := procs.cpu()
	writes1 := pgWritesNow(t, pg.url)
	events1, byDurable1 := b.natsCounts(ctx)
	pgSvc1 := pgCPUByService(t, procs, pg.url)
	say("(3) fixed %.0f/s for %s: %s", cfg.fixedRate, cfg.fixed, fx)
	say("(3) submit → task.dispatched: routine p50 %.0f ms p99 %.0f ms (%d cases); emergency p50 %.0f ms p99 %.0f ms (%d cases)",
		ms(fx.routine.p50), ms(fx.routine.p99), fx.routine.n, ms(fx.emergency.p50), ms(fx.emergency.p99), fx.emergency.n)
	say("(3) submit call: p50 %.1f ms, p99 %.1f ms", ms(fx.submitP50), ms(fx.submitP99))
	sayHops(fx.hops)
	say("(3) PostgreSQL commits per order over the phase and its drain: %.1f (%d commits)",
		float64(writes1.commits-writes0.commits)/float64(max(fx.accepted, 1)), writes1.commits-writes0.commits)
	say("(3) NATS per order: %.1f events stored (a publish and its ack each), %.1f deliveries to durables (a message and its ack each)",
		float64(events1-events0)/float64(max(fx.accepted, 1)), float64(total(byDurable1)-total(byDurable0))/float64(max(fx.accepted, 1)))
	sayDeliveriesByDurable(byDurable0, byDurable1, fx.accepted)
	say("(3) CPU per order over the phase and its drain (%d orders accepted):", fx.accepted)
	for _, name := range procs.names() {
		d := cpu1[name] - cpu0[name]
		say("      %-9s %8.0f µs/order  (%.1f s CPU)", name, float64(d.Microseconds())/float64(max(fx.accepted, 1)), d.Seconds())
	}
	var total time.Duration
	for _, name := range procs.names() {
		total += cpu1[name] - cpu0[name]
	}
	perOrder := total / time.Duration(max(fx.accepted, 1))
	say("      %-9s %8.0f µs/order", "all", float64(perOrder.Microseconds()))
	sayPGByService(pgSvc0, pgSvc1, fx.accepted)
	sayPGWrites(writes0, writes1, fx.accepted, 12)
	st.report(t, fx.accepted, int(envFloat(t, "BENCH_STATEMENTS_TOP", 40)))
	st.commits(t, fx.accepted)

	// What the stack costs idle (BENCH_IDLE, 10 s), once the phase drained.
	st.idle(t, procs, envDuration("BENCH_IDLE", 10*time.Second))

	// Peak RSS, read before anything stops.
	rss := procs.peaks()
	var maxSvc float64
	say("(4) peak memory (VmHWM; PostgreSQL: the peak of its processes' private memory plus what they share counted once, sampled every second):")
	for _, name := range procs.names() {
		say("      %-9s %7.1f MiB", name, rss[name])
		if slices.Contains(services, serviceOf(name)) {
			maxSvc = max(maxSvc, rss[name])
		}
	}

	// (4) The baseline again, with intake alone as in (1).
	for _, name := range s.only {
		if name != "intake" {
			_ = s.procs[name].Process.Signal(os.Interrupt)
			<-s.exited[name]
		}
	}
	base2 := baseline(t, s, s.jetStreamAs(t, natsauth.Intake), texts, cfg.base)
	say("(5) naive baseline again: %.0f orders/s", base2)
	mean := (base1 + base2) / 2
	sayTargets(targetFigures{
		e2e: e2e, baseline: mean, fixedRate: cfg.fixedRate, fx: fx, maxServiceMiB: maxSvc, cpuPerOrder: perOrder,
	})
	fmt.Printf("e2e_orders_per_s=%.0f p99_dispatch_ms=%.0f p99_emergency_ms=%.0f p99_submit_ms=%.1f baseline_orders_per_s=%.0f ratio=%.2f max_rss_mib=%.0f\n",
		e2e, ms(fx.routine.p99), ms(fx.emergency.p99), ms(fx.submitP99), mean, e2e/mean, maxSvc)
}

// cityModel is classify's settings to serve a model trained on the
// shared city history, as make run serves it: a realistic share of cases
// goes to the review queue. Without the history classify serves its
// built-in default model.
func cityModel(t *testing.T) []string {
	t.Helper()
	shared := os.Getenv("GRIDFLOW_SHARED_DIR")
	if shared == "" {
		shared = "../../shared"
	}
	hist, _ := filepath.Abs(filepath.Join(shared, "data", "messages", "train.jsonl"))
	if _, err := os.Stat(hist); err != nil {
		say("classify: no city history at %s: the built-in default model", hist)
		return nil
	}
	model := filepath.Join(t.TempDir(), "city.model")
	id := trainModel(t, binDir(t), "--source", "history="+hist, "--out", model)
	say("classify: model %s trained on %s", id, hist)
	return []string{"CLASSIFY_MODEL_FILE=" + model, "CLASSIFY_HISTORY_FILE=" + hist}
}

// say prints a line of the benchmark's report (make bench shows these).
func say(format string, args ...any) { fmt.Printf("bench: "+format+"\n", args...) }

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func envFloat(t *testing.T, key string, def float64) float64 {
	t.Helper()
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || !(n > 0) {
		t.Fatalf("%s=%q: want a number above 0", key, v)
	}
	return n
}

type benchConfig struct {
	window, fixed, base, drain time.Duration
	steps                      int
	startRate, fixedRate       float64
	// noUsers: no department bots and no callbacks (BENCH_USERS=off), so
	// the figures are the pipeline's alone — submit to dispatched, and
	// feedback's record of it — and the difference from a run with them
	// is what the departments' and the hotline's own actions cost.
	noUsers bool
}

type bench struct {
	t     *testing.T
	s     *stack
	cfg   benchConfig
	texts []loadgen.Text
	grid  jetstream.Stream
}

// purgeBaseline removes the baseline's events from GRID (as the streams
// user, which may purge): the consumers started next never see them.
func purgeBaseline(t *testing.T, s *stack) {
	t.Helper()
	ctx := context.Background()
	st, err := s.jetStreamAs(t, natsauth.Streams).Stream(ctx, natsjs.StreamGrid)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Purge(ctx, jetstream.WithPurgeSubject("grid.case.received.>")); err != nil {
		t.Fatalf("purge the baseline's events: %v", err)
	}
}

func gridStream(t *testing.T, s *stack) jetstream.Stream {
	t.Helper()
	st, err := s.jetStream(t).Stream(context.Background(), natsjs.StreamGrid)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// latencies are submit → task.dispatched of one kind of case.
type latencies struct {
	n        int
	p50, p99 time.Duration
}

func latenciesOf(ds []time.Duration) latencies {
	slices.Sort(ds)
	q := func(p float64) time.Duration {
		if len(ds) == 0 {
			return 0
		}
		return ds[max(int(math.Ceil(p*float64(len(ds))))-1, 0)]
	}
	return latencies{n: len(ds), p50: q(0.5), p99: q(0.99)}
}

// stepResult is one load run at one offered rate.
type stepResult struct {
	rate                  float64
	offered, accepted     int
	failed                int
	outcomes              int
	outcomesPerSecond     float64
	bounded               bool
	why                   string // what was not bounded
	maxBacklog            map[string]int
	endBacklog            map[string]int
	routine, emergency    latencies
	submitP50, submitP99  time.Duration
	tasks, review, notDsp int
	hops                  map[string]*hopTimes // the emergencies', hop by hop (bench_hops_test.go)
}

func (r stepResult) String() string {
	state := "bounded"
	if !r.bounded {
		state = "NOT bounded (" + r.why + ")"
	}
	var worst []string
	for _, d := range natsauth.AllDurables() {
		worst = append(worst, fmt.Sprintf("%s %d/%d", d.Name, r.maxBacklog[d.Name], r.endBacklog[d.Name]))
	}
	return fmt.Sprintf("accepted %d of %d (%d given up); %d reached their outcome in the window (%.1f/s: %d tasks, %d to review, %d not dispatchable); %s; backlog max/end: %s",
		r.accepted, r.offered, r.failed, r.outcomes, r.outcomesPerSecond, r.tasks, r.review, r.notDsp, state, strings.Join(worst, ", "))
}

// step offers rate for dur with the bots running, samples every durable's
// backlog every 2 s, and reads from the stream which submissions reached
// their outcome within the window (and, for latency, when each case's
// first task was dispatched).
func (b *bench) step(ctx context.Context, n int, rate float64, dur time.Duration) stepResult {
	t := b.t
	seq0 := b.lastSeq(ctx)
	prefix := fmt.Sprintf("BENCH-%X-%d-", time.Now().Unix(), n)
	r, err := loadgen.Start(ctx, loadgen.Config{
		IntakeAddr: b.s.addrs["intake"], DispatchAddr: b.s.addrs["dispatch"], FeedbackAddr: b.s.addrs["feedback"],
		Token: func(p auth.Principal) (string, error) { return b.s.signer.Issue(p, 2*time.Hour) },
		Rate:  rate, Duration: dur, Seed: uint64(17 + n), Prefix: prefix, Texts: b.texts, InFlight: 512,
		NoBots: b.cfg.noUsers, NoCallbacks: b.cfg.noUsers,
		Progress: os.Stdout, ProgressEvery: 15 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	res := stepResult{rate: rate, maxBacklog: map[string]int{}, endBacklog: map[string]int{}}
	start := time.Now()
	done := make(chan struct{})
	go func() { defer close(done); r.Submit(ctx) }()
	type sample struct {
		at      time.Duration
		backlog map[string]int
		traffic map[string]uint64
	}
	var samples []sample
	tick := time.NewTicker(2 * time.Second)
sampling:
	for {
		select {
		case <-done:
			break sampling
		case <-tick.C:
			bl, tr := b.queues(ctx)
			samples = append(samples, sample{time.Since(start), bl, tr})
			for k, v := range bl {
				res.maxBacklog[k] = max(res.maxBacklog[k], v)
			}
		}
	}
	tick.Stop()
	windowEnd := time.Now()
	// What is still queued is handled before the next step, and counts
	// for latency (not for the rate, which counts what the window saw).
	// The bots keep working meanwhile, then sign for, complete and call
	// back what the settle dispatched, and the loop takes their events:
	// the step's CPU pays for every order's whole loop (issue 17: over
	// capacity, stopping the bots first left half the orders' sign-for,
	// completion and callback undone and uncounted).
	b.settle(ctx)
	r.Drain(ctx, b.cfg.drain)
	b.settle(ctx)
	sum := r.Stop()
	if sum.Pending > 0 {
		say("    the bots stopped with %d tasks and callbacks still in hand", sum.Pending)
	}
	seqEnd := b.lastSeq(ctx)
	res.offered, res.accepted, res.failed = sum.Offered, sum.Accepted, sum.Failed
	res.submitP50, res.submitP99 = sum.P50, sum.P99

	// Bounded: at the end of the window no durable holds more than it did
	// half a window before plus a second of its traffic (it is not
	// growing), nor more than five seconds of it (it keeps up), and the
	// door lost nothing. A durable's second is what reached it between the
	// first and the last sample over the seconds between them, at least
	// the offered rate: feedback takes about five messages an order, and a
	// second of orders is a fifth of a second of its work.
	if len(samples) > 0 {
		res.endBacklog = samples[len(samples)-1].backlog
	}
	res.bounded = true
	var why []string
	if res.failed > 0 || res.accepted < res.offered*99/100 {
		res.bounded = false
		why = append(why, fmt.Sprintf("%d submissions given up", res.failed))
	}
	if len(samples) >= 4 {
		mean := func(ss []sample, name string) float64 {
			var s float64
			for _, x := range ss {
				s += float64(x.backlog[name])
			}
			return s / float64(len(ss))
		}
		half := len(samples) / 2
		first, last := samples[0], samples[len(samples)-1]
		secs := (last.at - first.at).Seconds()
		for _, d := range natsauth.AllDurables() {
			mid := mean(samples[max(half-2, 0):half], d.Name)
			end := mean(samples[len(samples)-2:], d.Name)
			second := max((float64(last.traffic[d.Name])-float64(first.traffic[d.Name]))/secs, rate)
			if end > mid+max(second, 50) || end > max(5*second, 200) {
				res.bounded = false
				why = append(why, fmt.Sprintf("%s %.0f → %.0f, a second %.0f", d.Name, mid, end, second))
			}
		}
	}
	res.why = strings.Join(why, "; ")

	// What reached its outcome by the end of the window (+ the last
	// sample's lag), and when each case's first task was dispatched.
	subs := map[string]loadgen.Submission{}
	for _, x := range sum.Submissions {
		subs[x.CaseID] = x
	}
	out := b.outcomes(ctx, seq0, seqEnd)
	var routine, emergency []time.Duration
	for id, o := range out {
		x, ok := subs[id]
		if !ok {
			continue
		}
		if o.kind == "task" {
			if x.Emergency {
				emergency = append(emergency, o.at.Sub(x.Sent))
			} else {
				routine = append(routine, o.at.Sub(x.Sent))
			}
		}
		if o.at.After(windowEnd) {
			continue
		}
		res.outcomes++
		switch o.kind {
		case "task":
			res.tasks++
		case "review":
			res.review++
		default:
			res.notDsp++
		}
	}
	res.outcomesPerSecond = float64(res.outcomes) / dur.Seconds()
	res.routine, res.emergency = latenciesOf(routine), latenciesOf(emergency)
	sent := map[string]time.Time{}
	for id, x := range subs {
		if x.Emergency {
			sent[id] = x.Sent
		}
	}
	res.hops = b.emergencyHops(ctx, seq0, seqEnd, sent)
	return res
}

// outcome is the first outcome of a case on the stream and when the
// stream stored it.
type outcome struct {
	kind string // task, review, not_dispatchable
	at   time.Time
}

// outcomes reads the outcome events stored between two stream sequences:
// the first task.dispatched of each case, its review_needed, or a
// classification that is not dispatchable.
func (b *bench) outcomes(ctx context.Context, from, to uint64) map[string]outcome {
	out := map[string]outcome{}
	b.readRange(ctx, "the outcomes", from, to, []string{"grid.task.dispatched.>", "grid.case.review_needed.>", "grid.case.classified.>"},
		func(env *eventsv1.Envelope, stored time.Time) {
			kind := ""
			switch {
			case env.GetTaskDispatched() != nil:
				kind = "task"
			case env.GetCaseReviewNeeded() != nil:
				kind = "review"
			case env.GetCaseClassified() != nil && !env.GetCaseClassified().GetDispatchable():
				kind = "not_dispatchable"
			default:
				return
			}
			if _, seen := out[env.GetCaseId()]; !seen {
				out[env.GetCaseId()] = outcome{kind, stored}
			}
		})
	return out
}

// readRange hands each event of filters stored between two stream
// sequences (after from, up to to) to each, with when the stream stored it.
func (b *bench) readRange(ctx context.Context, what string, from, to uint64, filters []string, each func(env *eventsv1.Envelope, stored time.Time)) {
	t := b.t
	if to <= from {
		return
	}
	cons, err := b.s.jetStream(t).OrderedConsumer(ctx, natsjs.StreamGrid, jetstream.OrderedConsumerConfig{
		FilterSubjects: filters, DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: from + 1,
	})
	if err != nil {
		t.Fatalf("read %s: %v", what, err)
	}
	for {
		batch, err := cons.Fetch(1000, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			t.Fatalf("read %s: %v", what, err)
		}
		got, last := 0, uint64(0)
		for m := range batch.Messages() {
			got++
			meta, err := m.Metadata()
			if err != nil {
				t.Fatal(err)
			}
			last = meta.Sequence.Stream
			if last > to {
				continue
			}
			var env eventsv1.Envelope
			if err := proto.Unmarshal(m.Data(), &env); err != nil {
				t.Fatalf("%s: %v", m.Subject(), err)
			}
			each(&env, meta.Timestamp)
		}
		if err := batch.Error(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("read %s: %v", what, err)
		}
		if got == 0 || last >= to {
			return
		}
	}
}

func (b *bench) lastSeq(ctx context.Context) uint64 {
	info, err := b.grid.Info(ctx)
	if err != nil {
		b.t.Fatal(err)
	}
	return info.State.LastSeq
}

// backlogs is every durable's messages not yet delivered plus those
// delivered and not yet acked.
func (b *bench) backlogs(ctx context.Context) map[string]int {
	bl, _ := b.queues(ctx)
	return bl
}

// queues reads each durable's backlog and its traffic: how many messages
// have reached it so far, its deliveries (a redelivery, rare here, counts
// again) and what waits in the stream for it.
func (b *bench) queues(ctx context.Context) (backlog map[string]int, traffic map[string]uint64) {
	backlog, traffic = map[string]int{}, map[string]uint64{}
	for name, info := range b.durableInfos(ctx) {
		backlog[name] = int(info.NumPending) + info.NumAckPending
		traffic[name] = info.Delivered.Consumer + info.NumPending
	}
	return backlog, traffic
}

// durableInfos reads every durable consumer's info (one that cannot be
// read is left out).
func (b *bench) durableInfos(ctx context.Context) map[string]*jetstream.ConsumerInfo {
	out := map[string]*jetstream.ConsumerInfo{}
	for _, d := range natsauth.AllDurables() {
		c, err := b.grid.Consumer(ctx, d.Name)
		if err != nil {
			continue
		}
		if info, err := c.Info(ctx); err == nil {
			out[d.Name] = info
		}
	}
	return out
}

// settle waits until every durable's backlog is small again (at most
// BENCH_DRAIN), so that one step does not pay for the one before.
func (b *bench) settle(ctx context.Context) {
	t0 := time.Now()
	for time.Since(t0) < b.cfg.drain {
		bl := b.backlogs(ctx)
		worst := 0
		for _, v := range bl {
			worst = max(worst, v)
		}
		if worst <= 10 {
			say("    drained in %.1fs", time.Since(t0).Seconds())
			return
		}
		time.Sleep(time.Second)
	}
	say("    not drained after %s: %v", b.cfg.drain, b.backlogs(ctx))
}

// procWatch reads every process of the run from /proc: the services,
// nats-server, PostgreSQL (the postmaster and its children) and the harness
// (this test process).
type procWatch struct {
	t      *testing.T
	s      *stack
	pgPid  int
	tick   int64 // clock ticks per second
	mu     sync.Mutex
	pgPeak float64 // MiB, the peak of PostgreSQL's memory (see watchProcesses)
	done   chan struct{}
	wg     sync.WaitGroup
	pids   map[string]int
}

func watchProcesses(t *testing.T, s *stack, pg *postgres) *procWatch {
	t.Helper()
	w := &procWatch{t: t, s: s, tick: 100, done: make(chan struct{}), pids: map[string]int{}}
	if out, err := exec.Command("getconf", "CLK_TCK").Output(); err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64); err == nil && n > 0 {
			w.tick = n
		}
	}
	var pgDir string
	for _, e := range pg.env {
		if v, ok := strings.CutPrefix(e, "GRIDFLOW_PG_DIR="); ok {
			pgDir = v
		}
	}
	b, err := os.ReadFile(filepath.Join(pgDir, "data", "postmaster.pid"))
	if err != nil {
		t.Fatalf("PostgreSQL's pid: %v", err)
	}
	w.pgPid, _ = strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	w.refresh()
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		tk := time.NewTicker(time.Second)
		defer tk.Stop()
		for {
			select {
			case <-w.done:
				return
			case <-tk.C:
				// Each process's private memory, and what they share (the
				// shared buffers, the binary) once: from /proc/<pid>/status.
				// Summing smaps_rollup's PSS instead made the kernel walk
				// every backend's page tables each second — half of the
				// harness's CPU in the bench (issue 17).
				var anon, file, shmem float64
				for _, pid := range w.pgPids() {
					m := readKBs(fmt.Sprintf("/proc/%d/status", pid), "RssAnon:", "RssFile:", "RssShmem:")
					anon += m["RssAnon:"]
					file, shmem = max(file, m["RssFile:"]), max(shmem, m["RssShmem:"])
				}
				w.mu.Lock()
				w.pgPeak = max(w.pgPeak, (anon+file+shmem)/1024)
				w.mu.Unlock()
			}
		}
	}()
	return w
}

func (w *procWatch) stop() { close(w.done); w.wg.Wait() }

// refresh takes the pids of the processes the stack runs now.
func (w *procWatch) refresh() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for name, cmd := range w.s.procs {
		w.pids[name] = cmd.Process.Pid
	}
	w.pids["harness"] = os.Getpid()
}

func (w *procWatch) names() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	names := slices.Clone(services)
	for _, svc := range laneServices {
		names = append(names, svc+"-emergency")
	}
	for _, n := range append(names, "nats") {
		if _, ok := w.pids[n]; ok {
			out = append(out, n)
		}
	}
	return append(out, "postgres", "harness")
}

// pgPids is the postmaster and its children: from the postmaster's children
// list (one thread: its main thread's), else by a scan of /proc.
func (w *procWatch) pgPids() []int {
	pids := []int{w.pgPid}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", w.pgPid, w.pgPid)); err == nil {
		for _, f := range strings.Fields(string(b)) {
			if pid, err := strconv.Atoi(f); err == nil {
				pids = append(pids, pid)
			}
		}
		return pids
	}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f := statFields(pid); len(f) > 2 && f[2] == strconv.Itoa(w.pgPid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// statFields are /proc/pid/stat's fields, the command's name (which may
// hold spaces) taken out: f[0] is the pid, f[1] the state, f[2] the ppid …
func statFields(pid int) []string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	return append([]string{strings.Fields(s[:i])[0]}, strings.Fields(s[i+1:])...)
}

// cpuOf is a process's user + system time; with children, also the time of
// its children that it has waited for (PostgreSQL's exited backends).
func (w *procWatch) cpuOf(pid int, children bool) time.Duration {
	f := statFields(pid)
	// After the name: state(1) ppid(2) … utime(12) stime(13) cutime(14) cstime(15).
	if len(f) < 16 {
		return 0
	}
	var ticks int64
	idx := []int{12, 13}
	if children {
		idx = append(idx, 14, 15)
	}
	for _, i := range idx {
		n, _ := strconv.ParseInt(f[i], 10, 64)
		ticks += n
	}
	return time.Duration(ticks) * time.Second / time.Duration(w.tick)
}

// cpu is each process's CPU time so far.
func (w *procWatch) cpu() map[string]time.Duration {
	out := map[string]time.Duration{}
	w.mu.Lock()
	pids := maps.Clone(w.pids)
	w.mu.Unlock()
	for name, pid := range pids {
		out[name] = w.cpuOf(pid, false)
	}
	for _, pid := range w.pgPids() {
		out["postgres"] += w.cpuOf(pid, pid == w.pgPid)
	}
	return out
}

// peaks is each process's peak resident set in MiB: VmHWM, PostgreSQL's the
// sampled peak of its processes' private memory plus their shared memory
// (its shared buffers) and binary counted once.
func (w *procWatch) peaks() map[string]float64 {
	out := map[string]float64{}
	w.mu.Lock()
	defer w.mu.Unlock()
	for name, pid := range w.pids {
		out[name] = readKB(fmt.Sprintf("/proc/%d/status", pid), "VmHWM:") / 1024
	}
	out["postgres"] = w.pgPeak
	return out
}

// readKBs reads several "Key: n kB" lines of a /proc file in one pass.
func readKBs(path string, keys ...string) map[string]float64 {
	out := make(map[string]float64, len(keys))
	b, err := os.ReadFile(path)
	if err != nil {
		return out
	}
	for line := range strings.Lines(string(b)) {
		for _, k := range keys {
			if rest, ok := strings.CutPrefix(line, k); ok {
				n, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
				out[k] = n
			}
		}
	}
	return out
}

// readKB reads a "Key: n kB" line of a /proc file.
func readKB(path, key string) float64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), key); ok {
			n, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return n
		}
	}
	return 0
}

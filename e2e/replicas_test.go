package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/natsauth"
	"github.com/gridflow/gridflow/pkg/natsjs"
	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// replicaOrders are the problems both runs submit: each a different kind
// of complaint at its own house number, so each is a problem of its own
// (never a repeated report of another) whose classification and routing
// do not depend on what else is in flight.
var replicaOrders = []struct{ title, content, street string }{
	{"夜间烧烤摊噪声扰民", "小区门口有烧烤摊每晚经营到凌晨两点，油烟很大，噪声扰民，影响休息。", "310106022"},
	{"垃圾堆放无人清理", "小区垃圾箱房旁边堆放了大量生活垃圾，好几天没人清运，气味很大。", "310106022"},
	{"机动车乱停放堵塞消防通道", "小区消防通道被私家车长期占用，消防车无法通行，存在安全隐患。", "310106021"},
	{"夜间施工噪声扰民", "附近工地每天夜里十一点以后还在施工，噪声很大，影响居民休息。", "310106021"},
	{"占道经营", "路边水果摊占用人行道经营，行人只能走机动车道，很危险。", "310106022"},
	{"路灯不亮", "小区门口的路灯坏了一个多星期，晚上一片漆黑，老人出门不安全。", "310106021"},
}

// replicaRun is what one run of the loop produced.
type replicaRun struct {
	outcomes map[string][]string // order number → its case's events, as type|unit, sorted
	events   int
	eventIDs map[string]int // event id → times on the stream
	elapsed  time.Duration  // first submit → settled
	handled  map[string]float64
	// Early warning (issue 20): the events of no case — feedback's
	// warnings, as type|kind|key, sorted — the same with two replicas.
	caseless []string
}

// TestTwoReplicasOfEveryService runs the same orders through the loop with
// one process per service and then with two of every service at once,
// sharing their durable consumers, the outbox tables and dispatch's timers
// (whose test clock is then moved a month on, so every deadline timer
// fires): the outcomes are the same, event for event, and no event is on
// the stream twice. Throughput is reported, not asserted.
func TestTwoReplicasOfEveryService(t *testing.T) {
	const orders = 36
	// Each run in a subtest: its stack stops before the next starts.
	var one, two replicaRun
	t.Run("one", func(t *testing.T) { one = runReplicas(t, 1, orders) })
	t.Run("two", func(t *testing.T) { two = runReplicas(t, 2, orders) })
	if t.Failed() {
		return
	}
	t.Logf("one replica each: %d orders, %d events in %s (%.1f orders/s)", orders, one.events, one.elapsed.Round(time.Millisecond),
		float64(orders)/one.elapsed.Seconds())
	t.Logf("two replicas each: %d orders, %d events in %s (%.1f orders/s)", orders, two.events, two.elapsed.Round(time.Millisecond),
		float64(orders)/two.elapsed.Seconds())
	for name, n := range two.handled {
		t.Logf("  %s handled %.0f events", name, n)
	}
	t.Logf("the outcome of REP-000, in both: %v", one.outcomes["REP-000"])

	if len(one.outcomes) != orders || len(two.outcomes) != orders {
		t.Fatalf("outcomes for %d and %d orders, want %d each", len(one.outcomes), len(two.outcomes), orders)
	}
	for no, want := range one.outcomes {
		if got := two.outcomes[no]; !slices.Equal(want, got) {
			t.Errorf("order %s: with two replicas\n  %v\nwith one\n  %v", no, got, want)
		}
	}
	slices.Sort(one.caseless)
	slices.Sort(two.caseless)
	t.Logf("events of no case (warnings), in both: %v", one.caseless)
	if !slices.Equal(one.caseless, two.caseless) { // early warning (issue 20)
		t.Errorf("events of no case: with two replicas\n  %v\nwith one\n  %v", two.caseless, one.caseless)
	}
	if one.events != two.events {
		t.Errorf("two replicas put %d events on the stream, one %d", two.events, one.events)
	}
	for _, r := range []replicaRun{one, two} {
		for id, n := range r.eventIDs {
			if n > 1 {
				t.Errorf("event %s is on the stream %d times", id, n)
			}
		}
	}
	// Two replicas shared the work rather than one doing it all twice: the
	// handled counts add up to what one replica handled.
	byService := map[string]float64{}
	for name, n := range two.handled {
		byService[consumerOf(name)] += n
	}
	for name, n := range one.handled {
		if byService[consumerOf(name)] != n {
			t.Errorf("%s: two replicas handled %.0f events, one replica %.0f", consumerOf(name), byService[consumerOf(name)], n)
		}
	}
}

// consumerOf strips the replica from "classify-2 classify-cases".
func consumerOf(name string) string {
	_, c, _ := strings.Cut(name, " ")
	return c
}

// runReplicas starts a stack with n processes of every service, submits
// the orders through every intake in turn, moves dispatch's clock a month
// on once the loop has settled, and reads what reached the stream.
func runReplicas(t *testing.T, n, orders int) replicaRun {
	t.Helper()
	s := startStack(t, "intake", "classify", "feedback", "console")
	clockFile := filepath.Join(s.dir, "dispatch-clock")
	setClock(t, clockFile, 0)
	s.env = append(s.env, "DISPATCH_TEST_CLOCK_FILE="+clockFile, "DISPATCH_AWAIT_FACTS=2s")
	s.start(t, "dispatch", filepath.Join(s.bin, "dispatch"))
	s.waitReady(t, "dispatch")
	procs := map[string][]string{}
	for _, svc := range services {
		procs[svc] = []string{svc}
		for i := 2; i <= n; i++ {
			name := fmt.Sprintf("%s-%d", svc, i)
			s.addrs[name], s.admins[name] = freeAddr(t), freeAddr(t)
			s.start(t, name, filepath.Join(s.bin, svc))
			procs[svc] = append(procs[svc], name)
		}
	}
	for _, names := range procs {
		for _, name := range names[1:] {
			s.waitReady(t, name)
		}
	}

	var clients []intakev1.IntakeServiceClient
	for _, name := range procs["intake"] {
		clients = append(clients, intakev1.NewIntakeServiceClient(s.dial(t, name, auth.Principal{Role: auth.RoleHotline})))
	}
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, orders)
	for i := range orders {
		wg.Go(func() {
			o := replicaOrders[i%len(replicaOrders)]
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err := clients[i%len(clients)].SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: &intakev1.WorkOrder{
				HotlineOrderNo: fmt.Sprintf("REP-%03d", i), ReceivedAt: timestamppb.New(time.Now().Add(-time.Minute)),
				AppealType: typesv1.AppealType_APPEAL_TYPE_COMPLAINT, Title: o.title, Content: o.content,
				CallerName: "李女士", CallerPhone: "13900002222",
				Address:      fmt.Sprintf("上海市静安区共和新路%d弄%d号", 1000+i, i+1),
				DistrictCode: "310106", StreetCode: o.street, Urgency: typesv1.Urgency_URGENCY_NORMAL,
			}})
			if err != nil {
				errs <- fmt.Errorf("order %d: %w", i, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// The loop's time: from the first submit to the last event it caused
	// (settling waits a few quiet seconds more).
	elapsed := settle(t, s).Sub(start)
	// Every deadline passes: warnings, overdue flags and escalations fire
	// from timers that all dispatch replicas poll.
	setClock(t, clockFile, 30*24*time.Hour)
	time.Sleep(2 * time.Second) // the clock file is read about once a second
	settle(t, s)

	run := readRun(t, s)
	run.elapsed = elapsed
	run.handled = map[string]float64{}
	for _, names := range procs {
		for _, name := range names {
			for c, v := range handledByConsumer(t, s.admins[name]) {
				run.handled[name+" "+c] = v
			}
		}
	}
	return run
}

// settle waits until every durable consumer has handled everything, every
// outbox is empty and the stream has stopped growing for a few seconds, and
// returns when the stream stored its last message.
func settle(t *testing.T, s *stack) time.Time {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	js := s.jetStream(t)
	db, err := pgx.Connect(ctx, s.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	var (
		last   uint64
		lastTs time.Time
	)
	quiet := 0
	state := "nothing read yet"
	for quiet < 6 {
		if ctx.Err() != nil {
			t.Fatalf("the loop did not settle in 3 minutes: %s", state)
		}
		time.Sleep(500 * time.Millisecond)
		// NATS may be failing over: a call that fails is tried again.
		cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
		busy, lag, ok := false, []string{}, true
		for _, d := range natsauth.AllDurables() {
			c, err := js.Consumer(cctx, natsjs.StreamGrid, d.Name)
			var info *jetstream.ConsumerInfo
			if err == nil {
				info, err = c.Info(cctx)
			}
			if err != nil {
				lag, ok = append(lag, d.Name+": "+err.Error()), false
				continue
			}
			busy = busy || info.NumPending > 0 || info.NumAckPending > 0
			lag = append(lag, fmt.Sprintf("%s: %d pending, %d unacked", d.Name, info.NumPending, info.NumAckPending))
		}
		var pending int
		if err := db.QueryRow(cctx, `SELECT (SELECT count(*) FROM intake.outbox) + (SELECT count(*) FROM classify.outbox) +
			(SELECT count(*) FROM dispatch.outbox) + (SELECT count(*) FROM feedback.outbox)`).Scan(&pending); err != nil {
			t.Fatal(err)
		}
		st, err := js.Stream(cctx, natsjs.StreamGrid)
		ccancel()
		if err != nil || !ok {
			state = fmt.Sprintf("NATS: %v; %v", err, lag)
			quiet = 0
			continue
		}
		msgs := st.CachedInfo().State.Msgs
		lastTs = st.CachedInfo().State.LastTime
		state = fmt.Sprintf("%v; %d events in outboxes; %d on the stream", lag, pending, msgs)
		if busy || pending > 0 || msgs != last {
			quiet = 0
		} else {
			quiet++
		}
		last = msgs
	}
	return lastTs
}

// readRun reads the whole stream: every event, grouped by the order its
// case came from.
func readRun(t *testing.T, s *stack) replicaRun {
	t.Helper()
	var (
		run     replicaRun
		byCase  map[string][]string
		orderOf map[string]string
		err     error
	)
	// After a NATS node was lost the first read may meet a cluster still
	// moving its consumers' leaders: read again from the start.
	for try := 0; try < 5; try++ {
		if try > 0 {
			t.Logf("reading GRID again: %v", err)
			time.Sleep(time.Second)
		}
		run = replicaRun{outcomes: map[string][]string{}, eventIDs: map[string]int{}}
		orderOf, byCase = map[string]string{}, map[string][]string{}
		if err = readStream(s.jetStream(t), func(m jetstream.Msg) error {
			var env eventsv1.Envelope
			if err := proto.Unmarshal(m.Data(), &env); err != nil {
				return err
			}
			run.events++
			run.eventIDs[env.GetEventId()]++
			if r := env.GetCaseReceived(); r != nil {
				orderOf[env.GetCaseId()] = r.GetHotlineOrderNo()
			}
			what := env.GetType()
			if tokens := strings.Split(m.Subject(), "."); tokens[1] == "task" && len(tokens) > 3 {
				what += "|" + tokens[3] // the unit
			}
			if c := env.GetCaseClassified(); c != nil {
				what += fmt.Sprintf("|%s v%d dispatchable=%v", c.GetItemCode(), c.GetClassificationVersion(), c.GetDispatchable())
			}
			if env.GetCaseId() == "" { // early warning (issue 20)
				if w := env.GetWarningRaised().GetWarning(); w != nil {
					what += "|" + w.GetKind() + "|" + w.GetKey()
				}
				run.caseless = append(run.caseless, what)
				return nil
			}
			byCase[env.GetCaseId()] = append(byCase[env.GetCaseId()], what)
			return nil
		}); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("read GRID: %v", err)
	}
	for id, evs := range byCase {
		slices.Sort(evs)
		no, ok := orderOf[id]
		if !ok {
			no = "case " + id
		}
		run.outcomes[no] = evs
	}
	return run
}

// readStream calls each for every message on GRID, from the first to the
// last the stream holds when it starts.
func readStream(js jetstream.JetStream, each func(jetstream.Msg) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := js.Stream(ctx, natsjs.StreamGrid)
	if err != nil {
		return fmt.Errorf("stream info: %w", err)
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return fmt.Errorf("ordered consumer: %w", err)
	}
	total, read := st.CachedInfo().State.Msgs, uint64(0)
	for read < total {
		batch, err := cons.Fetch(int(min(total-read, 500)), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return fmt.Errorf("after %d of %d messages: %w", read, total, err)
		}
		for m := range batch.Messages() {
			read++
			if err := each(m); err != nil {
				return err
			}
		}
		if err := batch.Error(); err != nil {
			return fmt.Errorf("after %d of %d messages: %w", read, total, err)
		}
	}
	return nil
}

// handledByConsumer reads gridflow_consumer_handled_total from a
// process's /metrics, by consumer; it also fails the test if the process's
// consumer does not export its lag and dead-letter gauges.
func handledByConsumer(t *testing.T, admin string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	gauges := map[string]bool{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		name, rest, _ := strings.Cut(line, "{")
		if strings.HasPrefix(line, "#") || rest == "" {
			continue
		}
		_, after, _ := strings.Cut(rest, `consumer="`)
		consumer, _, _ := strings.Cut(after, `"`)
		gauges[name] = true
		if name != "gridflow_consumer_handled_total" {
			continue
		}
		fields := strings.Fields(line)
		v, err := strconv.ParseFloat(fields[len(fields)-1], 64)
		if err != nil {
			t.Fatalf("%s: %q: %v", admin, line, err)
		}
		out[consumer] += v
	}
	if len(out) > 0 {
		for _, g := range []string{"gridflow_consumer_pending_messages", "gridflow_consumer_ack_pending_messages", "gridflow_consumer_dead_letters"} {
			if !gauges[g] {
				t.Errorf("%s handles events but does not export %s", admin, g)
			}
		}
	}
	return out
}

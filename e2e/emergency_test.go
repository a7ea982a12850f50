package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/envelope"
	"github.com/gridflow/gridflow/pkg/natsjs"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// TestEmergencyOvertakesRoutineBacklog: an emergency queues behind no
// routine work (issue 17, pkg/lane). With classify and dispatch stopped, a
// deep routine backlog is queued on their durables, then one emergency
// behind it; once they are back, the emergency is classified before most of
// the routine backlog and its task is dispatched while most of that backlog
// still waits. Without the lane it would come last in both. The assertions
// are on order in the stream, not on speed.
func TestEmergencyOvertakesRoutineBacklog(t *testing.T) {
	const routine = 600
	s := startStack(t, "intake", "classify", "dispatch")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for _, svc := range []string{"classify", "dispatch"} {
		_ = s.procs[svc].Process.Signal(os.Interrupt)
		<-s.exited[svc]
	}

	hotline := intakev1.NewIntakeServiceClient(s.dial(t, "intake", auth.Principal{Role: auth.RoleHotline}))
	routineIDs := map[string]bool{}
	var (
		mu sync.Mutex
		wg sync.WaitGroup
	)
	next := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range next {
				wo := dispatchWorkOrder(fmt.Sprintf("E2E-LANE-%04d", i), "商铺音响噪声扰民", "楼下商铺每天开着大音响招揽生意，噪声扰民，希望派出所管一管。",
					zhijiang, typesv1.Urgency_URGENCY_NORMAL)
				// One place each: no report joins another's incident.
				wo.Address = fmt.Sprintf("上海市静安区共和新路%d号", 100+i)
				resp, err := hotline.SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: wo})
				if err != nil {
					t.Errorf("routine order %d: %v", i, err)
					continue
				}
				mu.Lock()
				routineIDs[resp.GetSubmission().GetCaseId()] = true
				mu.Unlock()
			}
		})
	}
	for i := range routine {
		next <- i
	}
	close(next)
	wg.Wait()
	if t.Failed() {
		return
	}
	gas := dispatchWorkOrder("E2E-LANE-GAS", "燃气泄漏", "楼道里闻到很浓的煤气味，怀疑燃气泄漏。", zhijiang, typesv1.Urgency_URGENCY_EMERGENCY)
	gas.Address = "上海市静安区共和新路99号"
	resp, err := hotline.SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: gas})
	if err != nil {
		t.Fatal(err)
	}
	emergency := resp.GetSubmission().GetCaseId()

	// Everything is on the stream, the emergency last, before the
	// consumers come back.
	grid, err := s.jetStream(t).Stream(ctx, natsjs.StreamGrid)
	if err != nil {
		t.Fatal(err)
	}
	for {
		info, err := grid.Info(ctx, jetstream.WithSubjectFilter("grid.case.received.>"))
		if err != nil {
			t.Fatal(err)
		}
		var n uint64
		for _, c := range info.State.Subjects {
			n += c
		}
		if n >= routine+1 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("%d of %d case.received on the stream", n, routine+1)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Dispatch first, so that it waits for classify's events; then classify
	// faces its whole backlog at once.
	s.restart(t, "dispatch")
	s.restart(t, "classify")

	cons, err := s.jetStream(t).OrderedConsumer(ctx, natsjs.StreamGrid, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{"grid.case.classified.>", "grid.case.review_needed.>", "grid.task.dispatched.>"}})
	if err != nil {
		t.Fatal(err)
	}
	var (
		classifiedRoutine                   int      // routine cases classify has decided (classified or to review)
		emergencyClassifiedAt, dispatchedAt = -1, -1 // classifiedRoutine when each emergency event was stored
		seen                                = map[string]bool{}
	)
	for classifiedRoutine < routine || dispatchedAt < 0 {
		m, err := cons.Next(jetstream.FetchMaxWait(time.Until(deadlineOf(ctx))))
		if err != nil {
			t.Fatalf("after %d routine cases decided (emergency classified after %d, dispatched after %d): %v",
				classifiedRoutine, emergencyClassifiedAt, dispatchedAt, err)
		}
		var env eventsv1.Envelope
		if err := proto.Unmarshal(m.Data(), &env); err != nil {
			t.Fatal(err)
		}
		id := env.GetCaseId()
		switch {
		case id == emergency && env.GetTaskDispatched() != nil && dispatchedAt < 0:
			dispatchedAt = classifiedRoutine
		case id == emergency && env.GetCaseClassified() != nil && emergencyClassifiedAt < 0:
			emergencyClassifiedAt = classifiedRoutine
		case routineIDs[id] && env.GetTaskDispatched() == nil && !seen[id]:
			seen[id] = true
			classifiedRoutine++
		}
	}
	t.Logf("of %d routine cases queued ahead of it, the emergency was classified after %d and its task dispatched after %d",
		routine, emergencyClassifiedAt, dispatchedAt)
	if emergencyClassifiedAt < 0 || emergencyClassifiedAt > routine/2 {
		t.Errorf("the emergency was classified after %d of the %d routine cases queued before it; want it ahead of most", emergencyClassifiedAt, routine)
	}
	if dispatchedAt > routine/2 {
		t.Errorf("the emergency's task was dispatched after classify had decided %d of the %d routine cases queued before it; want it ahead of most",
			dispatchedAt, routine)
	}
}

func deadlineOf(ctx context.Context) time.Time {
	d, ok := ctx.Deadline()
	if !ok {
		return time.Now().Add(time.Minute)
	}
	return d
}

// TestEmergencyLaneInItsOwnProcess: classify and dispatch run their
// emergency lanes as processes of their own (CLASSIFY_LANES,
// DISPATCH_LANES; pkg/lane.Run). With the routine processes stopped, an
// emergency is still classified and dispatched, by the emergency lanes'
// processes alone, while a routine order submitted beside it waits; once
// the routine processes are back, the routine order is dispatched too.
func TestEmergencyLaneInItsOwnProcess(t *testing.T) {
	s := startStack(t, "intake")
	for _, svc := range laneServices {
		s.startLanes(t, svc)
	}
	for _, name := range s.only {
		s.waitReady(t, name)
	}
	for _, svc := range laneServices {
		_ = s.procs[svc].Process.Signal(os.Interrupt)
		<-s.exited[svc]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cons, err := s.jetStream(t).OrderedConsumer(ctx, natsjs.StreamGrid, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{"grid.case.classified.>", "grid.case.review_needed.>", "grid.task.dispatched.>"}})
	if err != nil {
		t.Fatal(err)
	}

	hotline := intakev1.NewIntakeServiceClient(s.dial(t, "intake", auth.Principal{Role: auth.RoleHotline}))
	submit := func(no, title, text, address string, urgency typesv1.Urgency) string {
		t.Helper()
		wo := dispatchWorkOrder(no, title, text, zhijiang, urgency)
		wo.Address = address
		resp, err := hotline.SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: wo})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetSubmission().GetCaseId()
	}
	routine := submit("E2E-OWN-LANE-1", "商铺音响噪声扰民", "楼下商铺每天开着大音响招揽生意，噪声扰民，希望派出所管一管。",
		"上海市静安区共和新路300号", typesv1.Urgency_URGENCY_NORMAL)
	gas := submit("E2E-OWN-LANE-GAS", "燃气泄漏", "楼道里闻到很浓的煤气味，怀疑燃气泄漏。", "上海市静安区共和新路301号",
		typesv1.Urgency_URGENCY_EMERGENCY)

	// next returns the next event of the watched subjects for one of the
	// two cases, or nil when none comes within wait.
	next := func(wait time.Duration) *eventsv1.Envelope {
		t.Helper()
		for end := time.Now().Add(wait); time.Now().Before(end); {
			m, err := cons.Next(jetstream.FetchMaxWait(time.Until(end)))
			if errors.Is(err, jetstream.ErrMsgNotFound) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) {
				return nil
			}
			if err != nil {
				t.Fatal(err)
			}
			env := &eventsv1.Envelope{}
			if err := proto.Unmarshal(m.Data(), env); err != nil {
				t.Fatal(err)
			}
			if env.GetCaseId() == routine || env.GetCaseId() == gas {
				return env
			}
		}
		return nil
	}
	var gasClassified, gasDispatched bool
	for !gasDispatched {
		env := next(time.Minute)
		switch {
		case env == nil:
			t.Fatalf("the emergency was not dispatched by the emergency lanes' processes (classified: %v)", gasClassified)
		case env.GetCaseId() == routine:
			t.Fatalf("the routine order was handled (%s) while only the emergency lanes' processes ran", envelope.Name(env))
		case env.GetCaseClassified() != nil:
			gasClassified = true
		case env.GetTaskDispatched() != nil:
			gasDispatched = true
		}
	}
	if !gasClassified {
		t.Error("the emergency's task was dispatched without its case.classified on the stream first")
	}
	// The emergency's other tasks may follow; the routine order stays.
	for env := next(2 * time.Second); env != nil; env = next(2 * time.Second) {
		if env.GetCaseId() == routine {
			t.Fatalf("the routine order was handled (%s) while only the emergency lanes' processes ran", envelope.Name(env))
		}
	}

	for _, svc := range laneServices {
		s.restart(t, svc)
	}
	// Classified, then dispatched; or sent to the review queue (the
	// built-in model's call), which is classify's routine lane at work too.
	for done := false; !done; {
		env := next(time.Minute)
		if env == nil {
			t.Fatal("the routine order was not decided and dispatched once the routine processes were back")
		}
		if env.GetCaseId() == routine {
			t.Logf("routine order: %s", envelope.Name(env))
			done = env.GetTaskDispatched() != nil || env.GetCaseReviewNeeded() != nil
		}
	}
}

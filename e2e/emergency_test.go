package e2e

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/gridflow/gridflow/pkg/auth"
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

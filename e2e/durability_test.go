package e2e

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	intakev1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/intake/v1"
)

// TestNeverLostNeverTwice: submit orders concurrently, kill -9 a part of the
// stack mid-way, restart it, retry what failed; every order the client got OK
// for exists exactly once in PostgreSQL and exactly once on the stream.
func TestNeverLostNeverTwice(t *testing.T) {
	for _, victim := range []string{"intake", "nats"} {
		t.Run("kill_"+victim, func(t *testing.T) { neverLostNeverTwice(t, victim) })
	}
}

func neverLostNeverTwice(t *testing.T, victim string) {
	s := startStack(t, "intake")
	const total, workers = 300, 16
	conn := s.dial(t, "intake", auth.Principal{Role: auth.RoleHotline})
	client := intakev1.NewIntakeServiceClient(conn)

	receivedAt := time.Now().Add(-time.Minute) // a retry resends the same content
	var (
		mu     sync.Mutex
		ok     = map[string]string{} // order → case id
		failed []string
		done   atomic.Int64
	)
	submit := func(no string, waitReady bool) {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		wo := workOrder(no)
		wo.ReceivedAt = timestamppb.New(receivedAt)
		resp, err := client.SubmitWorkOrder(ctx, &intakev1.SubmitWorkOrderRequest{WorkOrder: wo}, grpc.WaitForReady(waitReady))
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			if waitReady {
				t.Logf("retry of %s: %v", no, err)
			}
			failed = append(failed, no)
			return
		}
		if prev, dup := ok[no]; dup && prev != resp.GetSubmission().GetCaseId() {
			t.Errorf("order %s got two case ids: %s and %s", no, prev, resp.GetSubmission().GetCaseId())
		}
		ok[no] = resp.GetSubmission().GetCaseId()
		done.Add(1)
	}

	orders := make(chan string)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for no := range orders {
				submit(no, false)
			}
		}()
	}
	killed := make(chan struct{})
	go func() {
		for done.Load() < total/3 {
			time.Sleep(time.Millisecond)
		}
		s.kill9(t, victim)
		close(killed)
	}()
	for i := range total {
		orders <- fmt.Sprintf("DUR-%s-%04d", victim, i)
		if i == total*2/3 {
			<-killed
			s.restart(t, victim)
		}
	}
	close(orders)
	wg.Wait()
	t.Logf("kill -9 %s: %d OK, %d failed on the first try", victim, len(ok), len(failed))

	// Retrying the failed ones creates no duplicates.
	retry := failed
	failed = nil
	for _, no := range retry {
		submit(no, true) // the client reconnects with backoff after the restart
	}
	if len(failed) > 0 {
		t.Fatalf("%d orders still fail after the restart: %v", len(failed), failed[:min(5, len(failed))])
	}
	if len(ok) != total {
		t.Fatalf("%d orders acknowledged, want %d", len(ok), total)
	}

	// Exactly once in PostgreSQL.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := pgx.Connect(ctx, s.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	var rows, distinct int
	if err := db.QueryRow(ctx, `SELECT count(*), count(DISTINCT hotline_order_no) FROM intake.submissions`).Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	if rows != total || distinct != total {
		t.Errorf("PostgreSQL holds %d rows for %d orders, want %d each", rows, distinct, total)
	}

	// Exactly once on the stream, once the outbox has drained.
	deadline := time.Now().Add(60 * time.Second)
	for {
		var pending int
		if err := db.QueryRow(ctx, `SELECT count(*) FROM intake.outbox`).Scan(&pending); err != nil {
			t.Fatal(err)
		}
		if pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("outbox still holds %d events after 60 s", pending)
		}
		time.Sleep(100 * time.Millisecond)
	}
	seen := streamOrders(t, s, total)
	for no, caseID := range ok {
		if n := seen[no]; n != 1 {
			t.Errorf("order %s (case %s) is on the stream %d times, want once", no, caseID, n)
		}
	}
}

// streamOrders counts case.received events per hotline order number.
func streamOrders(t *testing.T, s *stack, want int) map[string]int {
	t.Helper()
	js := s.jetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream, err := js.Stream(ctx, "GRID")
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{"grid.case.received.>"}})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for n := uint64(0); n < info.State.Msgs; n++ {
		msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			break
		}
		var env eventsv1.Envelope
		if err := proto.Unmarshal(msg.Data(), &env); err != nil {
			t.Fatal(err)
		}
		seen[env.GetCaseReceived().GetHotlineOrderNo()]++
	}
	if len(seen) < want {
		t.Logf("stream holds %d distinct orders (of %d messages)", len(seen), info.State.Msgs)
	}
	return seen
}

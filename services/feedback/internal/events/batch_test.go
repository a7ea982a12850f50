package events_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/pkg/natsjs"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/services/feedback/internal/events"
	"github.com/gridflow/gridflow/services/feedback/internal/feedback"
	"github.com/gridflow/gridflow/services/feedback/internal/postgres"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

// failing is a transaction whose writes of one case's events are done and
// then fail: a handler that breaks half way through — the batch's one
// write (SaveBatch) of what it handled in memory, which then fails the
// batch, whose messages the runner handles again one by one.
type failing struct {
	feedback.BatchTx
	caseID string
}

func (f failing) SaveBatch(ctx context.Context, evs []*feedback.Event, out []feedback.Outgoing, cases []*feedback.Case) error {
	err := f.BatchTx.SaveBatch(ctx, evs, out, cases)
	if err == nil && slices.ContainsFunc(evs, func(e *feedback.Event) bool { return e.CaseID == f.caseID }) {
		return errors.New("lock timeout (injected)")
	}
	return err
}

// TestBatchPoisonFailsAlone runs feedback's batch handler behind the real
// runner, with several cases' events in one fetch: an envelope that does
// not decode is dead-lettered, an event whose handling fails half way is
// rolled back (with its batch, whose messages are then handled one by one)
// and retried (and dead-lettered once its
// deliveries are spent), and every neighbour commits — in transactions of
// several messages, each case's events in arrival order.
func TestBatchPoisonFailsAlone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pool := testenv.Pool(t, postgres.Schema, 8, postgres.Migrations...)
	_, js := testenv.JetStream(t)
	if err := natsjs.EnsureStreams(ctx, js, natsjs.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	ref, err := reference.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	store := postgres.New(pool, nil)
	svc := feedback.New(feedback.Config{}, store, store, func() feedback.Calendar { return ref.Calendar() }, time.Now)

	good := []string{uuid.NewString(), uuid.NewString(), uuid.NewString()}
	bad := uuid.NewString()
	publish := func(subject string, data []byte) {
		t.Helper()
		m := nats.NewMsg(subject)
		m.Data = data
		m.Header.Set(jetstream.MsgIDHeader, uuid.NewString())
		if _, err := js.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	envelope := func(caseID string, fu bool) []byte {
		env := &eventsv1.Envelope{EventId: uuid.NewString(), CaseId: caseID, OccurredAt: timestamppb.Now(), Version: 1,
			Actor: &typesv1.Principal{Role: "system", Subject: "test"}}
		if fu {
			env.Payload = &eventsv1.Envelope_CaseFollowedUp{CaseFollowedUp: &eventsv1.CaseFollowedUp{FollowUpId: uuid.NewString(),
				Kind: eventsv1.FollowUpKind_FOLLOW_UP_KIND_URGE}}
		} else {
			env.Payload = &eventsv1.Envelope_CaseReceived{CaseReceived: &eventsv1.CaseReceived{CaseId: caseID,
				CaseNumber: "GF-20260302-" + caseID[:6], Source: typesv1.Source_SOURCE_HOTLINE, ReceivedAt: timestamppb.Now(),
				Area: &typesv1.Area{DistrictCode: "310106", StreetCode: "310106022"}}}
		}
		b, err := proto.Marshal(env)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	subject := "grid.case.received.310106.310106022"
	publish(subject, envelope(good[0], false))
	publish(subject, envelope(good[1], false))
	publish(subject, []byte("not an envelope"))
	publish(subject, envelope(bad, false))
	publish(subject, envelope(good[2], false))
	publish("grid.case.followed_up.310106.310106022", envelope(good[0], true))
	publish("grid.case.followed_up.310106.310106022", envelope(good[1], true))
	const total = 7

	var (
		mu      sync.Mutex
		batches []int
	)
	wait := sync.OnceFunc(func() {
		// Let the whole fetch reach the runner, so that what follows the
		// first message comes as one batch.
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			c, err := js.Consumer(ctx, natsjs.StreamGrid, events.ConsumerName)
			if err != nil {
				continue
			}
			if info, err := c.Info(ctx); err == nil && info.NumAckPending >= total {
				break
			}
		}
		time.Sleep(200 * time.Millisecond)
	})
	inner := events.BatchHandler(svc, func(tx pgx.Tx) feedback.Tx { return failing{store.Bind(tx).(feedback.BatchTx), bad} }, postgres.LockCases)
	h := func(ctx context.Context, b *consumer.Batch) error {
		wait()
		mu.Lock()
		batches = append(batches, len(b.Messages()))
		mu.Unlock()
		return inner(ctx, b)
	}
	r, err := consumer.NewBatch(js, pool, consumer.Config{Name: events.ConsumerName, Subjects: events.Subjects,
		OrderKey: events.OrderKey, Concurrency: 2, MaxDeliver: 2, NakDelay: 50 * time.Millisecond,
		FetchWait: 200 * time.Millisecond, Deduped: true}, h, nil) // as main.go runs it
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()

	// The poison envelope and the failing event end in the dead-letter
	// stream; everything else commits.
	deadline := time.Now().Add(20 * time.Second)
	for deadLetters(t, js) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("after 20 s %d dead letters, want 2 (batches %v)", deadLetters(t, js), batches)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	byCase := map[string][]string{}
	rows, err := pool.Query(context.Background(), `SELECT case_id, type FROM events ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, typ string
		if err := rows.Scan(&id, &typ); err != nil {
			t.Fatal(err)
		}
		byCase[id] = append(byCase[id], typ)
	}
	for i, id := range good {
		want := []string{"case.received"}
		if i < 2 {
			want = append(want, "case.followed_up")
		}
		if got := byCase[id]; !slices.Equal(got, want) {
			t.Errorf("case %d's log = %v, want %v (in arrival order)", i, got, want)
		}
		var n int
		if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM cases WHERE case_id = $1`, id).Scan(&n); err != nil || n != 1 {
			t.Errorf("case %d: %d views (%v), want 1", i, n, err)
		}
	}
	if got := byCase[bad]; len(got) != 0 {
		t.Errorf("the failing event's writes were kept: %v", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if slices.Max(batches) < 3 {
		t.Errorf("batches of %v messages: want the fetch handled in batches of several", batches)
	}
}

func deadLetters(t *testing.T, js jetstream.JetStream) int {
	t.Helper()
	s, err := js.Stream(context.Background(), natsjs.StreamDLQ)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background(), jetstream.WithSubjectFilter(fmt.Sprintf("%s%s.>", consumer.DeadLetterPrefix, events.ConsumerName)))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range info.State.Subjects {
		n += int(c)
	}
	return n
}

package events_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/pkg/natsjs"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/services/dispatch/internal/dispatch"
	"github.com/gridflow/gridflow/services/dispatch/internal/events"
	"github.com/gridflow/gridflow/services/dispatch/internal/postgres"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

const (
	zj  = "310106022" // 芷江西路街道
	dis = "310106"
)

// TestBatchPoisonFailsAlone runs dispatch's batch handler behind the real
// runner (issue 17), with several cases' events in one fetch: an envelope
// that does not decode and a reopening that cannot be applied (its case has
// no completed task) are dead-lettered, each alone; the reopened case keeps
// what its received event did earlier in the same batch, and its later
// withdrawal applies to that state; every neighbour commits, in
// transactions of several messages, and a classified case is dispatched —
// its task, timer, outbox row and event all written by the batch.
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
	svc := dispatch.New(store, events.Encode, nil, func() *reference.Set { return ref }, time.Now, dispatch.DefaultPolicy())
	h := events.NewHandlers(store, svc.Env)

	start := time.Now().Add(-time.Hour)
	publish := func(subject string, env *eventsv1.Envelope, raw []byte) {
		t.Helper()
		if env != nil {
			env.EventId, env.OccurredAt, env.Version = uuid.NewString(), timestamppb.Now(), 1
			var err error
			if raw, err = proto.Marshal(env); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := js.Publish(ctx, subject, raw, jetstream.WithMsgID(uuid.NewString())); err != nil {
			t.Fatal(err)
		}
	}
	area := &typesv1.Area{DistrictCode: dis, StreetCode: zj, CommunityCode: "0", GridCode: "0"}
	received := func(id string) {
		publish("grid.case.received."+dis+"."+zj, &eventsv1.Envelope{CaseId: id, Type: "case.received",
			Payload: &eventsv1.Envelope_CaseReceived{CaseReceived: &eventsv1.CaseReceived{CaseId: id, CaseNumber: "GF-20260302-" + id[:6],
				Source: typesv1.Source_SOURCE_HOTLINE, ReceivedAt: timestamppb.New(start), AppealType: typesv1.AppealType_APPEAL_TYPE_COMPLAINT,
				Title: "噪声扰民", Content: "楼下商铺每天音响很吵", Urgency: typesv1.Urgency_URGENCY_NORMAL, Area: area}}}, nil)
	}
	classified := func(id string) {
		publish("grid.case.classified."+dis+"."+zj, &eventsv1.Envelope{CaseId: id, Type: "case.classified",
			Payload: &eventsv1.Envelope_CaseClassified{CaseClassified: &eventsv1.CaseClassified{CaseId: id, CaseNumber: "GF-20260302-" + id[:6],
				ClassificationVersion: 1, ItemCode: "H04001", Urgency: typesv1.Urgency_URGENCY_NORMAL, Dispatchable: true, Area: area,
				Source: typesv1.Source_SOURCE_HOTLINE, AppealType: typesv1.AppealType_APPEAL_TYPE_COMPLAINT,
				ReceivedAt: timestamppb.New(start), Confidence: 1}}}, nil)
	}
	reopened := func(id string) {
		publish("grid.case.reopened."+dis+"."+zj, &eventsv1.Envelope{CaseId: id, Type: "case.reopened",
			Payload: &eventsv1.Envelope_CaseReopened{CaseReopened: &eventsv1.CaseReopened{
				Case:   &eventsv1.FeedbackCaseRef{CaseId: id, Area: area, Round: 1},
				Reason: eventsv1.ReopenReason_REOPEN_REASON_UNSATISFIED, Note: "居民不满意"}}}, nil)
	}
	withdrawn := func(id string) {
		publish("grid.case.followed_up."+dis+"."+zj, &eventsv1.Envelope{CaseId: id, Type: "case.followed_up",
			Payload: &eventsv1.Envelope_CaseFollowedUp{CaseFollowedUp: &eventsv1.CaseFollowedUp{CaseId: id, FollowUpId: uuid.NewString(),
				Kind: eventsv1.FollowUpKind_FOLLOW_UP_KIND_WITHDRAW}}}, nil)
	}

	routed, bad, plain := uuid.NewString(), uuid.NewString(), uuid.NewString()
	received(routed)
	received(bad)
	publish("grid.case.received."+dis+"."+zj, nil, []byte("not an envelope"))
	reopened(bad) // poison: nothing to reopen, after its received in the same batch
	received(plain)
	classified(routed)
	withdrawn(bad) // applies to the case as its received left it
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
	inner := h.HandleBatch(func(ctx context.Context, tx pgx.Tx, ids []string, create map[string]bool, now time.Time) (events.CaseSet, error) {
		return store.LockCases(ctx, tx, ids, create, now)
	})
	handler := func(ctx context.Context, b *consumer.Batch) error {
		wait()
		mu.Lock()
		batches = append(batches, len(b.Messages()))
		mu.Unlock()
		return inner(ctx, b)
	}
	r, err := consumer.NewBatch(js, pool, consumer.Config{Name: events.ConsumerName, Subjects: events.ConsumerSubjects,
		OrderKey: events.OrderKey, Concurrency: 1, MaxDeliver: 2, NakDelay: 50 * time.Millisecond,
		FetchWait: 200 * time.Millisecond}, handler, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()

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

	bg := context.Background()
	status := func(id string) (string, string) {
		var st string
		var body []byte
		if err := pool.QueryRow(bg, `SELECT status, body FROM cases WHERE case_id = $1`, id).Scan(&st, &body); err != nil {
			t.Fatalf("case %s: %v", id, err)
		}
		var c dispatch.Case
		if err := json.Unmarshal(body, &c); err != nil {
			t.Fatal(err)
		}
		return st, c.Number
	}
	if st, n := status(plain); n != "GF-20260302-"+plain[:6] || st != string(dispatch.Awaiting) {
		t.Errorf("plain case: status %s, number %q", st, n)
	}
	if st, n := status(bad); n != "GF-20260302-"+bad[:6] || st != string(dispatch.CaseWithdrawn) {
		t.Errorf("the case whose reopening failed: status %s, number %q; want its received kept and its withdrawal applied", st, n)
	}
	if st, _ := status(routed); st != string(dispatch.CaseRouted) {
		t.Errorf("classified case: status %s, want %s", st, dispatch.CaseRouted)
	}
	var tasks, timers, outboxRows int
	if err := pool.QueryRow(bg, `SELECT (SELECT count(*) FROM tasks WHERE case_id = $1),
		(SELECT count(*) FROM timers t JOIN tasks k ON t.key = k.task_id::text WHERE k.case_id = $1),
		(SELECT count(*) FROM outbox WHERE subject LIKE 'grid.task.dispatched.%')`, routed).Scan(&tasks, &timers, &outboxRows); err != nil {
		t.Fatal(err)
	}
	if tasks != 1 || timers != 1 || outboxRows != 1 {
		t.Errorf("dispatched case: %d tasks, %d task timers, %d task.dispatched in the outbox; want 1 each", tasks, timers, outboxRows)
	}
	mu.Lock()
	defer mu.Unlock()
	if slices.Max(batches) < 3 {
		t.Errorf("batches of %v messages: want the fetch handled in batches of several", batches)
	}
}

func deadLetters(t *testing.T, js jetstream.JetStream) int {
	t.Helper()
	return deadLettersOf(t, js, events.ConsumerName)
}

func deadLettersOf(t *testing.T, js jetstream.JetStream, durable string) int {
	t.Helper()
	s, err := js.Stream(context.Background(), natsjs.StreamDLQ)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background(), jetstream.WithSubjectFilter(fmt.Sprintf("%s%s.>", consumer.DeadLetterPrefix, durable)))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range info.State.Subjects {
		n += int(c)
	}
	return n
}

// TestOrderKeyReadsTheEnvelopesCase: the order key is the envelope's
// case_id, read without decoding the envelope.
func TestOrderKeyReadsTheEnvelopesCase(t *testing.T) {
	id := uuid.NewString()
	b, err := proto.Marshal(&eventsv1.Envelope{EventId: "e1", Type: "case.received", CaseId: id, OccurredAt: timestamppb.Now(),
		Payload: &eventsv1.Envelope_CaseReceived{CaseReceived: &eventsv1.CaseReceived{CaseId: id, Title: "t"}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := events.OrderKey(consumer.Message{Data: b, EventID: "e1"}); got != id {
		t.Errorf("OrderKey = %q, want the case id %q", got, id)
	}
	if got := events.OrderKey(consumer.Message{Data: []byte("not an envelope"), EventID: "e2"}); got != "e2" {
		t.Errorf("OrderKey of garbage = %q, want its event id", got)
	}
}

// TestKeyedBatchPoisonFailsAlone runs the coordination durable's batch
// handler (events.KeyedBatch) behind the real runner: a message that does
// not decode and a link naming no source place are dead-lettered, each
// alone, while the links around them commit in transactions of several
// messages.
func TestKeyedBatchPoisonFailsAlone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pool := testenv.Pool(t, postgres.Schema, 8, postgres.Migrations...)
	_, js := testenv.JetStream(t)
	if err := natsjs.EnsureStreams(ctx, js, natsjs.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	area := &typesv1.Area{DistrictCode: dis, StreetCode: zj, CommunityCode: "0", GridCode: "0"}
	link := func(place, incident string) {
		env := &eventsv1.Envelope{EventId: uuid.NewString(), Type: "incident.linked", OccurredAt: timestamppb.Now(), Version: 1,
			Payload: &eventsv1.Envelope_IncidentLinked{IncidentLinked: &eventsv1.IncidentLinked{SourcePlaceId: place,
				PlaceKey: "key-" + place, IncidentId: incident, PrimaryCaseId: uuid.NewString(), ItemCode: "H04001", Area: area}}}
		b, err := proto.Marshal(env)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := js.Publish(ctx, "grid.incident.linked."+dis+"."+zj, b, jetstream.WithMsgID(env.EventId)); err != nil {
			t.Fatal(err)
		}
	}
	link("p1", "i1")
	link("p2", "i2")
	if _, err := js.Publish(ctx, "grid.incident.linked."+dis+"."+zj, []byte("not an envelope"), jetstream.WithMsgID(uuid.NewString())); err != nil {
		t.Fatal(err)
	}
	link("", "i3") // poison: no source place
	link("p1", "i4")
	link("p3", "i5")
	const total = 6

	var (
		mu      sync.Mutex
		batches []int
	)
	wait := sync.OnceFunc(func() {
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			c, err := js.Consumer(ctx, natsjs.StreamGrid, events.CoordinationConsumerName)
			if err != nil {
				continue
			}
			if info, err := c.Info(ctx); err == nil && info.NumAckPending >= total {
				break
			}
		}
		time.Sleep(200 * time.Millisecond)
	})
	inner := events.KeyedBatch("gridflow-dispatch-coordination", events.CoordinationKey, events.CoordinationHandler(postgres.ApplyCoordination))
	handler := func(ctx context.Context, b *consumer.Batch) error {
		wait()
		mu.Lock()
		batches = append(batches, len(b.Messages()))
		mu.Unlock()
		return inner(ctx, b)
	}
	r, err := consumer.NewBatch(js, pool, consumer.Config{Name: events.CoordinationConsumerName, Subjects: events.CoordinationSubjects,
		MaxDeliver: 2, NakDelay: 50 * time.Millisecond, FetchWait: 200 * time.Millisecond}, handler, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	deadline := time.Now().Add(20 * time.Second)
	for deadLettersOf(t, js, events.CoordinationConsumerName) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("after 20 s %d dead letters, want 2 (batches %v)", deadLettersOf(t, js, events.CoordinationConsumerName), batches)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var got []string
	rows, err := pool.Query(context.Background(), `SELECT incident_id || '@' || source_place_id FROM coordinated_incidents ORDER BY incident_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	if want := []string{"i1@p1", "i2@p2", "i4@p1", "i5@p3"}; !slices.Equal(got, want) {
		t.Errorf("linked incidents %v, want %v", got, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if slices.Max(batches) < 3 {
		t.Errorf("batches of %v messages: want the fetch handled in batches of several", batches)
	}
}

// records counts the runners' "batch failed as a whole" warnings (a
// deadlock, a lock timeout, a write that failed).
type records struct {
	mu     sync.Mutex
	failed int
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	if strings.Contains(rec.Message, "failed as a whole") {
		r.mu.Lock()
		r.failed++
		r.mu.Unlock()
	}
	return nil
}
func (r *records) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *records) WithGroup(string) slog.Handler      { return r }

// TestBatchReplicasShareCases runs two replicas' batch handlers (two
// runners on one durable, four workers each) over events of a few cases
// interleaved, so that their batches keep touching the same cases: every
// case is routed once, nothing is dead-lettered, and no batch fails as a
// whole — the cases' locks are taken up front in one order, so the
// replicas wait for each other rather than deadlock.
func TestBatchReplicasShareCases(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pool := testenv.Pool(t, postgres.Schema, 16, postgres.Migrations...)
	_, js := testenv.JetStream(t)
	if err := natsjs.EnsureStreams(ctx, js, natsjs.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	ref, err := reference.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	store := postgres.New(pool, nil)
	svc := dispatch.New(store, events.Encode, nil, func() *reference.Set { return ref }, time.Now, dispatch.DefaultPolicy())
	h := events.NewHandlers(store, svc.Env).HandleBatch(func(ctx context.Context, tx pgx.Tx, ids []string, create map[string]bool, now time.Time) (events.CaseSet, error) {
		return store.LockCases(ctx, tx, ids, create, now)
	})
	area := &typesv1.Area{DistrictCode: dis, StreetCode: zj, CommunityCode: "0", GridCode: "0"}
	publish := func(subject string, env *eventsv1.Envelope) {
		t.Helper()
		env.EventId, env.OccurredAt, env.Version = uuid.NewString(), timestamppb.Now(), 1
		b, err := proto.Marshal(env)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := js.Publish(ctx, subject, b, jetstream.WithMsgID(env.EventId)); err != nil {
			t.Fatal(err)
		}
	}
	const cases, urges = 40, 4
	ids := make([]string, cases)
	for i := range ids {
		ids[i] = uuid.NewString()
	}
	start := time.Now().Add(-time.Hour)
	for i, id := range ids {
		publish("grid.case.received."+dis+"."+zj, &eventsv1.Envelope{CaseId: id, Type: "case.received",
			Payload: &eventsv1.Envelope_CaseReceived{CaseReceived: &eventsv1.CaseReceived{CaseId: id, CaseNumber: fmt.Sprintf("GF-20260302-%06d", i),
				Source: typesv1.Source_SOURCE_HOTLINE, ReceivedAt: timestamppb.New(start), AppealType: typesv1.AppealType_APPEAL_TYPE_COMPLAINT,
				Title: "噪声扰民", Content: "楼下商铺每天音响很吵", Urgency: typesv1.Urgency_URGENCY_NORMAL, Area: area}}})
	}
	for i, id := range ids {
		publish("grid.case.classified."+dis+"."+zj, &eventsv1.Envelope{CaseId: id, Type: "case.classified",
			Payload: &eventsv1.Envelope_CaseClassified{CaseClassified: &eventsv1.CaseClassified{CaseId: id, CaseNumber: fmt.Sprintf("GF-20260302-%06d", i),
				ClassificationVersion: 1, ItemCode: "H04001", Urgency: typesv1.Urgency_URGENCY_NORMAL, Dispatchable: true, Area: area,
				Source: typesv1.Source_SOURCE_HOTLINE, AppealType: typesv1.AppealType_APPEAL_TYPE_COMPLAINT,
				ReceivedAt: timestamppb.New(start), Confidence: 1}}})
	}
	for range urges {
		for _, id := range ids {
			publish("grid.case.followed_up."+dis+"."+zj, &eventsv1.Envelope{CaseId: id, Type: "case.followed_up",
				Payload: &eventsv1.Envelope_CaseFollowedUp{CaseFollowedUp: &eventsv1.CaseFollowedUp{CaseId: id, FollowUpId: uuid.NewString(),
					Kind: eventsv1.FollowUpKind_FOLLOW_UP_KIND_URGE}}})
		}
	}
	total := cases * (2 + urges)

	rec := &records{}
	var wg sync.WaitGroup
	for range 2 {
		r, err := consumer.NewBatch(js, pool, consumer.Config{Name: events.ConsumerName, Subjects: events.ConsumerSubjects,
			OrderKey: events.OrderKey, Concurrency: 4, BatchSize: 32, FetchWait: 200 * time.Millisecond}, h, slog.New(rec))
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { _ = r.Run(ctx) })
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := js.Consumer(ctx, natsjs.StreamGrid, events.ConsumerName)
		if err == nil {
			if info, err := c.Info(ctx); err == nil && info.NumPending == 0 && info.NumAckPending == 0 && info.AckFloor.Consumer >= uint64(total) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the events were not all handled in 60 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	wg.Wait()

	var routed, tasks, handled int
	if err := pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM cases WHERE status = 'routed'),
		(SELECT count(*) FROM tasks), (SELECT count(*) FROM consumer_handled WHERE consumer = $1)`, events.ConsumerName).
		Scan(&routed, &tasks, &handled); err != nil {
		t.Fatal(err)
	}
	if routed != cases || tasks != cases || handled != total {
		t.Errorf("%d cases routed, %d tasks, %d events handled; want %d, %d, %d", routed, tasks, handled, cases, cases, total)
	}
	if n := deadLetters(t, js); n != 0 {
		t.Errorf("%d dead letters", n)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.failed != 0 {
		t.Errorf("%d batches failed as a whole (a deadlock between the replicas?)", rec.failed)
	}
}

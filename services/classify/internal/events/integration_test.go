package events_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/auth"
	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/pkg/natsjs"
	"github.com/gridflow/gridflow/pkg/outbox"
	"github.com/gridflow/gridflow/pkg/reference"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/services/classify/internal/classify"
	"github.com/gridflow/gridflow/services/classify/internal/events"
	"github.com/gridflow/gridflow/services/classify/internal/postgres"
	"github.com/gridflow/gridflow/services/classify/internal/rules"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
	typesv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/types/v1"
)

type noiseModel struct{}

func (noiseModel) Version() string { return "noise1" }

func (noiseModel) Predict(text string) []classify.Choice {
	if strings.Contains(text, "噪声") {
		return []classify.Choice{{Code: "06020", Label: "06020", Confidence: 0.9}, {Code: "H04001", Label: "H04001", Confidence: 0.1}}
	}
	return []classify.Choice{{Code: "H13001", Label: "H13001", Confidence: 0.2}, {Code: "06010", Label: "06010", Confidence: 0.1}}
}

// stack is classify's event path on real PostgreSQL and an in-process NATS:
// consumer runner → domain → outbox → relay → stream.
type stack struct {
	js  jetstream.JetStream
	svc *classify.Service
	// failOnce makes the first delivery of these event ids fail (a
	// transient error: the runner naks and the server redelivers).
	mu       sync.Mutex
	failOnce map[string]bool
	attempts map[string]int
}

func start(t *testing.T) *stack {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pool := testenv.Pool(t, postgres.Schema, 8, postgres.Migrations...)
	ns := testenv.NATS(t)
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	nc, js, err := natsjs.Connect(ctx, ns.ClientURL(), "classify-test", log)
	if err != nil {
		t.Fatal(err)
	}
	if err := natsjs.EnsureStreams(ctx, js, natsjs.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	ref, _ := reference.LoadDefault()
	rs, _ := rules.Load("", ref)
	relay := outbox.NewRelay(pool, js, log, outbox.RelayOptions{PollInterval: 20 * time.Millisecond})
	store := postgres.New(pool, relay.Notify, time.Now)
	svc := classify.New(classify.DefaultConfig(), store, classify.Deps{
		Reference: func() *reference.Set { return ref }, Rules: func() *rules.Set { return rs },
		Model: func() classify.Model { return noiseModel{} },
	})
	s := &stack{js: js, svc: svc, failOnce: map[string]bool{}, attempts: map[string]int{}}
	h := events.Handler(svc, store.Bind)
	runner, err := consumer.New(js, pool, consumer.Config{
		Name: events.ConsumerCases, Subjects: []string{events.SubjectsReceived, events.SubjectsAnswered},
		AckWait: 5 * time.Second, FetchWait: 200 * time.Millisecond, NakDelay: 50 * time.Millisecond, MaxNakDelay: 200 * time.Millisecond,
	}, func(ctx context.Context, tx pgx.Tx, msg consumer.Message) error {
		s.mu.Lock()
		s.attempts[msg.EventID]++
		fail := s.failOnce[msg.EventID] && s.attempts[msg.EventID] == 1
		s.mu.Unlock()
		if err := h(ctx, tx, msg); err != nil {
			return err
		}
		if fail {
			return errors.New("injected failure after the handler ran: the transaction rolls back")
		}
		return nil
	}, log)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { _ = relay.Run(ctx) })
	wg.Go(func() { _ = runner.Run(ctx) })
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		nc.Close()
	})
	return s
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

func received(caseID, content, addr string) *eventsv1.Envelope {
	now := time.Now()
	return &eventsv1.Envelope{
		EventId: "ev-" + caseID, Type: "case.received", CaseId: caseID, OccurredAt: timestamppb.New(now), Version: 1,
		Payload: &eventsv1.Envelope_CaseReceived{CaseReceived: &eventsv1.CaseReceived{
			CaseId: caseID, CaseNumber: "GF-" + caseID, Source: typesv1.Source_SOURCE_HOTLINE,
			ReceivedAt: timestamppb.New(now), AcceptedAt: timestamppb.New(now),
			AppealType: typesv1.AppealType_APPEAL_TYPE_COMPLAINT, Content: content, Urgency: typesv1.Urgency_URGENCY_NORMAL,
			Area:    &typesv1.Area{DistrictCode: "310106", StreetCode: "310106022", CommunityCode: "0", GridCode: "0"},
			Address: &typesv1.Address{Raw: addr},
		}},
	}
}

func (s *stack) publish(t *testing.T, subject, msgID string, data []byte) {
	t.Helper()
	m := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
	if _, err := s.js.PublishMsg(context.Background(), m, jetstream.WithMsgID(msgID)); err != nil {
		t.Fatal(err)
	}
}

func (s *stack) publishEnv(t *testing.T, env *eventsv1.Envelope) {
	t.Helper()
	b, err := proto.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	s.publish(t, "grid.case.received.310106.310106022", env.GetEventId(), b)
}

// read collects the messages on subject until want arrived, then waits a
// little longer to catch any extra.
func (s *stack) read(t *testing.T, stream, subject string, want int) []jetstream.Msg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cons, err := s.js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []jetstream.Msg
	for len(msgs) < want {
		m, err := cons.Next(jetstream.FetchContext(ctx))
		if err != nil {
			t.Fatalf("%s: got %d of %d: %v", subject, len(msgs), want, err)
		}
		msgs = append(msgs, m)
	}
	extra, cancelExtra := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancelExtra()
	for {
		m, err := cons.Next(jetstream.FetchContext(extra))
		if err != nil {
			return msgs
		}
		msgs = append(msgs, m)
	}
}

func classified(t *testing.T, msgs []jetstream.Msg) []*eventsv1.CaseClassified {
	t.Helper()
	var out []*eventsv1.CaseClassified
	for _, m := range msgs {
		var env eventsv1.Envelope
		if err := proto.Unmarshal(m.Data(), &env); err != nil {
			t.Fatal(err)
		}
		if env.GetType() != "case.classified" || m.Headers().Get("Nats-Msg-Id") != env.GetEventId() {
			t.Fatalf("envelope %s on %s, msg id %q", env.GetType(), m.Subject(), m.Headers().Get("Nats-Msg-Id"))
		}
		out = append(out, env.GetCaseClassified())
	}
	return out
}

func TestReceivedIsClassifiedOnce(t *testing.T) {
	s := start(t)
	env := received("c1", "晚上噪声扰民", "共和新路1234号")
	s.mu.Lock()
	s.failOnce[env.GetEventId()] = true // the first attempt rolls back; the redelivery classifies
	s.mu.Unlock()
	s.publishEnv(t, env)
	// The same case published again under another event id (a replayed
	// backlog): the handler runs, classify already knows the case.
	env2 := proto.Clone(env).(*eventsv1.Envelope)
	env2.EventId = "ev-c1-again"
	s.publishEnv(t, env2)

	got := classified(t, s.read(t, natsjs.StreamGrid, "grid.case.classified.310106.310106022", 1))
	if len(got) != 1 {
		t.Fatalf("case.classified events = %d, want exactly 1", len(got))
	}
	c := got[0]
	if c.GetCaseId() != "c1" || c.GetItemCode() != "06020" || c.GetClassificationVersion() != 1 || !c.GetDispatchable() ||
		c.GetModelVersion() != "noise1" || c.GetIncidentId() == "" || c.GetArea().GetStreetCode() != "310106022" {
		t.Errorf("case.classified = %v", c)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.attempts[env.GetEventId()] != 2 {
		t.Errorf("attempts = %d, want 2 (one rolled back, one redelivery)", s.attempts[env.GetEventId()])
	}
}

func TestPoisonGoesToTheDeadLetterStream(t *testing.T) {
	s := start(t)
	s.publish(t, "grid.case.received.310106.310106022", "poison-1", []byte("not a protobuf envelope"))
	wrong, _ := proto.Marshal(&eventsv1.Envelope{EventId: "poison-2", Type: "case.classified",
		Payload: &eventsv1.Envelope_CaseClassified{CaseClassified: &eventsv1.CaseClassified{CaseId: "x"}}})
	s.publish(t, "grid.case.received.310106.310106022", "poison-2", wrong)
	// A good event after the poison is still handled.
	s.publishEnv(t, received("c2", "晚上噪声扰民", "共和新路1234号"))

	dead := s.read(t, natsjs.StreamDLQ, "dlq.classify-cases.>", 2)
	if len(dead) != 2 {
		t.Fatalf("dead letters = %d, want 2", len(dead))
	}
	for _, m := range dead {
		if m.Subject() != "dlq.classify-cases.grid.case.received.310106.310106022" || m.Headers().Get(natsjs.HeaderDLQReason) == "" {
			t.Errorf("dead letter on %s, reason %q", m.Subject(), m.Headers().Get(natsjs.HeaderDLQReason))
		}
	}
	if got := classified(t, s.read(t, natsjs.StreamGrid, "grid.case.classified.>", 1)); len(got) != 1 || got[0].GetCaseId() != "c2" {
		t.Errorf("after the poison: %v", got)
	}
}

func TestBurstIsOneIncident(t *testing.T) {
	s := start(t)
	for i := range 5 {
		s.publishEnv(t, received(fmt.Sprintf("b%d", i), "晚上噪声扰民", "共和新路1234号兰州拉面"))
	}
	got := classified(t, s.read(t, natsjs.StreamGrid, "grid.case.classified.>", 6))
	if len(got) != 6 {
		t.Fatalf("case.classified = %d, want 6 (5 reports + the primary's version 2)", len(got))
	}
	last := got[5]
	if last.GetCaseId() != "b0" || last.GetClassificationVersion() != 2 || last.GetUrgency() != typesv1.Urgency_URGENCY_URGENT ||
		last.GetIncidentReports() != 5 || !last.GetDispatchable() {
		t.Errorf("primary v2 = %v", last)
	}
	dispatchable := 0
	for _, c := range got[:5] {
		if c.GetDispatchable() {
			dispatchable++
		}
		if c.GetIncidentId() != last.GetIncidentId() {
			t.Errorf("case %s in incident %s, want %s", c.GetCaseId(), c.GetIncidentId(), last.GetIncidentId())
		}
	}
	if dispatchable != 1 {
		t.Errorf("dispatchable first versions = %d, want 1 (the primary)", dispatchable)
	}
	grouped := s.read(t, natsjs.StreamGrid, "grid.incident.grouped.310106.310106022", 4)
	if len(grouped) != 4 {
		t.Errorf("incident.grouped = %d, want 4", len(grouped))
	}
}

// Classify keeps the case number and the hotline order number that
// case.received carries, so a dispatcher can read the classification by
// either: the consumer stores them with the case.
func TestReceivedKeepsCaseReferences(t *testing.T) {
	s := start(t)
	env := received("3f1c2b7a-0d4e-4f59-9a61-2b8c7d6e5f40", "晚上噪声扰民", "共和新路1234号")
	env.GetCaseReceived().CaseNumber = "GF-20261203-000042"
	env.GetCaseReceived().HotlineOrderNo = "12345-20261203-0042"
	s.publishEnv(t, env)
	classified(t, s.read(t, natsjs.StreamGrid, "grid.case.classified.310106.310106022", 1))
	ctx := auth.WithPrincipal(context.Background(), auth.Principal{Role: auth.RoleDispatcher, Subject: "310106022"})
	for _, key := range [][3]string{{env.GetCaseId(), "", ""}, {"", "GF-20261203-000042", ""}, {"", "", "12345-20261203-0042"}} {
		rec, vs, err := s.svc.GetClassification(ctx, key[0], key[1], key[2])
		if err != nil || rec.Case.ID != env.GetCaseId() || len(vs) != 1 || vs[0].ItemCode != "06020" {
			t.Errorf("GetClassification%q = %+v, %+v, %v", key, rec, vs, err)
		}
	}
}

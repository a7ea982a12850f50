package events_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/pkg/natsauth"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/gridflow/gridflow/services/feedback/internal/events"
	"github.com/gridflow/gridflow/services/feedback/internal/feedback"
	"github.com/gridflow/gridflow/services/feedback/internal/postgres"
	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return l
}()

// enveloped wraps an inspection event as dispatch publishes it: an
// Envelope whose payload is a field this build's Envelope may not know
// yet (number 90 here), which feedback reads by the subject.
func enveloped(t *testing.T, id string, payload proto.Message) []byte {
	t.Helper()
	env := &eventsv1.Envelope{EventId: id, OccurredAt: timestamppb.Now(), Version: 1}
	switch p := payload.(type) {
	case *eventsv1.InspectionRecorded:
		env.Payload = &eventsv1.Envelope_TaskInspectionRecorded{TaskInspectionRecorded: p}
	case *eventsv1.InspectionMissed:
		env.Payload = &eventsv1.Envelope_TaskInspectionMissed{TaskInspectionMissed: p}
	default:
		t.Fatalf("no envelope field for %T", payload)
	}
	b, err := proto.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestInspectionsCounted: feedback-inspections counts the inspections
// dispatch publishes per grid and month (in Shanghai time), each once, over
// real NATS and PostgreSQL.
func TestInspectionsCounted(t *testing.T) {
	if got, want := natsauth.FilterOf(events.InspectionsConsumer), events.InspectionSubjects; !cmp.Equal(got, want) {
		t.Errorf("natsauth declares %s with %v; the service consumes %v", events.InspectionsConsumer, got, want)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	pool := testenv.Pool(t, postgres.Schema, 4, postgres.Migrations...)
	_, js := testenv.JetStream(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	r, err := consumer.New(js, pool, consumer.Config{Name: events.InspectionsConsumer, Subjects: events.InspectionSubjects},
		events.InspectionHandler(postgres.CountInspection, func() *time.Location { return shanghai }), log)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()

	const grid, other = "310106022001001", "310106022001002"
	nov := func(day, hour int) *timestamppb.Timestamp {
		return timestamppb.New(time.Date(2026, 11, day, hour, 0, 0, 0, shanghai))
	}
	recorded := func(id, g string, at *timestamppb.Timestamp, onTime bool) (string, []byte) {
		return "grid.task.inspection_recorded.worker.310106.310106022", enveloped(t, id, &eventsv1.InspectionRecorded{
			InspectionId: id, PlaceKey: "静安区|长乐路||340|", WorkerId: "w-022001001", District: "310106", Street: "310106022",
			Community: g[:12], Grid: g, DueAt: nov(20, 17), DoneAt: at, OnTime: onTime, Outcome: "ok"})
	}
	missed := func(id, g string, due *timestamppb.Timestamp) (string, []byte) {
		return "grid.task.inspection_missed.worker.310106.310106022", enveloped(t, id, &eventsv1.InspectionMissed{
			InspectionId: id, PlaceKey: "静安区|长乐路||342|", WorkerId: "w-022001001", Grid: g, DueAt: due})
	}
	type msg struct {
		id      string
		subject string
		data    []byte
	}
	var msgs []msg
	add := func(id string, subject string, data []byte) { msgs = append(msgs, msg{id, subject, data}) }
	s, d := recorded("i-1", grid, nov(3, 10), true)
	add("i-1", s, d)
	add("i-1", s, d) // a second publish of one event counts once
	s, d = recorded("i-2", grid, nov(25, 10), false)
	add("i-2", s, d)
	s, d = missed("i-3", grid, nov(21, 17))
	add("i-3", s, d)
	s, d = missed("i-4", other, nov(10, 17))
	add("i-4", s, d)
	// 1 December 01:00 in Shanghai is still 30 November in UTC: December's.
	s, d = recorded("i-5", grid, timestamppb.New(time.Date(2026, 11, 30, 17, 0, 0, 0, time.UTC)), true)
	add("i-5", s, d)
	for _, m := range msgs {
		nm := nats.NewMsg(m.subject)
		nm.Data = m.data
		nm.Header.Set(nats.MsgIdHdr, m.id)
		if _, err := js.PublishMsg(ctx, nm); err != nil {
			t.Fatal(err)
		}
	}
	store := postgres.New(pool, nil)
	want := map[string]feedback.InspectionCount{grid: {Done: 2, OnTime: 1, Missed: 1}, other: {Missed: 1}}
	wantDec := map[string]feedback.InspectionCount{grid: {Done: 1, OnTime: 1}}
	// Both months are read until they match: November's counts are complete
	// once the message before the last commits, while the last, December's,
	// may still be in its transaction.
	var got, dec map[string]feedback.InspectionCount
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if got, err = store.InspectionCounts(ctx, "310106022001", time.Date(2026, 11, 1, 0, 0, 0, 0, shanghai)); err != nil {
			t.Fatal(err)
		}
		if dec, err = store.InspectionCounts(ctx, "310106022001", time.Date(2026, 12, 1, 0, 0, 0, 0, shanghai)); err != nil {
			t.Fatal(err)
		}
		if cmp.Equal(want, got) && cmp.Equal(wantDec, dec) {
			break
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("November's inspections mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantDec, dec); diff != "" {
		t.Errorf("December's inspections mismatch (-want +got):\n%s", diff)
	}
	cancel()
	<-done
}

// TestInspectionEventsAreNoCasesEvents: feedback-events, which reads
// grid.task.>, acks an inspection event untouched instead of
// dead-lettering it for naming no case; a malformed one is poison to
// feedback-inspections.
func TestInspectionEventsAreNoCasesEvents(t *testing.T) {
	t.Parallel()
	subject := "grid.task.inspection_missed.worker.310106.310106022"
	if err := events.Handler(nil, nil)(context.Background(), nil, consumer.Message{Subject: subject, Data: []byte("x")}); err != nil {
		t.Errorf("feedback-events on an inspection event: %v", err)
	}
	h := events.InspectionHandler(postgres.CountInspection, func() *time.Location { return shanghai })
	err := h(context.Background(), nil, consumer.Message{Subject: subject, Data: enveloped(t, "i-9", &eventsv1.InspectionMissed{Grid: "0"})})
	if !consumer.IsPermanent(err) {
		t.Errorf("an inspection without a grid: %v, want a permanent error", err)
	}
}

// FuzzDecodeInspection: whatever arrives on an inspection subject decodes
// or is refused, never panics; a decoded one names a grid and a month.
func FuzzDecodeInspection(f *testing.F) {
	rec, _ := proto.Marshal(&eventsv1.InspectionRecorded{Grid: "310106022001001", DoneAt: timestamppb.Now(), OnTime: true})
	recEnv, _ := proto.Marshal(&eventsv1.Envelope{EventId: "e1", Version: 1, Payload: &eventsv1.Envelope_TaskInspectionRecorded{
		TaskInspectionRecorded: &eventsv1.InspectionRecorded{Grid: "310106022001001", DoneAt: timestamppb.Now(), OnTime: true}}})
	missEnv, _ := proto.Marshal(&eventsv1.Envelope{EventId: "e2", Version: 1, Payload: &eventsv1.Envelope_TaskInspectionMissed{
		TaskInspectionMissed: &eventsv1.InspectionMissed{Grid: "310106022001002", DueAt: timestamppb.Now()}}})
	f.Add(true, recEnv)
	f.Add(false, missEnv)
	f.Add(true, rec)
	f.Add(false, []byte{})
	f.Add(true, []byte("\x0a\xff\xff"))
	f.Fuzz(func(t *testing.T, recorded bool, data []byte) {
		subject := "grid.task.inspection_missed.worker.310106.310106022"
		if recorded {
			subject = "grid.task.inspection_recorded.worker.310106.310106022"
		}
		in, err := events.DecodeInspection(subject, data, shanghai)
		if err != nil {
			return
		}
		if len(in.Grid) != 15 || in.Community == "" || in.Month.Day() != 1 || in.Month.Location() != shanghai {
			t.Errorf("decoded %+v", in)
		}
	})
}

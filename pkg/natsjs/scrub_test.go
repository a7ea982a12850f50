package natsjs_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/natsjs"
	"github.com/gridflow/gridflow/pkg/redact"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

var scrubSubjects = []string{"grid.case.received.>", "grid.case.answered.>", "grid.case.followed_up.>"}

func envelopeBytes(t *testing.T, env *eventsv1.Envelope) []byte {
	t.Helper()
	b, err := proto.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func clearReceived(id string) *eventsv1.Envelope {
	return &eventsv1.Envelope{EventId: id, CaseId: "c-" + id, Type: "case.received",
		Payload: &eventsv1.Envelope_CaseReceived{CaseReceived: &eventsv1.CaseReceived{CaseId: "c-" + id,
			Content: "噪声扰民", Caller: &eventsv1.Caller{Name: "王小明", Phone: "13812345678"}}}}
}

// TestScrubContacts: events with a clear contact that an older intake
// published are gone from GRID once the durables have handled them, and
// dead letters are replaced by masked copies; what came later, other
// subjects and the durables themselves are untouched.
func TestScrubContacts(t *testing.T) {
	ctx := context.Background()
	_, js := testenv.JetStream(t)
	pub := func(subject string, data []byte, h nats.Header) {
		t.Helper()
		msg := &nats.Msg{Subject: subject, Data: data, Header: h}
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			t.Fatal(err)
		}
	}
	const street = ".310106.310106022"
	// What an old intake published, and a task event between.
	pub("grid.case.received"+street, envelopeBytes(t, clearReceived("e1")), nil)
	pub("grid.task.dispatched.310106-cgj"+street, envelopeBytes(t, &eventsv1.Envelope{EventId: "e2", Type: "task.dispatched",
		Payload: &eventsv1.Envelope_TaskDispatched{TaskDispatched: &eventsv1.TaskDispatched{}}}), nil)
	pub("grid.case.followed_up"+street, envelopeBytes(t, &eventsv1.Envelope{EventId: "e3", Type: "case.followed_up",
		Payload: &eventsv1.Envelope_CaseFollowedUp{CaseFollowedUp: &eventsv1.CaseFollowedUp{Text: "改打13987654321"}}}), nil)
	// A dead letter of the old event, with its reason.
	pub("dlq.feedback-events.grid.case.received"+street, envelopeBytes(t, clearReceived("e1")),
		nats.Header{natsjs.HeaderDLQReason: []string{"poison: test"}})
	// What the new intake publishes: masked.
	masked := clearReceived("e4")
	redact.Envelope(masked)
	pub("grid.case.received"+street, envelopeBytes(t, masked), nil)

	// A consumer that has handled everything, and one lagging behind.
	durable := func(name string, filters ...string) jetstream.Consumer {
		t.Helper()
		c, err := js.CreateOrUpdateConsumer(ctx, natsjs.StreamGrid, jetstream.ConsumerConfig{Durable: name,
			FilterSubjects: filters, AckPolicy: jetstream.AckExplicitPolicy})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	drain := func(c jetstream.Consumer, n int) {
		t.Helper()
		batch, err := c.Fetch(n, jetstream.FetchMaxWait(2*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for m := range batch.Messages() {
			if err := m.DoubleAck(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	classify := durable("classify-cases", "grid.case.received.>", "grid.case.answered.>")
	drain(classify, 10)
	feedback := durable("feedback-events", "grid.case.>", "grid.task.>")
	durable("intake-tasks", "grid.task.>") // lags, but on other subjects: no matter

	opts := natsjs.ScrubOptions{Subjects: scrubSubjects, Mask: redact.EnvelopeBytes, Wait: 0}
	if _, err := natsjs.ScrubContacts(ctx, js, opts); err == nil || !strings.Contains(err.Error(), "feedback-events") {
		t.Fatalf("scrub with feedback-events behind = %v, want a refusal naming it", err)
	}
	if dry, err := natsjs.ScrubContacts(ctx, js, natsjs.ScrubOptions{Subjects: scrubSubjects, Mask: redact.EnvelopeBytes,
		DryRun: true}); err != nil || dry.GridClear != 2 || dry.DLQClear != 1 {
		t.Fatalf("dry run = %+v, %v; want 2 clear on GRID and 1 in GRID_DLQ", dry, err)
	}
	drain(feedback, 10)
	r, err := natsjs.ScrubContacts(ctx, js, natsjs.ScrubOptions{Subjects: scrubSubjects, Mask: redact.EnvelopeBytes, Wait: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	want := natsjs.ScrubReport{GridScanned: 3, GridClear: 2, GridLastClear: 3, GridPurged: 2, DLQScanned: 1, DLQClear: 1, DLQReplaced: 1}
	if r != want {
		t.Errorf("report %+v, want %+v", r, want)
	}

	// Read both streams raw: no clear contact anywhere; the rest is there.
	all := func(stream, filter string) []jetstream.Msg {
		t.Helper()
		st, err := js.Stream(ctx, stream)
		if err != nil {
			t.Fatal(err)
		}
		cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}})
		if err != nil {
			t.Fatal(err)
		}
		var out []jetstream.Msg
		for {
			m, err := cons.Next(jetstream.FetchMaxWait(300 * time.Millisecond))
			if err != nil {
				return out
			}
			out = append(out, m)
		}
	}
	var subjects []string
	for _, m := range append(all(natsjs.StreamGrid, ">"), all(natsjs.StreamDLQ, ">")...) {
		subjects = append(subjects, m.Subject())
		for _, clear := range []string{"13812345678", "王小明", "13987654321"} {
			if strings.Contains(string(m.Data()), clear) {
				t.Errorf("%s still holds %s", m.Subject(), clear)
			}
		}
		if strings.HasPrefix(m.Subject(), "dlq.") && m.Headers().Get(natsjs.HeaderDLQReason) != "poison: test" {
			t.Errorf("the masked dead letter lost its reason: %v", m.Headers())
		}
	}
	wantSubjects := []string{"grid.task.dispatched.310106-cgj" + street, "grid.case.received" + street,
		"dlq.feedback-events.grid.case.received" + street}
	if strings.Join(subjects, " ") != strings.Join(wantSubjects, " ") {
		t.Errorf("streams hold %v, want %v", subjects, wantSubjects)
	}

	// The durables go on: a new event reaches them once.
	pub("grid.case.received"+street, envelopeBytes(t, masked), nats.Header{nats.MsgIdHdr: []string{"e5"}})
	batch, err := classify.Fetch(10, jetstream.FetchMaxWait(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for m := range batch.Messages() {
		n++
		_ = m.Ack()
	}
	if n != 1 {
		t.Errorf("classify-cases got %d messages after the scrub, want 1", n)
	}
	// Nothing is left to do.
	if again, err := natsjs.ScrubContacts(ctx, js, opts); err != nil || again.GridClear != 0 || again.DLQClear != 0 {
		t.Errorf("second scrub = %+v, %v; want nothing clear", again, err)
	}
}

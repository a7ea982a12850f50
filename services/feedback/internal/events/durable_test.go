package events

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/pkg/envelope"
	"github.com/gridflow/gridflow/pkg/lane"
	"github.com/gridflow/gridflow/pkg/natsauth"
	"github.com/gridflow/gridflow/pkg/natsjs"
	"github.com/gridflow/gridflow/pkg/testenv"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	eventsv1 "github.com/gridflow/gridflow/proto/gen/go/gridflow/events/v1"
)

// TestDurableDeclared: the setup step declares this service's durable
// consumer from pkg/natsauth's table, and the service binds to it only
// with the same filter — the two must not drift apart.
func TestDurableDeclared(t *testing.T) {
	if got, want := natsauth.FilterOf(ConsumerName), Subjects; !slices.Equal(got, want) {
		t.Errorf("natsauth declares %s with %v; the service consumes %v", ConsumerName, got, want)
	}
}

// subjectMatches reports whether NATS would deliver subject to a filter
// (tokens, * for one, > for the rest).
func subjectMatches(filter, subject string) bool {
	f, s := strings.Split(filter, "."), strings.Split(subject, ".")
	for i, tok := range f {
		switch {
		case tok == ">":
			return len(s) > i
		case i >= len(s):
			return false
		case tok != "*" && tok != s[i]:
			return false
		}
	}
	return len(f) == len(s)
}

func matchesAny(filters []string, subject string) bool {
	return slices.ContainsFunc(filters, func(f string) bool { return subjectMatches(f, subject) })
}

// TestSubjectsAreWhatFeedbackDoesNotPublish keeps feedback-events' filter
// honest as events are added (issue 17): it walks every event of the
// envelope, and each case, incident and task event must be either in the
// filter or one feedback publishes itself (pkg/natsauth's table, which
// nats-server enforces, is where "who publishes what" lives) — never both,
// since an event of its own only comes back to be skipped as logged, and
// never neither, since feedback's log is every case's whole story. Each
// filter subject must take some event of the schema. Events of other kinds
// (places, warnings) are not feedback-events' at all.
func TestSubjectsAreWhatFeedbackDoesNotPublish(t *testing.T) {
	t.Parallel()
	fb, ok := natsauth.Lookup(natsauth.Feedback)
	if !ok {
		t.Fatal("no feedback user in natsauth's table")
	}
	used := map[string]bool{}
	for _, f := range envelope.Payloads(&eventsv1.Envelope{}) {
		name := envelope.FieldName(f)
		kind, event, _ := strings.Cut(name, ".")
		subjects := []string{"grid." + name + ".310106.310106022", lane.Subject("grid."+name+".310106.310106022", true), "grid." + name + ".0.0"}
		if kind == "task" {
			subjects = []string{"grid.task." + event + ".310106022-cgzd.310106.310106022", "grid.task." + event + ".worker.0.0"}
		}
		for _, s := range subjects {
			consumed, published := matchesAny(Subjects, s), matchesAny(fb.Publish, s)
			for _, filter := range Subjects {
				if subjectMatches(filter, s) {
					used[filter] = true
				}
			}
			switch {
			case kind != "case" && kind != "incident" && kind != "task":
				if consumed {
					t.Errorf("%s (%s) is no case, incident or task event, yet feedback-events takes it", name, s)
				}
			case consumed && published:
				t.Errorf("%s (%s) is feedback's own event, yet feedback-events takes it back", name, s)
			case !consumed && !published:
				t.Errorf("%s (%s) is neither in feedback-events' filter nor published by feedback: add it to Subjects (and natsauth's table)", name, s)
			}
		}
	}
	for _, filter := range Subjects {
		if !used[filter] {
			t.Errorf("filter subject %s takes no event of the schema", filter)
		}
	}
}

// TestDurableFilterUpdatedInPlace: a deployment whose feedback-events was
// declared with the old filter (grid.case.>, grid.incident.>, grid.task.>)
// gets the new one from the setup step's path (gridctl nats streams:
// consumer.Declare for every durable of natsauth's table) in place, on
// real NATS: the durable keeps its place — what it acked stays acked, a
// message an old replica still holds can be acked after the change — every
// event of the new filter not yet acked is delivered, once, and feedback's
// own events, before and after the change, are no longer delivered.
func TestDurableFilterUpdatedInPlace(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, js := testenv.JetStream(t)
	if err := natsjs.EnsureStreams(ctx, js, natsjs.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	old := []string{"grid.case.>", "grid.incident.>", "grid.task.>"}
	if _, err := consumer.Declare(ctx, js, natsjs.StreamGrid, ConsumerName, old); err != nil {
		t.Fatal(err)
	}
	const street = ".310106.310106022"
	publish := func(subject string) string {
		t.Helper()
		m := nats.NewMsg(subject)
		m.Data = []byte("{}")
		m.Header.Set(jetstream.MsgIDHeader, uuid.NewString())
		if _, err := js.PublishMsg(ctx, m); err != nil {
			t.Fatal(err)
		}
		return subject
	}
	fetch := func(c jetstream.Consumer, n int) []jetstream.Msg {
		t.Helper()
		batch, err := c.Fetch(n, jetstream.FetchMaxWait(500*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		var out []jetstream.Msg
		for m := range batch.Messages() {
			out = append(out, m)
		}
		return out
	}
	publish("grid.case.received" + street)                          // acked under the old filter
	publish("grid.case.resolved" + street)                          // feedback's own: acked under the old filter
	held := publish("grid.task.dispatched.310106022-cgzd" + street) // held by an old replica across the change
	publish("grid.case.closed" + street)                            // feedback's own, not yet delivered: skipped from now on
	publish("grid.incident.grouped" + street)                       // not yet delivered: delivered after the change
	publish("grid.case.classified" + street)                        // likewise
	c, err := js.Consumer(ctx, natsjs.StreamGrid, ConsumerName)
	if err != nil {
		t.Fatal(err)
	}
	got := fetch(c, 3)
	if len(got) != 3 || got[2].Subject() != held {
		t.Fatalf("under the old filter: %d messages, want 3 ending with %s", len(got), held)
	}
	for _, m := range got[:2] {
		if err := m.DoubleAck(ctx); err != nil {
			t.Fatal(err)
		}
	}

	// The setup step, as gridctl nats streams runs it.
	for _, d := range natsauth.AllDurables() {
		if d.Name != ConsumerName {
			continue
		}
		if _, err := consumer.Declare(ctx, js, natsjs.StreamGrid, d.Name, d.Filter); err != nil {
			t.Fatalf("updating %s's filter in place: %v", d.Name, err)
		}
	}
	c, err = js.Consumer(ctx, natsjs.StreamGrid, ConsumerName)
	if err != nil {
		t.Fatal(err)
	}
	if have, want := c.CachedInfo().Config.FilterSubjects, consumer.DurableConfig(ConsumerName, Subjects, consumer.DefaultAckWait).FilterSubjects; !slices.Equal(have, want) {
		t.Fatalf("after the setup step the filter is %v, want %v", have, want)
	}
	if err := got[2].DoubleAck(ctx); err != nil {
		t.Fatalf("acking a message held across the change: %v", err)
	}
	publish("grid.case.replied" + street) // feedback's own, after the change
	publish("grid.case.received" + street)

	var subjects []string
	for _, m := range fetch(c, 10) {
		subjects = append(subjects, m.Subject())
		if err := m.DoubleAck(ctx); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"grid.incident.grouped" + street, "grid.case.classified" + street, "grid.case.received" + street}
	if !slices.Equal(subjects, want) {
		t.Errorf("after the change delivered %v, want %v", subjects, want)
	}
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.NumPending != 0 || info.NumAckPending != 0 || info.NumRedelivered != 0 {
		t.Errorf("after the change: %d pending, %d unacked, %d redelivered; want none", info.NumPending, info.NumAckPending, info.NumRedelivered)
	}
}

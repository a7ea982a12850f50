package consumer_test

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridflow/gridflow/pkg/consumer"
	"github.com/gridflow/gridflow/pkg/natsauth"
	"github.com/gridflow/gridflow/pkg/natsjs"
	"github.com/jackc/pgx/v5"
	"github.com/nats-io/nats.go/jetstream"
)

// nextDeadLetter reads the next dead letter from GRID_DLQ after seq.
func nextDeadLetter(t *testing.T, js jetstream.JetStream, after uint64) jetstream.Msg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := js.OrderedConsumer(ctx, natsjs.StreamDLQ, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartSequencePolicy, OptStartSeq: after + 1})
	if err != nil {
		t.Fatal(err)
	}
	m, err := c.Next(jetstream.FetchContext(ctx))
	if err != nil {
		t.Fatalf("no dead letter after %d: %v", after, err)
	}
	return m
}

// replay publishes the dead letter m as gridctl dlq replay does.
func replay(t *testing.T, js jetstream.JetStream, m jetstream.Msg) {
	t.Helper()
	meta, err := m.Metadata()
	if err != nil {
		t.Fatal(err)
	}
	out, id, err := consumer.ReplayMsg(m.Subject(), meta.Sequence.Stream, m.Data(), m.Headers())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.PublishMsg(context.Background(), out, jetstream.WithMsgID(id)); err != nil {
		t.Fatal(err)
	}
}

// A dead letter replayed goes to its own durable only, under its original
// subject and event id: handled once it can be, dead-lettered again (as the
// original event) while it cannot, and a no-op once handled.
func TestReplayedDeadLetter(t *testing.T) {
	t.Parallel()
	e := setup(t, nil)
	var broken atomic.Bool
	broken.Store(true)
	var seen atomic.Value
	h := func(ctx context.Context, tx pgx.Tx, msg consumer.Message) error {
		seen.Store(msg)
		if broken.Load() {
			return consumer.Permanent(errors.New("unknown catalogue code"))
		}
		return insertEffect(ctx, tx, msg, "replayed")
	}
	r, err := consumer.New(e.js, e.pool, consumer.Config{Name: "test-replay", Subjects: []string{subject}}, h, e.log)
	if err != nil {
		t.Fatal(err)
	}
	// Another durable on the same subject, which handled the event: it
	// must see none of the replays.
	var others atomic.Int32
	other, err := consumer.New(e.js, e.pool, consumer.Config{Name: "test-other", Subjects: []string{subject}},
		func(context.Context, pgx.Tx, consumer.Message) error { others.Add(1); return nil }, e.log)
	if err != nil {
		t.Fatal(err)
	}
	start(t, r)
	start(t, other)
	e.publish(t, "ev-bad", "payload", map[string]string{"X-Origin": "hotline"})

	first := nextDeadLetter(t, e.js, 0)
	// Still broken: the replay fails and comes back as the original event,
	// under its original subject, with a new dead letter of its own.
	replay(t, e.js, first)
	second := nextDeadLetter(t, e.js, 1)
	if want := "dlq.test-replay." + subject; second.Subject() != want {
		t.Errorf("a failed replay is dead-lettered on %q, want %q", second.Subject(), want)
	}
	if got := second.Headers().Get(consumer.HeaderDLQMsgID); got != "ev-bad" {
		t.Errorf("the failed replay's dead letter names event %q, want ev-bad", got)
	}
	if got := second.Headers().Get(consumer.HeaderDLQStreamSeq); got != "1" {
		t.Errorf("the failed replay's dead letter names stream sequence %q, want the original's 1", got)
	}
	if got := second.Headers().Get(consumer.HeaderReplayOf); got != "1" {
		t.Errorf("the failed replay's dead letter says it replayed %q, want 1", got)
	}
	msg := seen.Load().(consumer.Message)
	if msg.Subject != subject || msg.EventID != "ev-bad" || msg.ReplayOf != 1 || msg.Headers.Get("X-Origin") != "hotline" {
		t.Errorf("the handler saw the replay as %+v, want the original subject, event id and headers", msg)
	}

	// Mended: the replay is handled, once.
	broken.Store(false)
	replay(t, e.js, second)
	eventually(t, "the replay to be handled", func() bool {
		return count(t, e.pool, `SELECT count(*) FROM effects WHERE event_id = 'ev-bad'`) == 1
	})
	// Replayed again (a dead letter replayed twice, a copy): a duplicate.
	replay(t, e.js, first)
	eventually(t, "the consumers to settle", func() bool {
		return settled(t, e.js, "test-replay")() && settled(t, e.js, "test-other")()
	})
	time.Sleep(200 * time.Millisecond)
	if n := count(t, e.pool, `SELECT count(*) FROM effects`); n != 1 {
		t.Errorf("%d effects after replaying a handled event, want 1", n)
	}
	if n := others.Load(); n != 1 {
		t.Errorf("the other durable handled %d messages, want only the original", n)
	}
	st, err := e.js.Stream(context.Background(), natsjs.StreamDLQ)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 2 {
		t.Errorf("GRID_DLQ holds %d messages, want the two dead letters (replay removes them, gridctl's part)", info.State.Msgs)
	}
}

func TestDeadLetterSubject(t *testing.T) {
	t.Parallel()
	for subj, want := range map[string][2]string{
		"dlq.classify-cases.grid.case.received.310106.310106022": {"classify-cases", "grid.case.received.310106.310106022"},
		"dlq.classify-cases":   {},
		"grid.case.received.x": {},
		"dlq..grid.case":       {},
	} {
		d, o, ok := consumer.DeadLetterSubject(subj)
		if ok != (want[0] != "") || d != want[0] || o != want[1] {
			t.Errorf("DeadLetterSubject(%q) = %q, %q, %v; want %q, %q", subj, d, o, ok, want[0], want[1])
		}
	}
	if got := consumer.ReplaySubject("classify-cases", "grid.case.received.1.2"); got != "grid.replay.classify-cases.grid.case.received.1.2" {
		t.Errorf("ReplaySubject = %q", got)
	}
}

// The replay subject a durable takes is the one pkg/natsauth lets the ops
// user publish, and only that user.
func TestReplaySubjectsAreTheOpsUsers(t *testing.T) {
	t.Parallel()
	for _, u := range natsauth.Users {
		allowed := slices.Contains(u.Permissions(natsauth.Users).PublishAllow, consumer.ReplayPrefix+">")
		if allowed != (u.Name == natsauth.Ops) {
			t.Errorf("user %s may publish %s>: %v", u.Name, consumer.ReplayPrefix, allowed)
		}
	}
	cc := consumer.DurableConfig("classify-cases", natsauth.FilterOf("classify-cases"), consumer.DefaultAckWait)
	if !slices.Contains(cc.FilterSubjects, consumer.ReplaySubject("classify-cases", ">")) {
		t.Errorf("classify-cases' filter %v does not take its replays", cc.FilterSubjects)
	}
}
